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
"""Booting through Nova's libvirt functional harness (fakelibvirt).

Nova loads ``compute_driver = scale_ext.ScaleExtLibvirtDriver`` with its own
``load_compute_driver``; servers of pinned, hugepage-backed and shared
flavors are booted through the REST API, and the domain XML the driver hands
to libvirt is captured from ``_get_guest_xml`` (fakelibvirt's ``XMLDesc``
drops ``<memoryBacking>``). The tuning is checked against a schema that
accepts any XML, so it runs everywhere; ``LibvirtSchemaFunctionalTest``
boots the same guests against libvirt's own schema, which needs libvirt
installed.
"""

import fixtures
import pytest
from nova import conf as nova_conf
from nova import context as nova_context
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.api import client
from nova.tests.functional.libvirt import base

from nova_scale_ext.virt import driver as scale_driver
from nova_scale_ext.virt import schema, tuning
from tests.unit.virt import domains

pytestmark = pytest.mark.functional
CONF = nova_conf.CONF

#: 8 host CPUs: 0-1 shared (emulator threads), 2-7 dedicated (PCPU).
SHARED_SET = '0-1'
DEDICATED_SET = '2-7'
HUGE_PAGES = 1024  # of 2 MiB: a 2 GiB pool


class _ShimTestBase(base.ServersTestBase):
    """A compute with the shim; any schema failure fails the boot."""

    ADMIN_API = True
    microversion = 'latest'
    ADDITIONAL_FILTERS = ['NUMATopologyFilter']

    def _schema_file(self):
        """``[scale_ext_libvirt] schema_file`` of the compute."""
        raise NotImplementedError

    def setUp(self):
        self.xmls = {}
        captured = self.xmls
        orig = scale_driver.ScaleExtLibvirtDriver._get_guest_xml

        def capture(drv, context, instance, *args, **kwargs):
            xml = orig(drv, context, instance, *args, **kwargs)
            captured[instance.uuid] = xml
            return xml

        self.useFixture(fixtures.MockPatchObject(
            scale_driver.ScaleExtLibvirtDriver, '_get_guest_xml', capture))
        super().setUp()
        self.flags(cpu_shared_set=SHARED_SET,
                   cpu_dedicated_set=DEDICATED_SET, group='compute')
        self.flags(schema_file=self._schema_file(), on_invalid_xml='fail',
                   group='scale_ext_libvirt')
        host_info = fakelibvirt.HostInfo(
            cpu_nodes=1, cpu_sockets=1, cpu_cores=4, cpu_threads=2,
            kB_mem=16 * 1024 * 1024)
        for cell in host_info.numa_topology.cells:
            small = (host_info.kB_mem - 2048 * HUGE_PAGES) // 4
            cell.mempages = fakelibvirt.create_mempages(
                [(4, small), (2048, HUGE_PAGES)])
        self.start_compute(hostname='compute1', host_info=host_info)
        self.compute = self.computes['compute1']

    def _setup_compute_service(self):
        # Nova's load_compute_driver imports it as nova.virt.<this value>.
        self.flags(compute_driver='scale_ext.ScaleExtLibvirtDriver')

    def _boot(self, extra_spec, vcpu=2, memory_mb=1024):
        flavor_id = self._create_flavor(
            vcpu=vcpu, memory_mb=memory_mb, extra_spec=extra_spec)
        server = self._create_server(flavor_id=flavor_id, networks='none')
        self.addCleanup(self._delete_server, server)
        dom = tuning.parse(self.xmls[server['id']])
        return server, dom

    def _instance(self, server):
        return objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'])



class ScaleExtLibvirtFunctionalTest(_ShimTestBase):

    def _schema_file(self):
        # These tests are about the tuning: any XML validates.
        return domains.write_schema(
            self.useFixture(fixtures.TempDir()).path)

    def test_nova_loads_the_shim(self):
        self.assertIsInstance(self.compute.driver,
                              scale_driver.ScaleExtLibvirtDriver)

    def test_pinned_guest(self):
        server, dom = self._boot({'hw:cpu_policy': 'dedicated'})
        self.assertEqual('ACTIVE', server['status'])
        inst = self._instance(server)
        pinned = set()
        for cell in inst.numa_topology.cells:
            pinned |= set(cell.cpu_pinning.values())
        self.assertTrue(pinned <= set(range(2, 8)), pinned)

        # Nova's vCPU pinning is untouched...
        vcpupins = {int(p.get('vcpu')): int(p.get('cpuset'))
                    for p in dom.findall('./cputune/vcpupin')}
        self.assertEqual(pinned, set(vcpupins.values()))
        # ...the emulator and IO threads run on the shared set...
        self.assertEqual(SHARED_SET,
                         dom.find('./cputune/emulatorpin').get('cpuset'))
        iothreads = tuning.iothread_ids(dom)
        self.assertTrue(iothreads)
        for iothread in iothreads:
            pin = dom.find(f'./cputune/iothreadpin[@iothread="{iothread}"]')
            self.assertEqual(SHARED_SET, pin.get('cpuset'))
        # ...virtio disks use the IO thread...
        disks = [d for d in dom.findall('./devices/disk')
                 if d.find('./target').get('bus') == 'virtio']
        self.assertTrue(disks)
        for disk in disks:
            self.assertEqual(str(iothreads[0]),
                             disk.find('./driver').get('iothread'))
        # ...and the guest halt-polls (KVM).
        self.assertEqual('kvm', dom.get('type'))
        for name in ('hint-dedicated', 'poll-control'):
            self.assertEqual(
                'on', dom.find(f'./features/kvm/{name}').get('state'))
        # Not hugepage-backed, pinned: Nova's balloon stays as it is.
        self.assertIsNone(dom.find('./memoryBacking/nosharepages'))

    def test_hugepage_guest(self):
        server, dom = self._boot({'hw:mem_page_size': '2MB'})
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(
            2048, self._instance(server).numa_topology.cells[0].pagesize)
        self.assertEqual(
            '2048', dom.find('./memoryBacking/hugepages/page').get('size'))
        self.assertIsNotNone(dom.find('./memoryBacking/nosharepages'))
        balloons = dom.findall('./devices/memballoon')
        self.assertEqual(['none'], [b.get('model') for b in balloons])
        # Shared vCPUs: no halt-polling, no emulator pinning by the shim.
        self.assertIsNone(dom.find('./features/kvm/hint-dedicated'))

    def test_pinned_hugepage_guest_large(self):
        server, dom = self._boot({'hw:cpu_policy': 'dedicated',
                                  'hw:mem_page_size': 'large'})
        self.assertEqual('ACTIVE', server['status'])
        self.assertIsNotNone(dom.find('./memoryBacking/hugepages'))
        self.assertIsNotNone(dom.find('./memoryBacking/nosharepages'))
        self.assertEqual('none', dom.find('./devices/memballoon').get('model'))
        self.assertEqual(SHARED_SET,
                         dom.find('./cputune/emulatorpin').get('cpuset'))
        self.assertEqual(
            'on', dom.find('./features/kvm/poll-control').get('state'))

    def test_shared_guest(self):
        server, dom = self._boot({})
        self.assertEqual('ACTIVE', server['status'])
        balloon = dom.find('./devices/memballoon')
        self.assertEqual('virtio', balloon.get('model'))
        self.assertEqual('on', balloon.get('freePageReporting'))
        self.assertIsNone(dom.find('./memoryBacking/hugepages'))
        self.assertIsNone(dom.find('./cputune/emulatorpin'))
        self.assertIsNone(dom.find('./features/kvm/hint-dedicated'))

    def test_flavor_extra_spec_turns_a_tuning_off(self):
        server, dom = self._boot({'hw:cpu_policy': 'dedicated',
                                  'scale_ext:guest_halt_polling': 'false'})
        self.assertEqual('ACTIVE', server['status'])
        self.assertIsNone(dom.find('./features/kvm/hint-dedicated'))
        self.assertEqual(SHARED_SET,
                         dom.find('./cputune/emulatorpin').get('cpuset'))

    def test_api_refuses_a_bad_extra_spec(self):
        flavor_id = self._create_flavor()
        exc = self.assertRaises(
            client.OpenStackApiException, self.api.post_extra_spec, flavor_id,
            {'extra_specs': {'scale_ext:guest_halt_polling': 'sometimes'}})
        self.assertEqual(400, exc.response.status_code)
        self.assertIn('scale_ext:guest_halt_polling', exc.response.text)

    def test_hugepage_pool_is_reserved_from_memory_mb(self):
        rp_uuid = self.compute_rp_uuids['compute1']
        inventory = self.placement.get(
            f'/resource_providers/{rp_uuid}/inventories').body['inventories']
        memory = inventory['MEMORY_MB']
        pool_mb = HUGE_PAGES * 2
        self.assertEqual(CONF.reserved_host_memory_mb + pool_mb,
                         memory['reserved'])


@pytest.mark.usefixtures('libvirt_schema')
class LibvirtSchemaFunctionalTest(_ShimTestBase):
    """What the shim makes of Nova's XML is valid for the libvirt installed
    here: with ``on_invalid_xml = fail`` a boot would fail otherwise."""

    def _schema_file(self):
        return schema.DEFAULT_SCHEMA

    def test_tuned_guests_validate_against_libvirts_schema(self):
        libvirt_schema = schema.DomainSchema()
        for extra_spec, tuned in [
                ({'hw:cpu_policy': 'dedicated', 'hw:mem_page_size': '2MB'},
                 './cputune/emulatorpin'),
                ({}, './devices/memballoon[@freePageReporting="on"]')]:
            server, dom = self._boot(extra_spec)
            self.assertEqual('ACTIVE', server['status'])
            self.assertIsNotNone(dom.find(tuned))
            self.assertEqual([], libvirt_schema.problems(dom))
