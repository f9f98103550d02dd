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
"""The reference engine: every decision is made by Nova's own code.

Each host is a real ``nova.scheduler.host_manager.HostState``, updated from
an ``objects.ComputeNode`` whenever its allocations change, with the fleet's
aggregates as ``objects.Aggregate`` records carrying their metadata.  The
compute node is filled in as Nova's resource tracker does: ``vcpus_used``,
``memory_mb_used`` and ``local_gb_used`` start at the reserved amounts and
grow with each instance, ``free_ram_mb``/``free_disk_gb`` are the rest, and
``stats`` carries ``num_instances``.

Per request: placement's pre-filter (:class:`~.model.Placement`), then Nova's
``HostFilterHandler.get_filtered_objects`` with the enabled filter objects and
``HostWeightHandler.get_weighed_objects`` with the weigher objects, exactly
the calls nova-scheduler's ``HostManager`` makes, then the documented
tie-break (:func:`~.model.choose`) on the weights Nova computed.

What the model leaves out, and what it makes Nova's default filters do:

* every compute service is enabled and up (its heartbeat is kept fresh), so
  ``ComputeFilter`` passes every host;
* flavors have no extra specs and images no properties, so
  ``ComputeCapabilitiesFilter`` and ``ImagePropertiesFilter`` pass every host;
* requests belong to no server group, so ``ServerGroupAffinityFilter``,
  ``ServerGroupAntiAffinityFilter`` and the soft-affinity weighers are
  neutral;
* no host has PCI devices, metrics, NUMA topology or failed builds, all run
  the same hypervisor version, and instances are placed at once (no
  instance is ever in a build or resize, so ``num_io_ops`` stays 0): the
  PCI, metrics, build-failure, hypervisor-version and I/O-ops weighers give
  every host the same weight;
* nothing is a move, so the cross-cell weigher is neutral.
"""

import datetime
import time

import numpy as np
from nova import objects
from nova.scheduler import filters as nova_filters
from nova.scheduler import host_manager
from nova.scheduler import weights as nova_weights
from oslo_config import cfg

from nova_scale_ext import common
from nova_scale_ext.scheduler.filters import headroom as headroom_filter
from nova_scale_ext.simulate import model

objects.register_all()

HYPERVISOR_VERSION = 9000000
#: Refresh the services' heartbeat this often (wall-clock seconds), well
#: inside Nova's ``service_down_time``.
HEARTBEAT_EVERY_S = 10.0

def _uuid(kind, n):
    """Stable UUIDs, so that runs are reproducible."""
    return '%08x-0000-4000-8000-%012x' % (kind, n)


def nova_aggregates(fleet):
    """``objects.Aggregate`` records of a fleet, by name."""
    out = {}
    names = fleet.host_names
    for k, (agg, metadata) in enumerate(sorted(fleet.aggregates.items())):
        members = [names[i] for i, c in enumerate(fleet.class_of.tolist())
                   if agg in fleet.classes[c].aggregates]
        out[agg] = objects.Aggregate(
            id=k + 1, uuid=_uuid(1, k + 1), name=agg, hosts=members,
            metadata={str(key): str(v) for key, v in metadata.items()})
    return out


def compute_node(fleet, host, used=(0, 0, 0), count=0):
    """The ``ComputeNode`` Nova's resource tracker would report."""
    cls = fleet.classes[int(fleet.class_of[host])]
    name = fleet.host_names[host]
    vcpus_used = cls.reserved_vcpus + int(used[0])
    memory_used = cls.reserved_memory_mb + int(used[1])
    disk_used = cls.reserved_disk_gb + int(used[2])
    return objects.ComputeNode(
        id=host + 1, uuid=_uuid(2, host + 1), host=name,
        hypervisor_hostname=name, vcpus=cls.vcpus, memory_mb=cls.memory_mb,
        local_gb=cls.disk_gb, vcpus_used=vcpus_used,
        memory_mb_used=memory_used, local_gb_used=disk_used,
        free_ram_mb=cls.memory_mb - memory_used,
        free_disk_gb=cls.disk_gb - disk_used, disk_available_least=None,
        hypervisor_type='QEMU', hypervisor_version=HYPERVISOR_VERSION,
        cpu_info='{}', host_ip='192.0.2.1', numa_topology=None,
        supported_hv_specs=[], pci_device_pools=None,
        stats={'num_instances': str(int(count))}, metrics='[]',
        updated_at=None, cpu_allocation_ratio=cls.cpu_allocation_ratio,
        ram_allocation_ratio=cls.ram_allocation_ratio,
        disk_allocation_ratio=cls.disk_allocation_ratio,
        running_vms=int(count), current_workload=0)


def host_states(fleet, cell_uuid=None):
    """One ``HostState`` per host of an empty fleet, as nova-scheduler builds
    them (compute node, aggregates, service)."""
    cell_uuid = cell_uuid or _uuid(3, 1)
    aggs = nova_aggregates(fleet)
    service_now = _service_time()
    states = []
    for host, name in enumerate(fleet.host_names):
        cls = fleet.classes[int(fleet.class_of[host])]
        state = host_manager.HostState(name, name, cell_uuid)
        state.update(compute=compute_node(fleet, host),
                     aggregates=[aggs[a] for a in cls.aggregates],
                     service=_service(name, host, service_now))
        states.append(state)
    return states


def _service_time():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _service(name, host, now):
    return {'id': host + 1, 'host': name, 'binary': 'nova-compute',
            'topic': 'compute', 'disabled': False, 'disabled_reason': None,
            'forced_down': False, 'last_seen_up': now, 'created_at': now,
            'updated_at': now, 'report_count': 1, 'version': 0}


class RequestFactory:
    """``objects.RequestSpec`` for the VMs of a workload."""

    def __init__(self, workload, shapes, with_disk):
        self.workload = workload
        self.with_disk = with_disk
        self.flavors = []
        for k, (vcpus, mem, disk) in enumerate(shapes.tolist()):
            self.flavors.append(objects.Flavor(
                id=k + 1, flavorid=f'sim-{k}',
                name=f'{int(vcpus)}c{int(mem)}m{int(disk)}g',
                vcpus=int(vcpus), memory_mb=int(mem),
                root_gb=int(disk), ephemeral_gb=0, swap=0, extra_specs={},
                rxtx_factor=1.0, is_public=True, disabled=False,
                vcpu_weight=0))

    def spec(self, vm, shape):
        projects = self.workload.projects
        return objects.RequestSpec(
            flavor=self.flavors[shape], num_instances=1,
            instance_uuid=_uuid(4, vm + 1),
            image=objects.ImageMeta(properties=objects.ImageMetaProps()),
            is_bfv=not self.with_disk, scheduler_hints={},
            ignore_hosts=None, force_hosts=None, force_nodes=None,
            instance_group=None, availability_zone=None,
            requested_destination=None, pci_requests=None,
            numa_topology=None,
            project_id=(projects[vm] if projects else None) or 'simulated',
            user_id='simulated')


def pick_settings():
    """``(host_subset_size, shuffle_best_same_weighed_hosts)`` of the
    policy loaded in ``CONF``: the random picks of
    :class:`~.model.Picker`."""
    group = cfg.CONF.filter_scheduler
    return (group.host_subset_size, group.shuffle_best_same_weighed_hosts)


class ReferenceEngine:
    """Nova's HostState, filter and weigher handlers for one policy (built
    while the policy is loaded in ``CONF``)."""

    name = 'reference'
    #: the compaction search may not assume anything of the plugins
    shares_prefixes = False
    spare_share = None

    def __init__(self, loaded, workload, shapes, shape_of, with_disk):
        self.policy = loaded.policy
        self.filters = loaded.new_filters()
        self.weighers = loaded.new_weighers()
        self.filter_handler = nova_filters.HostFilterHandler()
        self.weight_handler = nova_weights.HostWeightHandler()
        self.limit = cfg.CONF.scheduler.max_placement_results
        #: each VM's isolation group (:class:`~.model.Isolation`; None:
        #: no tenant isolation), set by the caller
        self.isolation = None
        self.pick = pick_settings()
        self.shapes = shapes
        self.shape_of = shape_of
        self.requests = RequestFactory(workload, shapes, with_disk)

    def chooser(self, ledger):
        return ReferenceChooser(self, ledger)


class ReferenceChooser:
    def __init__(self, engine, ledger):
        self.engine = engine
        self.ledger = ledger
        self.fleet = ledger.fleet
        self.placement = model.Placement(ledger, engine.shapes, engine.limit)
        self.picker = model.Picker(*engine.pick)
        self.isolation = (None if engine.isolation is None else
                          model.Isolation(engine.isolation, len(ledger)))
        self.states = host_states(self.fleet)
        self.index = {id(s): i for i, s in enumerate(self.states)}
        self.headroom = self._headroom()
        self._beat = time.monotonic()
        for host in np.flatnonzero(ledger.count).tolist():
            self.changed(host)

    def _headroom(self):
        """What the policy's headroom filter keeps free on each host."""
        kept = [f for f in self.engine.filters
                if isinstance(f, headroom_filter.ScaleExtHeadroomFilter)]
        if not kept:
            return None
        defaults = [common.config_value(headroom_filter.CONF_GROUP, name)
                    for name in headroom_filter.HEADROOM_OPTIONS]
        room = np.array([kept[0].host_headroom(s, defaults)
                         for s in self.states],
                        dtype=np.float64).reshape(-1, 3)
        return room if room.any() else None

    def _heartbeat(self):
        now = time.monotonic()
        if now - self._beat < HEARTBEAT_EVERY_S:
            return
        self._beat = now
        stamp = _service_time()
        for host, state in enumerate(self.states):
            state.update(service=_service(state.host, host, stamp))

    def select(self, vm):
        host = self._select(vm)
        if host >= 0 and self.isolation is not None:
            self.isolation.placed(host, vm, self.ledger.count)
        return host

    def _select(self, vm):
        eng = self.engine
        shape = int(eng.shape_of[vm])
        idx = self.placement.candidates(shape)
        if self.isolation is not None:
            idx = self.isolation.allowed(idx, vm, self.ledger.count)
        if idx.size == 0:
            return -1
        self._heartbeat()
        hosts = [self.states[i] for i in idx.tolist()]
        spec = eng.requests.spec(vm, shape)
        passed = eng.filter_handler.get_filtered_objects(
            eng.filters, hosts, spec, 0)
        if not passed:
            return -1
        weighed = eng.weight_handler.get_weighed_objects(
            eng.weighers, passed, spec)
        pairs = sorted((self.index[id(w.obj)], w.weight) for w in weighed)
        pos = self.picker.choose(np.array([w for _, w in pairs],
                                          dtype=np.float64))
        return pairs[pos][0]

    def changed(self, host):
        led = self.ledger
        self.states[host].update(compute=compute_node(
            self.fleet, host, led.used[host].tolist(),
            int(led.count[host])))
