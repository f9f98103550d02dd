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
"""A pinned, hugepage-backed guest on a real libvirtd.

Nova's own ``LibvirtDriver`` code, through ``ScaleExtLibvirtDriver`` connected
to ``qemu:///system``, generates the domain XML of a one-vCPU guest with
``hw:cpu_policy=dedicated`` and ``hw:mem_page_size=2MB``; the guest is
defined and started (KVM when a probe guest starts, TCG otherwise; a blank
1 MiB virtio disk, no OS), and each tuning is checked where it takes effect:
libvirt's live XML and pinning APIs, the QEMU command line and the CPU
affinity of QEMU's threads. Then everything is torn down.

``tools/start-libvirtd.sh`` configures and starts libvirtd (idempotent, as
root). Without root, libvirt-python, the daemons or free huge pages the tests
skip, saying why; with ``NOVA_SCALE_EXT_REQUIRE_LIBVIRT=1`` (CI) they fail
instead.
"""

import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest
from lxml import etree
from nova import conf as nova_conf
from nova import context as nova_context
from nova import objects
from nova.conf import neutron as neutron_conf
from nova.network import model as network_model
from nova.tests.unit import fake_instance
from oslo_config import fixture as cfg_fixture

from nova_scale_ext.virt import schema, tuning
from tests import kvm_probe
from tests.requirements import unavailable

pytestmark = pytest.mark.libvirtd

CONF = nova_conf.CONF
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
START_LIBVIRTD = os.path.join(ROOT, 'tools', 'start-libvirtd.sh')
URI = 'qemu:///system'
GUEST_MB = 128
PAGE_KIB = 2048
#: How to get a machine where these tests run.
PREPARE = ('as root, `bash tools/test.sh` installs and starts what they '
           'need (libvirt-daemon, libvirt-clients, libvirt-dev, pkg-config, '
           'qemu-system-x86, libvirt-python, libvirtd with huge pages)')


def _free_hugepages(node):
    for path in (f'/sys/devices/system/node/node{node}/hugepages/'
                 f'hugepages-{PAGE_KIB}kB/free_hugepages',
                 f'/sys/kernel/mm/hugepages/hugepages-{PAGE_KIB}kB/'
                 f'free_hugepages'):
        try:
            with open(path) as f:
                return int(f.read())
        except OSError:
            continue
    return 0


def _cell0_cpus(conn):
    caps = etree.fromstring(conn.getCapabilities().encode())
    cpus = {int(c.get('id')) for c in caps.iterfind(
        './host/topology/cells/cell[@id="0"]/cpus/cpu')}
    return sorted(cpus & os.sched_getaffinity(0))


@pytest.fixture(scope='module')
def conn():
    try:
        import libvirt
    except ImportError:
        libvirt = None
    if libvirt is None:
        unavailable('libvirt-python is not installed',
                    'it builds from source with libvirt-dev and pkg-config: '
                    'install those, then run `bash tools/setup-venv.sh test`; '
                    'or ' + PREPARE)
    if os.geteuid() != 0:
        unavailable('starting libvirtd and reserving huge pages needs root',
                    'run the tests as root')
    if not shutil.which('libvirtd'):
        unavailable('libvirtd is not installed',
                    'Debian: apt-get install libvirt-daemon libvirt-clients '
                    'qemu-system-x86; or ' + PREPARE)
    try:
        subprocess.run([START_LIBVIRTD], check=True, timeout=90,
                       capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        unavailable(f'tools/start-libvirtd.sh failed: {exc.stderr.strip()}',
                    'run it by hand to see why')
    except subprocess.TimeoutExpired:
        unavailable('tools/start-libvirtd.sh did not finish within 90 s',
                    'run it by hand to see why')
    try:
        connection = libvirt.open(URI)
    except libvirt.libvirtError as exc:
        unavailable(f'cannot connect to {URI}: {exc}',
                    'start libvirtd with `bash tools/start-libvirtd.sh`')
    yield connection
    connection.close()


@pytest.fixture
def nova_config():
    # As nova-compute does at start: parse (no files), then the options
    # Nova registers from its own configuration.
    CONF([], project='nova', default_config_files=[])
    fixture = cfg_fixture.Config(CONF)
    fixture.setUp()
    neutron_conf.register_dynamic_opts(CONF)
    yield fixture
    fixture.cleanUp()


class Guest:
    """A Nova instance of a pinned, hugepage-backed flavor and its XML."""

    def __init__(self, conn, nova_config, workdir):
        cpus = _cell0_cpus(conn)
        if len(cpus) < 2:
            unavailable(f'host NUMA cell 0 has {len(cpus)} usable CPU(s)',
                        'a shared and a dedicated CPU are needed')
        if _free_hugepages(0) * PAGE_KIB < GUEST_MB * 1024:
            unavailable(f'fewer than {GUEST_MB} MiB of free 2 MiB huge pages '
                        f'on NUMA node 0',
                        'free some, or reserve more with '
                        'NOVA_SCALE_EXT_HUGEPAGES (tools/start-libvirtd.sh)')
        self.shared, self.dedicated = cpus[0], cpus[-1]
        # KVM with Nova's default CPU mode (host-model) if a guest starts
        self.virt_type = ('kvm' if kvm_probe.kvm_boots('host-model', URI)
                          else 'qemu')
        nova_config.config(instances_path=workdir, use_cow_images=False,
                           instance_name_template='nse-test-%(uuid)s')
        nova_config.config(group='compute', cpu_shared_set=str(self.shared),
                           cpu_dedicated_set=str(self.dedicated))
        nova_config.config(group='libvirt', virt_type=self.virt_type,
                           cpu_mode=('none' if self.virt_type == 'qemu'
                                     else None))
        nova_config.config(group='vnc', enabled=False)
        nova_config.config(group='scale_ext_libvirt',
                           on_invalid_xml='fail')

        from unittest import mock

        from nova.virt import scale_ext
        from nova.virt.libvirt import blockinfo
        self.driver = scale_ext.ScaleExtLibvirtDriver(mock.Mock())
        self.driver._host.get_connection = lambda: conn
        ctx = nova_context.get_admin_context()
        flavor = objects.Flavor(
            id=1, name='pinned.huge', flavorid='1', memory_mb=GUEST_MB,
            vcpus=1, root_gb=0, ephemeral_gb=0, swap=0, rxtx_factor=1.0,
            vcpu_weight=None, disabled=False, is_public=True, projects=[],
            extra_specs={'hw:cpu_policy': 'dedicated',
                         'hw:mem_page_size': '2MB'})
        inst = fake_instance.fake_instance_obj(
            ctx, flavor=flavor, uuid=str(uuid.uuid4()), root_gb=0,
            ephemeral_gb=0, image_ref='', kernel_id='', ramdisk_id='',
            config_drive='')
        # What the compute claim decides and stores with the instance.
        inst.numa_topology = objects.InstanceNUMATopology(cells=[
            objects.InstanceNUMACell(
                id=0, cpuset=set(), pcpuset={0}, memory=GUEST_MB,
                pagesize=PAGE_KIB, cpu_policy='dedicated',
                cpu_pinning={0: self.dedicated})])
        inst.system_metadata = {}
        inst.metadata = {}
        inst.pci_devices = objects.PciDeviceList(objects=[])
        inst.device_metadata = None
        inst.vcpu_model = None
        inst.trusted_certs = None
        inst.obj_reset_changes(recursive=True)
        self.instance = inst
        image_meta = objects.ImageMeta.from_dict(
            {'disk_format': 'raw', 'container_format': 'bare',
             'properties': {}})
        disk_info = blockinfo.get_disk_info(self.virt_type, inst, image_meta)
        self.xml = self.driver._get_guest_xml(
            ctx, inst, network_model.NetworkInfo(), disk_info, image_meta)
        # The image back end would create the root disk: a blank one.
        instance_dir = os.path.join(workdir, inst.uuid)
        os.makedirs(instance_dir, exist_ok=True)
        with open(os.path.join(instance_dir, 'disk'), 'wb') as f:
            f.truncate(1024 * 1024)


def _threads(pid):
    """``{thread name: CPU affinity}`` of a process's threads."""
    threads = {}
    for tid in os.listdir(f'/proc/{pid}/task'):
        with open(f'/proc/{pid}/task/{tid}/comm') as f:
            name = f.read().strip()
        threads.setdefault(name, set()).update(
            os.sched_getaffinity(int(tid)))
    return threads


def test_pinned_hugepage_guest_on_real_libvirtd(conn, nova_config):
    workdir = tempfile.mkdtemp(prefix='nova-scale-ext-')
    dom = None
    try:
        guest = Guest(conn, nova_config, workdir)
        shared, dedicated = str(guest.shared), str(guest.dedicated)
        # What the shim produced validates against libvirt's schema.
        assert schema.DomainSchema().problems(guest.xml) == []

        started = time.monotonic()
        dom = conn.defineXML(guest.xml)
        dom.create()
        assert dom.isActive()

        # 1. libvirt's live XML and pinning APIs.
        live = tuning.parse(dom.XMLDesc(0))
        assert live.get('type') == guest.virt_type
        assert live.find('./cputune/emulatorpin').get('cpuset') == shared
        assert live.find(
            './cputune/iothreadpin[@iothread="1"]').get('cpuset') == shared
        assert live.find(
            './cputune/vcpupin[@vcpu="0"]').get('cpuset') == dedicated
        assert live.find(
            './memoryBacking/hugepages/page').get('size') == str(PAGE_KIB)
        assert live.find('./memoryBacking/nosharepages') is not None
        assert [b.get('model') for b in live.findall(
            './devices/memballoon')] == ['none']
        disk = live.find('./devices/disk')
        assert disk.find('./target').get('bus') == 'virtio'
        assert disk.find('./driver').get('iothread') == '1'
        if guest.virt_type == 'kvm':
            for name in ('hint-dedicated', 'poll-control'):
                assert live.find(
                    f'./features/kvm/{name}').get('state') == 'on'
        ncpus = conn.getInfo()[2]
        on = {cpu for cpu in range(ncpus)
              if dom.emulatorPinInfo()[cpu]}
        assert on == {guest.shared}
        assert {cpu for cpu in range(ncpus)
                if dom.vcpuPinInfo(0)[0][cpu]} == {guest.dedicated}
        assert [(i, {c for c in range(ncpus) if m[c]})
                for i, m in dom.ioThreadInfo(0)] == [(1, {guest.shared})]

        # 2. The QEMU command line.
        with open(f'/run/libvirt/qemu/{dom.name()}.pid') as f:
            pid = int(f.read())
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            cmdline = f.read().replace(b'\0', b' ').decode()
        assert 'mem-merge=off' in cmdline  # nosharepages
        assert '"mem-path":"/dev/hugepages' in cmdline
        assert '"driver":"virtio-blk-pci","iothread":"iothread1"' in cmdline
        assert 'virtio-balloon' not in cmdline
        if guest.virt_type == 'kvm':
            assert 'kvm-hint-dedicated=on' in cmdline
            assert 'kvm-poll-control=on' in cmdline

        # 3. CPU affinity of QEMU's threads.
        threads = _threads(pid)
        vcpu = 'CPU 0/KVM' if guest.virt_type == 'kvm' else 'CPU 0/TCG'
        assert threads[vcpu] == {guest.dedicated}, threads
        assert threads['IO iothread1'] == {guest.shared}, threads
        assert threads['qemu-system-x86'] == {guest.shared}, threads

        # 4. Hugepage accounting reads the real host: the guest's pages are
        # held by a Nova domain, the rest of the pools is reserved.
        small, pools = guest.driver._scale_ext_hugepage_pools()
        assert small == tuning.SMALL_PAGE_KIB
        assert tuning.hugepage_pool_kib(pools, small) >= GUEST_MB * 1024
        assert guest.driver._scale_ext_held_hugepage_kib() >= \
            GUEST_MB * 1024

        assert time.monotonic() - started < 60
    finally:
        if dom is not None:
            if dom.isActive():
                dom.destroy()
            dom.undefine()
        shutil.rmtree(workdir, ignore_errors=True)
