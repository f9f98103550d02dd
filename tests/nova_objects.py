#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
"""Real Nova scheduler objects for tests: HostState, RequestSpec, aggregates.

Hosts are built the way nova-scheduler builds them: a ``HostState`` updated
from an ``objects.ComputeNode`` (and ``objects.Aggregate`` records).
"""

import itertools

from nova import objects
from nova.scheduler import host_manager
from oslo_utils import uuidutils

_ids = itertools.count(1)


def compute_node(name, vcpus, memory_mb, disk_gb, vcpus_used=0,
                 memory_mb_used=0, disk_gb_used=0, cpu_ratio=1.0,
                 ram_ratio=1.0, disk_ratio=1.0, num_instances=None,
                 projects=None):
    """A compute node; like Nova's resource tracker, its ``stats`` count
    the instances on it (by default one when anything is in use, or those
    of ``projects``, ``{project ID: instances}``, as ``num_proj_*``)."""
    projects = projects or {}
    if num_instances is None:
        num_instances = sum(projects.values()) if projects else int(
            bool(vcpus_used or memory_mb_used or disk_gb_used))
    stats = {'num_instances': str(num_instances)}
    stats.update({f'num_proj_{p}': str(n) for p, n in projects.items()})
    return objects.ComputeNode(
        id=next(_ids), uuid=uuidutils.generate_uuid(), host=name,
        hypervisor_hostname=name, vcpus=vcpus, memory_mb=memory_mb,
        local_gb=disk_gb, vcpus_used=vcpus_used,
        memory_mb_used=memory_mb_used, local_gb_used=disk_gb_used,
        free_ram_mb=memory_mb - memory_mb_used,
        free_disk_gb=disk_gb - disk_gb_used, disk_available_least=None,
        hypervisor_type='QEMU', hypervisor_version=9000000,
        cpu_info='{}', host_ip='127.0.0.1', numa_topology=None,
        supported_hv_specs=[], pci_device_pools=None,
        stats=stats,
        metrics='[]', updated_at=None, cpu_allocation_ratio=cpu_ratio,
        ram_allocation_ratio=ram_ratio, disk_allocation_ratio=disk_ratio,
        running_vms=num_instances, current_workload=0)


def aggregate(name, **metadata):
    return objects.Aggregate(id=next(_ids), uuid=uuidutils.generate_uuid(),
                             name=name, hosts=[],
                             metadata={k: str(v) for k, v in
                                       metadata.items()})


def host(name, vcpus, memory_mb, disk_gb=1000, aggregates=(), **kwargs):
    """A ``HostState`` as nova-scheduler builds it from its compute node."""
    state = host_manager.HostState(name, name, uuidutils.generate_uuid())
    state.update(compute=compute_node(name, vcpus, memory_mb, disk_gb,
                                      **kwargs),
                 aggregates=list(aggregates))
    return state


def flavor(vcpus, memory_mb, root_gb=0, ephemeral_gb=0, swap=0, name=None):
    return objects.Flavor(
        id=next(_ids), flavorid=name or f'{vcpus}c{memory_mb}m',
        name=name or f'{vcpus}c{memory_mb}m', vcpus=vcpus,
        memory_mb=memory_mb, root_gb=root_gb, ephemeral_gb=ephemeral_gb,
        swap=swap, extra_specs={}, rxtx_factor=1.0, is_public=True,
        disabled=False, vcpu_weight=0)


def request(vcpus, memory_mb, root_gb=0, ephemeral_gb=0, swap=0,
            is_bfv=False, **kwargs):
    """An ``objects.RequestSpec`` for one instance of a flavor."""
    return objects.RequestSpec(
        flavor=flavor(vcpus, memory_mb, root_gb, ephemeral_gb, swap),
        instance_uuid=uuidutils.generate_uuid(), num_instances=1,
        is_bfv=is_bfv, scheduler_hints={}, ignore_hosts=None,
        force_hosts=None, force_nodes=None, **kwargs)
