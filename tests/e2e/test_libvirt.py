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
"""A pinned, hugepage-backed server on the libvirt compute with our shim.

The server is booted through openstacksdk into the libvirt compute's
availability zone with ``hw:cpu_policy=dedicated``,
``hw:mem_page_size=2MB`` and one of our ``scale_ext:`` tunings; then the
host is inspected as an operator would: libvirt's live domain XML, the
QEMU command line, the CPU affinity of QEMU's vCPU threads and the huge
page pool, before and after the server is deleted.
"""

import os
from pathlib import Path

import pytest
from lxml import etree

from tests.e2e import cloud as cloud_mod
from tests.e2e.test_extra_specs import set_extra_specs

GUEST_MB = 256
PAGE_KIB = 2048
FREE_PAGES = Path(f'/sys/kernel/mm/hugepages/hugepages-{PAGE_KIB}kB/'
                  'free_hugepages')


def free_pages():
    return int(FREE_PAGES.read_text())


def cpu_set(text):
    """``'1-3,5'`` -> ``{1, 2, 3, 5}``."""
    out = set()
    for part in text.split(','):
        first, _, last = part.partition('-')
        out.update(range(int(first), int(last or first) + 1))
    return out


@pytest.fixture
def pinned_server(libvirt_cloud, conn):
    flavor = conn.compute.create_flavor(name='e2e.pinned-2m', vcpus=1,
                                        ram=GUEST_MB, disk=0)
    set_extra_specs(conn, flavor, {
        'hw:cpu_policy': 'dedicated', 'hw:mem_page_size': '2MB',
        'scale_ext:hugepage_no_balloon': 'true'})
    image = conn.image.find_image(cloud_mod.IMAGE)
    before = free_pages()
    server = conn.compute.create_server(
        name='e2e-pinned', image_id=image.id, flavor_id=flavor.id,
        networks='none', availability_zone=cloud_mod.LIBVIRT_AZ)
    try:
        server = conn.compute.wait_for_server(server, interval=0.5, wait=300)
        yield server, before
    finally:
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=0.5, wait=120)
        conn.compute.delete_flavor(flavor)


def live_domain(name):
    import libvirt

    connection = libvirt.open('qemu:///system')
    try:
        return etree.fromstring(
            connection.lookupByName(name).XMLDesc(0).encode())
    finally:
        connection.close()


def qemu_pid(name):
    return int(Path(f'/run/libvirt/qemu/{name}.pid').read_text())


def vcpu_threads(pid):
    """``{thread id: name}`` of QEMU's vCPU threads (``CPU 0/KVM``)."""
    out = {}
    for task in Path(f'/proc/{pid}/task').iterdir():
        comm = (task / 'comm').read_text().strip()
        if comm.startswith('CPU '):
            out[int(task.name)] = comm
    return out


def test_pinned_hugepage_server_is_active_on_the_libvirt_host(
        pinned_server):
    server, _ = pinned_server
    assert server.status == 'ACTIVE'
    assert server.compute_host == cloud_mod.LIBVIRT_HOST


def test_live_domain_shows_pinning_hugepages_and_our_tuning(pinned_server):
    server, _ = pinned_server
    dom = live_domain(server.instance_name)
    shared, dedicated = _cpu_sets()
    pins = dom.findall('./cputune/vcpupin')
    assert len(pins) == 1
    assert cpu_set(pins[0].get('cpuset')) <= dedicated
    assert dom.find('./memoryBacking/hugepages/page').get('size') == str(
        PAGE_KIB)
    # The shim: emulator threads on the shared set, no KSM merging, no
    # balloon for a hugepage-backed guest.
    assert cpu_set(dom.find('./cputune/emulatorpin').get('cpuset')) == shared
    assert dom.find('./memoryBacking/nosharepages') is not None
    assert dom.find('./devices/memballoon').get('model') == 'none'


def test_qemu_runs_on_huge_pages_with_pinned_vcpu_threads(pinned_server):
    server, before = pinned_server
    pid = qemu_pid(server.instance_name)
    cmdline = Path(f'/proc/{pid}/cmdline').read_bytes().split(b'\0')
    text = b' '.join(cmdline).decode()
    assert '/dev/hugepages' in text
    assert 'mem-merge=off' in text
    _, dedicated = _cpu_sets()
    threads = vcpu_threads(pid)
    assert len(threads) == 1
    for tid in threads:
        assert os.sched_getaffinity(tid) <= dedicated
    assert before - free_pages() == GUEST_MB * 1024 // PAGE_KIB


def test_deleting_the_server_frees_its_huge_pages(libvirt_cloud, conn):
    flavor = conn.compute.create_flavor(name='e2e.pinned-2m-free', vcpus=1,
                                        ram=GUEST_MB, disk=0)
    set_extra_specs(conn, flavor, {
        'hw:cpu_policy': 'dedicated', 'hw:mem_page_size': '2MB'})
    image = conn.image.find_image(cloud_mod.IMAGE)
    before = free_pages()
    try:
        server = conn.compute.create_server(
            name='e2e-pinned-free', image_id=image.id, flavor_id=flavor.id,
            networks='none', availability_zone=cloud_mod.LIBVIRT_AZ)
        server = conn.compute.wait_for_server(server, interval=0.5, wait=300)
        assert free_pages() < before
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=0.5, wait=120)
        assert free_pages() == before
    finally:
        conn.compute.delete_flavor(flavor)


def _cpu_sets():
    cpus = sorted(os.sched_getaffinity(0))
    return {cpus[0]}, set(cpus[1:])
