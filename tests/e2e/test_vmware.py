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
"""Nova's VMware driver (``vmwareapi.VMwareVCDriver``) on a simulated
vCenter: one nova-compute per cluster, each cluster one "host" to Nova.

What Nova reports for a cluster (the sum of its ESXi hosts, and the largest
ESXi host as placement's ``max_unit``), servers booted through openstacksdk
with the plugin's scheduler configuration and with Nova's defaults, a
server larger than every ESXi host of a cluster, and ``nova-scale-ext
capacity`` on such computes.
"""

import json

import pytest

from tests.e2e.settings import (
    VMWARE_AZ,
    VMWARE_CLUSTERS,
    VMWARE_ESXI,
    VMWARE_IMAGE,
)
from tests.e2e.test_capacity import run_capacity

C1, C2 = list(VMWARE_CLUSTERS)


def inventories(conn, host):
    """Placement's inventories of the compute node of ``host``."""
    hyp = next(h for h in conn.compute.hypervisors(details=True)
               if (h.service_details or {}).get('host') == host)
    rp = conn.placement.get_resource_provider(hyp.id)
    return {inv.resource_class: inv
            for inv in conn.placement.resource_provider_inventories(rp)}


@pytest.fixture
def flavors(conn):
    made = {}

    def flavor(vcpus, memory_mb):
        name = f'e2e.vmw-{vcpus}c{memory_mb}m'
        made[name] = conn.compute.find_flavor(name) or \
            conn.compute.create_flavor(name=name, vcpus=vcpus,
                                       ram=memory_mb, disk=1)
        return made[name]
    yield flavor
    for f in made.values():
        conn.compute.delete_flavor(f)


@pytest.fixture
def boot(conn):
    servers = []

    def boot(name, flavor, status='ACTIVE'):
        image = conn.image.find_image(VMWARE_IMAGE)
        server = conn.compute.create_server(
            name=name, image_id=image.id, flavor_id=flavor.id,
            networks='none', availability_zone=VMWARE_AZ)
        servers.append(server)
        return conn.compute.wait_for_server(server, status=status,
                                            interval=0.5, wait=300)
    yield boot
    for server in servers:
        conn.compute.delete_server(server, ignore_missing=True)
    for server in servers:
        conn.compute.wait_for_delete(server, interval=0.5, wait=180)


def test_a_cluster_is_the_sum_of_its_hosts_and_no_more_than_the_largest(
        vmware_cloud, conn):
    for host, cluster in VMWARE_CLUSTERS.items():
        esxi = VMWARE_ESXI[cluster]
        inv = inventories(conn, host)
        assert inv['VCPU'].total == sum(t for t, _ in esxi)
        assert inv['VCPU'].max_unit == max(t for t, _ in esxi)
        assert inv['MEMORY_MB'].total == sum(m for _, m in esxi)
        assert inv['MEMORY_MB'].max_unit == max(m for _, m in esxi)


def test_servers_boot_and_pack_on_the_vmware_computes(vmware_cloud, conn,
                                                       flavors, boot):
    # c1 is 28 threads / 112 GiB, c2 36 / 144 GiB. The first server takes 2
    # vCPUs and 56 GiB: c2 keeps 34 vCPUs and 88 GiB, the room of the
    # cloud's smallest large-slot flavor (32:65536), which the large-slot
    # weigher counts on a cluster's sum and which the second server does not
    # cut (with one of the two candidates empty, below
    # large_slot_spare_host_share = 0.55, that weigher would send a server
    # cutting it to the empty cluster; the scheduler guide says to list
    # there only flavors that fit on one ESXi host, and this test is about
    # best fit). Nova's defaults weigh free vCPUs, memory and disk, each
    # divided by the largest: for the third server c1 gets 28/32 + 1 + 1
    # and c2 1 + 86/112 + 0.99 (2.88 against 2.76), so they spread to c1.
    large, small = flavors(2, 57344), flavors(2, 2048)
    # Both clusters empty: the plugins open the bigger one first, as they
    # open the bigger of two empty hosts.
    first = boot('e2e-vmw-1', large)
    assert first.status == 'ACTIVE' and first.compute_host == C2
    # Best fit: the next server goes to the cluster in use...
    second = boot('e2e-vmw-2', small)
    assert second.compute_host == C2
    # ...where Nova's defaults spread to the cluster with the most free
    # memory, now the other one.
    vmware_cloud.restart_scheduler(vmware_cloud.nova_defaults_conf)
    try:
        third = boot('e2e-vmw-3', small)
    finally:
        vmware_cloud.restart_scheduler(vmware_cloud.nova_conf)
    assert third.compute_host == C1


def test_a_server_larger_than_every_esxi_host_of_a_cluster(vmware_cloud,
                                                           conn, flavors,
                                                           boot):
    largest = {c: max(t for t, _ in esxi) for c, esxi in VMWARE_ESXI.items()}
    total = {c: sum(t for t, _ in esxi) for c, esxi in VMWARE_ESXI.items()}
    # more vCPUs than any ESXi host of c1 has, fewer than c1 has in all
    big = flavors(largest['c1'] + 4, 4096)
    assert big.vcpus < total['c1'] and big.vcpus <= largest['c2']
    # more than any ESXi host of either cluster, fewer than c2 has in all
    huge = flavors(largest['c2'] + 8, 4096)
    assert huge.vcpus < total['c2']

    data = json.loads(run_capacity(vmware_cloud, '--json'))
    where = data['flavors'][big.name]['where']
    assert C1 not in where and where[C2] >= 1
    assert not set(data['flavors'][huge.name]['where']) & set(
        VMWARE_CLUSTERS)

    server = boot('e2e-vmw-big', big)
    assert server.compute_host == C2
    refused = boot('e2e-vmw-huge', huge, status='ERROR')
    assert 'No valid host' in (refused.fault or {}).get('message', '')
