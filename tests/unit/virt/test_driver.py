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
"""The driver's hooks, each around Nova's own method: schema failures, the
live migration path and hugepage accounting."""

import logging
import types
from unittest import mock

import os_resource_classes as orc
import pytest
from lxml import etree
from nova import objects
from nova.compute import provider_tree
from nova.objects import fields
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import guest as libvirt_guest
from nova.virt.libvirt import migration
from oslo_config import cfg
from oslo_config import fixture as cfg_fixture

from nova_scale_ext.virt import driver, tuning
from tests.unit.virt import domains

UUID = '8c4c78b7-0150-44a4-a35b-15890bf6672f'


@pytest.fixture
def conf():
    fixture = cfg_fixture.Config(cfg.CONF)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


def make_driver(online_cpus=range(8)):
    """The shim without Nova's driver start-up (no libvirt connection)."""
    drv = driver.ScaleExtLibvirtDriver.__new__(
        driver.ScaleExtLibvirtDriver)
    drv._scale_ext_schemas = {}
    drv._scale_ext_last_reserve = None
    drv._host = mock.Mock()
    drv._host.get_online_cpus.return_value = set(online_cpus)
    return drv


def make_instance(extra_specs=None, pinning=None):
    flavor = objects.Flavor(name='m1.test', extra_specs=dict(
        extra_specs or {}))
    numa = None
    if pinning:
        numa = objects.InstanceNUMATopology(cells=[objects.InstanceNUMACell(
            id=0, cpuset=set(), pcpuset=set(pinning), memory=1024,
            pagesize=2048, cpu_policy=fields.CPUAllocationPolicy.DEDICATED,
            cpu_pinning=dict(pinning))])
    return objects.Instance(uuid=UUID, flavor=flavor, numa_topology=numa)


# -- schema failures ---------------------------------------------------------

def _tune_adding_turbo(orig):
    def tune(dom, cpus, policy, harden=False):
        changes = orig(dom, cpus, policy, harden=harden)
        etree.SubElement(dom.find('./devices'), 'turbo', mode='on')
        return changes + ['devices/turbo']
    return tune


@pytest.fixture
def any_xml_schema(conf, tmp_path):
    """``schema_file`` is a schema every domain XML passes."""
    conf.config(group='scale_ext_libvirt',
                schema_file=domains.write_schema(tmp_path))


@pytest.fixture
def no_turbo_schema(conf, tmp_path):
    """``schema_file`` refuses the ``<turbo>`` of ``_tune_adding_turbo``."""
    conf.config(group='scale_ext_libvirt', schema_file=domains.write_schema(
        tmp_path, domains.NO_TURBO_RNG))


def _tune_invalid(drv, inst):
    with mock.patch.object(driver.tuning, 'tune_domain',
                           _tune_adding_turbo(tuning.tune_domain)):
        return drv._scale_ext_tune(inst, domains.domain())


def _errors(caplog):
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.ERROR]


def test_invalid_tuned_xml_falls_back_to_novas_xml(no_turbo_schema, caplog):
    with caplog.at_level(logging.ERROR):
        xml = _tune_invalid(make_driver(), make_instance())
    assert xml == domains.domain()
    [text] = _errors(caplog)
    assert UUID in text
    assert '/domain/devices/turbo' in text
    assert ('With [scale_ext_libvirt] on_invalid_xml = fallback, the guest '
            "is defined with Nova's domain XML, without the tuning.") in text
    assert 'set [scale_ext_libvirt] on_invalid_xml' not in text
    assert 'scale_ext:on_invalid_xml=fallback' not in text


def test_invalid_tuned_xml_fails_the_boot_when_the_flavor_says_so(
        no_turbo_schema):
    inst = make_instance({'scale_ext:on_invalid_xml': 'fail'})
    with pytest.raises(driver.ScaleExtInvalidDomainXML) as info:
        _tune_invalid(make_driver(), inst)
    message = str(info.value)
    assert UUID in message
    assert '/domain/devices/turbo' in message
    # The mode in force, where it comes from, and only the other mode.
    assert ('With the flavor extra spec scale_ext:on_invalid_xml=fail, the '
            'operation fails') in message
    assert "set the flavor's extra spec scale_ext:on_invalid_xml=fallback" \
        in message
    assert 'on_invalid_xml = fallback' not in message


def test_invalid_tuned_xml_fails_the_boot_when_configured(conf,
                                                          no_turbo_schema):
    conf.config(group='scale_ext_libvirt', on_invalid_xml='fail')
    with pytest.raises(driver.ScaleExtInvalidDomainXML) as info:
        _tune_invalid(make_driver(), make_instance())
    message = str(info.value)
    assert ('With [scale_ext_libvirt] on_invalid_xml = fail, the operation '
            "fails; to use Nova's XML without the tuning instead, set "
            '[scale_ext_libvirt] on_invalid_xml = fallback (or, for one '
            'flavor, its extra spec scale_ext:on_invalid_xml=fallback).') \
        in message
    # A flavor can still choose Nova's XML: no error raised, none suggested.
    inst = make_instance({'scale_ext:on_invalid_xml': 'fallback'})
    assert _tune_invalid(make_driver(), inst) == domains.domain()


def _unusable_schema(tmp_path, kind):
    """A ``schema_file`` that cannot be used, and the reason it gives."""
    path = tmp_path / 'domain.rng'
    if kind == 'directory':
        path.mkdir()
        return path, 'Is a directory'
    if kind == 'garbage':
        path.write_text('this is not a schema')
        return path, 'not well-formed XML'
    return path, 'No such file or directory'


@pytest.mark.parametrize('kind', ['missing', 'directory', 'garbage'])
def test_unusable_schema_is_reported_once_at_start(conf, tmp_path, caplog,
                                                   kind):
    path, reason = _unusable_schema(tmp_path, kind)
    conf.config(group='scale_ext_libvirt', schema_file=str(path))
    drv = make_driver()
    with mock.patch.object(libvirt_driver.LibvirtDriver,
                           'init_host') as novas, \
            caplog.at_level(logging.DEBUG, logger=driver.__name__):
        drv.init_host('compute1')
        novas.assert_called_once_with('compute1')
        [start] = [r for r in caplog.records if r.levelno >= logging.INFO]
        caplog.clear()
        # Boots afterwards: Nova's XML, no "invalid XML" error, no repeat.
        for _ in range(3):
            nova_xml = domains.domain(pinned=True)
            assert drv._scale_ext_tune(make_instance(), nova_xml) == nova_xml
    assert start.levelno == logging.WARNING
    text = start.getMessage()
    assert f"libvirt's domain schema {path} ([scale_ext_libvirt] " \
        f"schema_file) cannot be used: {reason}" in text
    assert 'libvirt0 on Debian and Ubuntu' in text
    assert 'libvirt-libs on RHEL' in text
    assert ("with on_invalid_xml = fallback, guests boot with Nova's domain "
            "XML, without the tuning") in text
    assert [r.levelno for r in caplog.records] == [logging.DEBUG] * 3
    assert 'does not validate' not in caplog.text


def test_unusable_schema_fails_tuned_boots_in_fail_mode(conf, tmp_path,
                                                        caplog):
    path = tmp_path / 'missing.rng'
    conf.config(group='scale_ext_libvirt', schema_file=str(path),
                on_invalid_xml='fail')
    drv = make_driver()
    with mock.patch.object(libvirt_driver.LibvirtDriver, 'init_host'):
        drv.init_host('compute1')
    [start] = _errors(caplog)
    assert 'with on_invalid_xml = fail, every boot' in start
    caplog.clear()
    for _ in range(2):
        with pytest.raises(driver.ScaleExtSchemaUnavailable) as info:
            drv._scale_ext_tune(make_instance(), domains.domain())
        message = str(info.value)
        assert not isinstance(info.value, driver.ScaleExtInvalidDomainXML)
        assert (f"libvirt's domain schema {path} cannot be loaded (No such "
                f"file or directory)") in message
        assert 'With [scale_ext_libvirt] on_invalid_xml = fail' in message
        assert 'libvirt0 on Debian and Ubuntu' in message
        assert 'does not validate' not in message
    assert _errors(caplog) == []  # reported at start, raised to Nova
    # A flavor that asks for Nova's XML still boots, untuned.
    inst = make_instance({'scale_ext:on_invalid_xml': 'fallback'})
    assert drv._scale_ext_tune(inst, domains.domain()) == domains.domain()


def test_schema_installed_after_start_is_used_without_a_restart(
        conf, tmp_path, caplog):
    conf.config(group='scale_ext_libvirt',
                schema_file=str(tmp_path / 'domain.rng'))
    drv = make_driver()
    with mock.patch.object(libvirt_driver.LibvirtDriver, 'init_host'):
        drv.init_host('compute1')
    nova_xml = domains.domain()
    assert drv._scale_ext_tune(make_instance(), nova_xml) == nova_xml
    domains.write_schema(tmp_path)
    with caplog.at_level(logging.INFO):
        tuned = drv._scale_ext_tune(make_instance(), nova_xml)
    assert tuning.parse(tuned).find('./devices/memballoon').get(
        'freePageReporting') == 'on'
    assert "Tuned the domain XML of this shared guest" in caplog.text


def test_usable_schema_is_named_at_start(conf, any_xml_schema, caplog):
    drv = make_driver()
    with mock.patch.object(libvirt_driver.LibvirtDriver, 'init_host'), \
            caplog.at_level(logging.INFO):
        drv.init_host('compute1')
    path = cfg.CONF.scale_ext_libvirt.schema_file
    assert [r.getMessage() for r in caplog.records] == [
        f"Tuned domain XML is validated against libvirt's schema {path}."]


def test_get_guest_xml_tunes_what_nova_renders(conf, any_xml_schema):
    conf.config(group='compute', cpu_shared_set='0-1',
                cpu_dedicated_set='2-7')
    drv = make_driver()
    inst = make_instance({'hw:cpu_policy': 'dedicated'}, {0: 6, 1: 7})
    with mock.patch.object(libvirt_driver.LibvirtDriver, '_get_guest_xml',
                           return_value=domains.domain(pinned=True)):
        xml = drv._get_guest_xml('ctx', inst, [], {}, None)
    dom = tuning.parse(xml)
    assert dom.find('./cputune/emulatorpin').get('cpuset') == '0-1'
    assert dom.find('./features/kvm/poll-control').get('state') == 'on'


def test_guests_of_isolated_projects_get_no_shared_pages(conf,
                                                         any_xml_schema):
    conf.config(group='scale_ext_isolation', isolated_projects=['bank'])
    drv = make_driver()
    out = {}
    for project in ('bank', 'shop'):
        inst = make_instance()
        inst.project_id = project
        with mock.patch.object(libvirt_driver.LibvirtDriver,
                               '_get_guest_xml',
                               return_value=domains.domain()):
            xml = drv._get_guest_xml('ctx', inst, [], {}, None)
        out[project] = tuning.parse(xml).find('./memoryBacking/nosharepages')
    assert out['bank'] is not None
    assert out['shop'] is None
    # a host marked multi-tenant hardens everyone
    conf.config(group='scale_ext_libvirt', multi_tenant_host=True)
    inst = make_instance()
    inst.project_id = 'shop'
    with mock.patch.object(libvirt_driver.LibvirtDriver, '_get_guest_xml',
                           return_value=domains.domain()):
        xml = drv._get_guest_xml('ctx', inst, [], {}, None)
    assert tuning.parse(xml).find('./memoryBacking/nosharepages') is not None


# -- live migration ----------------------------------------------------------

def _source_domain():
    """A running pinned, hugepage-backed guest tuned on a source host
    whose shared set is 0-1, with two IO threads."""
    xml = domains.domain(pinned=True, hugepages=True).replace(
        '<iothreads>1</iothreads>', '<iothreads>2</iothreads>')
    dom = tuning.parse(xml)
    cpus = tuning.GuestCPUs(pinned=True, all_pinned=True,
                            shared_cpus=frozenset({0, 1}))
    assert tuning.tune_domain(dom, cpus, tuning.TuningPolicy())
    return tuning.to_string(dom)


def _destination_numa_info(conf, flavor, numa):
    """What the destination (shared set 2-3) sends back to the source."""
    conf.config(group='compute', cpu_shared_set='2-3',
                cpu_dedicated_set='4-7')
    dest = make_driver()
    # Nova's value: emulator threads float over the vCPUs' host CPUs.
    novas = objects.LibvirtLiveMigrateNUMAInfo(
        cpu_pins={'0': {4}, '1': {5}}, cell_pins={'0': {0}},
        emulator_pins={4, 5})
    with mock.patch.object(libvirt_driver.LibvirtDriver,
                           '_get_live_migrate_numa_info',
                           return_value=novas):
        return dest._get_live_migrate_numa_info(numa, flavor, None)


def test_destination_sends_its_shared_set_for_emulator_threads(conf):
    inst = make_instance({'hw:cpu_policy': 'dedicated'}, {0: 4, 1: 5})
    info = _destination_numa_info(conf, inst.flavor, inst.numa_topology)
    assert info.emulator_pins == {2, 3}
    assert info.cpu_pins == {'0': {4}, '1': {5}}  # Nova's, untouched


def test_destination_keeps_novas_pins_when_the_flavor_opts_out(conf):
    inst = make_instance({'hw:cpu_policy': 'dedicated',
                          'scale_ext:emulator_threads_on_shared_set': '0'},
                         {0: 4, 1: 5})
    info = _destination_numa_info(conf, inst.flavor, inst.numa_topology)
    assert info.emulator_pins == {4, 5}


def _migrate(conf):
    """Live-migrate a pinned, hugepage-backed guest through the source's
    shim; the XML libvirt receives."""
    inst = make_instance({'hw:cpu_policy': 'dedicated',
                          'hw:mem_page_size': 'large'}, {0: 6, 1: 7})
    info = _destination_numa_info(conf, inst.flavor, inst.numa_topology)
    migrate_data = objects.LibvirtLiveMigrateData(dst_numa_info=info)
    source = _source_domain()

    guest = mock.Mock(spec=libvirt_guest.Guest)

    def novas_operation(self, context, instance, dest, block_migration,
                        migrate_data, guest, device_names):
        # What Nova does: rewrite the running XML for the destination, then
        # hand it to libvirt with the migrate call.
        new_xml = etree.tostring(migration._update_numa_xml(
            etree.fromstring(source), migrate_data), encoding='unicode')
        guest.migrate('qemu+tcp://dest/system', destination_xml=new_xml,
                      flags=0)

    src = make_driver()  # the source's own shared set does not matter
    with mock.patch.object(libvirt_driver.LibvirtDriver,
                           '_live_migration_operation', novas_operation):
        src._live_migration_operation('ctx', inst, 'dest', False,
                                      migrate_data, guest, [])
    assert guest.migrate.call_args.args == ('qemu+tcp://dest/system',)
    return tuning.parse(guest.migrate.call_args.kwargs['destination_xml'])


def test_live_migration_xml_keeps_the_tuning(conf, any_xml_schema):
    sent = _migrate(conf)
    # Nova's pinning for the destination...
    assert [p.get('cpuset') for p in sent.findall('./cputune/vcpupin')] == \
        ['4', '5']
    # ...emulator and every IO thread on the destination's shared set...
    assert sent.find('./cputune/emulatorpin').get('cpuset') == '2-3'
    assert {p.get('iothread'): p.get('cpuset')
            for p in sent.findall('./cputune/iothreadpin')} == \
        {'1': '2-3', '2': '2-3'}
    # ...and the guest-visible tunings as the running guest has them.
    assert sent.find('./memoryBacking/nosharepages') is not None
    assert sent.find('./devices/memballoon').get('model') == 'none'
    assert sent.find('./features/kvm/hint-dedicated').get('state') == 'on'
    assert sent.find('./devices/disk/driver').get('iothread') == '1'


def test_live_migration_xml_is_valid_for_libvirt(conf, libvirt_schema):
    conf.config(group='scale_ext_libvirt', schema_file=libvirt_schema.path,
                on_invalid_xml='fail')
    sent = _migrate(conf)
    assert sent.find('./cputune/emulatorpin').get('cpuset') == '2-3'
    assert libvirt_schema.problems(sent) == []


def test_migration_retune_restores_nosharepages():
    xml = domains.domain(pinned=True, hugepages=True)
    dom = tuning.parse(xml)
    cpus = tuning.GuestCPUs(pinned=True, all_pinned=True)
    changes = tuning.tune_migration_domain(dom, cpus, tuning.TuningPolicy())
    assert 'memoryBacking/nosharepages' in changes
    assert dom.find('./devices/memballoon').get('model') == 'virtio'


# -- hugepage accounting -----------------------------------------------------

def test_hugepage_pool_kib_counts_only_huge_pages():
    pools = [(4, 4000000), (2048, 512), (1048576, 2), (2048, 0)]
    assert tuning.hugepage_pool_kib(pools) == 2048 * 512 + 1048576 * 2


@pytest.mark.parametrize('pool_kib, held_kib, reserve_mb', [
    (2048 * 1024, 0, 2048),          # nothing held: the whole pool
    (2048 * 1024, 1024 * 1024, 1024),  # held by Nova guests: not twice
    (2048 * 1024, 4096 * 1024, 0),   # more held than the pool: nothing
    (2048 * 3 + 1, 0, 7),            # rounded up to whole MiB
    (0, 0, 0),
])
def test_hugepage_reservation_mb(pool_kib, held_kib, reserve_mb):
    assert tuning.hugepage_reservation_mb(pool_kib, held_kib) == reserve_mb


def test_domain_hugepage_kib_counts_nova_hugepage_guests_only():
    huge = domains.domain(hugepages=True, memory_kib=1048576)
    assert tuning.domain_hugepage_kib(tuning.parse(huge)) == 1048576
    assert tuning.domain_hugepage_kib(tuning.parse(
        huge.replace('<memory>1048576</memory>',
                     '<memory unit="GiB">2</memory>'))) == 2 * 1048576
    foreign = domains.domain(hugepages=True, nova=False)
    assert tuning.domain_hugepage_kib(tuning.parse(foreign)) == 0
    assert tuning.domain_hugepage_kib(tuning.parse(foreign),
                                      nova_only=False) == 1048576
    assert tuning.domain_hugepage_kib(tuning.parse(domains.domain())) == 0


def _host_with_pools(drv, pools, guests):
    cell = types.SimpleNamespace(mempages=[
        types.SimpleNamespace(size=size, total=total)
        for size, total in pools])
    caps = types.SimpleNamespace(host=types.SimpleNamespace(
        topology=types.SimpleNamespace(cells=[cell])))
    drv._host.get_capabilities.return_value = caps
    drv._host.list_guests.return_value = [
        mock.Mock(uuid=str(i), **{'get_xml_desc.return_value': xml})
        for i, xml in enumerate(guests)]


def _update_provider_tree(drv, memory):
    tree = provider_tree.ProviderTree()
    tree.new_root('node1', UUID)

    def novas(self, provider_tree, nodename, allocations=None):
        provider_tree.update_inventory(nodename, {
            orc.VCPU: {'total': 8, 'reserved': 0},
            orc.MEMORY_MB: dict(memory)})

    with mock.patch.object(libvirt_driver.LibvirtDriver,
                           'update_provider_tree', novas):
        drv.update_provider_tree(tree, 'node1')
    return tree.data('node1').inventory


POOLS = [(4, 3 * 1024 * 256), (2048, 1024)]  # 3 GiB small, 2 GiB huge
MEMORY = {'total': 5120, 'reserved': 512, 'min_unit': 1, 'max_unit': 5120,
          'step_size': 1, 'allocation_ratio': 1.5}


def test_update_provider_tree_reserves_the_free_hugepage_pool(conf, caplog):
    drv = make_driver()
    _host_with_pools(drv, POOLS, [
        domains.domain(hugepages=True, memory_kib=1024 * 1024),  # Nova's
        domains.domain(hugepages=True, nova=False),  # not Nova's: reserved
        domains.domain(),  # small pages
    ])
    with caplog.at_level(logging.INFO):
        inventory = _update_provider_tree(drv, MEMORY)
    # 512 configured + 2048 pool - 1024 held by the Nova guest
    assert inventory[orc.MEMORY_MB]['reserved'] == 512 + 1024
    assert inventory[orc.MEMORY_MB]['total'] == 5120
    assert inventory[orc.VCPU]['reserved'] == 0
    assert 'Reserving 1024 MiB of MEMORY_MB on node1' in caplog.text


def test_update_provider_tree_reservation_is_capped_at_total(conf):
    drv = make_driver()
    _host_with_pools(drv, [(4, 1024), (2048, 4096)], [])
    inventory = _update_provider_tree(drv, MEMORY)
    assert inventory[orc.MEMORY_MB]['reserved'] == 5120


@pytest.mark.parametrize('flags', [
    {'group': 'scale_ext_libvirt', 'reserve_hugepage_memory': False},
    {'group': 'libvirt', 'file_backed_memory': 4096},
])
def test_update_provider_tree_leaves_memory_when_off(conf, flags):
    conf.config(**flags)
    drv = make_driver()
    _host_with_pools(drv, POOLS, [])
    inventory = _update_provider_tree(drv, MEMORY)
    assert inventory[orc.MEMORY_MB]['reserved'] == 512


def test_update_provider_tree_without_hugepages_changes_nothing(conf):
    drv = make_driver()
    _host_with_pools(drv, [(4, 5 * 1024 * 256)], [])
    inventory = _update_provider_tree(drv, MEMORY)
    assert inventory[orc.MEMORY_MB] == {**MEMORY}


def test_our_hooks_take_the_parameters_of_the_installed_novas():
    """Each method of Nova's driver that the shim overrides has, in the
    Nova installed, the parameters the shim is written for."""
    driver.check_nova_signatures()
    for name in driver.HOOKS:
        ours = getattr(driver.ScaleExtLibvirtDriver, name)
        assert ours is not getattr(libvirt_driver.LibvirtDriver, name)


def test_a_nova_that_changed_a_hook_stops_the_driver_with_a_clear_error():
    """A Nova whose ``_get_guest_xml`` takes a new parameter: the driver
    refuses to start, naming the method and both signatures, and says what
    to do instead."""
    def changed(self, context, instance, network_info, disk_info,
                image_meta, rescue=None, block_device_info=None, mdevs=None,
                accel_info=None, share_info=None, old_guest=None,
                new_thing=None):
        raise AssertionError('not called')

    with mock.patch.object(libvirt_driver.LibvirtDriver, '_get_guest_xml',
                           changed):
        with pytest.raises(driver.ScaleExtUnsupportedNova) as info:
            driver.ScaleExtLibvirtDriver(mock.Mock())
    text = str(info.value)
    assert 'LibvirtDriver._get_guest_xml(' in text
    assert 'new_thing=None' in text
    assert 'compute_driver = libvirt.LibvirtDriver' in text
    assert '_live_migration_operation' not in text
