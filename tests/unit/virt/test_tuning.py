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
"""Tuning policies on domain XML, and the schema check of the result."""

import pytest
from nova import objects
from nova.objects import fields

from nova_scale_ext.virt import driver, schema, tuning
from tests.unit.virt import domains

POLICY = tuning.TuningPolicy()
SHARED = frozenset({0, 1})
PINNED = tuning.GuestCPUs(pinned=True, all_pinned=True, shared_cpus=SHARED)
MIXED = tuning.GuestCPUs(pinned=True, all_pinned=False, shared_cpus=SHARED)
FLOATING = tuning.GuestCPUs(shared_cpus=SHARED)


def tuned(xml, cpus, policy=POLICY):
    dom = tuning.parse(xml)
    changes = tuning.tune_domain(dom, cpus, policy)
    return dom, changes


# -- pinned guests -----------------------------------------------------------

def test_pinned_guest_threads_move_to_the_shared_set_vcpus_stay():
    dom, changes = tuned(domains.domain(pinned=True), PINNED)
    assert dom.find('./cputune/emulatorpin').get('cpuset') == '0-1'
    assert dom.find('./cputune/iothreadpin').get('cpuset') == '0-1'
    assert [(p.get('vcpu'), p.get('cpuset'))
            for p in dom.findall('./cputune/vcpupin')] == [('0', '6'),
                                                          ('1', '7')]
    assert 'cputune/emulatorpin cpuset=0-1' in changes


def test_pinned_guest_iothread_serves_virtio_disks_and_scsi_only():
    dom, _ = tuned(domains.domain(pinned=True), PINNED)
    drivers = {d.find('./target').get('dev'): d.find('./driver')
               for d in dom.findall('./devices/disk')}
    assert drivers['vda'].get('iothread') == '1'
    assert drivers['hda'].get('iothread') is None  # IDE cdrom
    scsi = dom.find('./devices/controller[@type="scsi"]/driver')
    assert scsi.get('iothread') == '1'


def test_pinned_guest_without_iothreads_gets_one():
    xml = domains.domain(pinned=True).replace(
        '<iothreads>1</iothreads>', '')
    dom, changes = tuned(xml, PINNED)
    assert dom.findtext('./iothreads') == '1'
    assert 'iothreads=1' in changes
    assert dom.find('./cputune/iothreadpin[@iothread="1"]').get(
        'cpuset') == '0-1'


def test_dedicated_kvm_guest_halt_polls():
    dom, _ = tuned(domains.domain(pinned=True), PINNED)
    for name in ('hint-dedicated', 'poll-control'):
        assert dom.find(f'./features/kvm/{name}').get('state') == 'on'


@pytest.mark.parametrize('virt_type, cpus', [
    ('kvm', MIXED),      # some vCPUs float: no polling on shared CPUs
    ('qemu', PINNED),    # TCG has no KVM features
])
def test_no_halt_polling_unless_all_pinned_on_kvm(virt_type, cpus):
    dom, _ = tuned(domains.domain(virt_type, pinned=True), cpus)
    assert dom.find('./features/kvm') is None


def test_isolated_emulator_threads_are_left_to_nova():
    cpus = tuning.GuestCPUs(pinned=True, all_pinned=True,
                            emulator_isolated=True, shared_cpus=SHARED)
    dom, _ = tuned(domains.domain(pinned=True), cpus)
    assert dom.find('./cputune/emulatorpin').get('cpuset') == '6-7'


def test_no_shared_set_leaves_emulator_pinning_to_nova():
    cpus = tuning.GuestCPUs(pinned=True, all_pinned=True)
    dom, _ = tuned(domains.domain(pinned=True), cpus)
    assert dom.find('./cputune/emulatorpin').get('cpuset') == '6-7'


# -- hugepage-backed guests --------------------------------------------------

def test_hugepage_guest_has_no_ksm_and_no_balloon():
    dom, changes = tuned(domains.domain(hugepages=True), FLOATING)
    backing = dom.find('./memoryBacking')
    assert [e.tag for e in backing] == ['hugepages', 'nosharepages']
    balloons = dom.findall('./devices/memballoon')
    assert len(balloons) == 1
    assert dict(balloons[0].attrib) == {'model': 'none'}
    assert len(balloons[0]) == 0  # stats gone with the device
    assert changes == ['memoryBacking/nosharepages',
                       'devices/memballoon model=none']
    # A shared guest with huge pages gets no free page reporting.
    assert balloons[0].get('freePageReporting') is None


def test_flavor_can_keep_the_balloon_of_a_hugepage_guest():
    policy = tuning.TuningPolicy(hugepage_no_balloon=False)
    dom, _ = tuned(domains.domain(hugepages=True), FLOATING, policy)
    assert dom.find('./devices/memballoon').get('model') == 'virtio'
    assert dom.find('./memoryBacking/nosharepages') is not None


# -- shared guests -----------------------------------------------------------

def test_shared_guest_balloon_reports_free_pages():
    dom, changes = tuned(domains.domain(), FLOATING)
    balloon = dom.find('./devices/memballoon')
    assert balloon.get('model') == 'virtio'
    assert balloon.get('freePageReporting') == 'on'
    assert balloon.find('./stats').get('period') == '10'  # kept
    assert changes == ['devices/memballoon freePageReporting=on']


def test_shared_guest_without_balloon_gets_one():
    xml = domains.domain().replace(
        '<memballoon model="virtio">\n      <stats period="10"/>\n'
        '    </memballoon>', '<memballoon model="none"/>')
    dom, _ = tuned(xml, FLOATING)
    balloons = dom.findall('./devices/memballoon')
    assert [(b.get('model'), b.get('freePageReporting'))
            for b in balloons] == [('virtio', 'on')]


def test_policy_off_changes_nothing():
    off = tuning.TuningPolicy(**{f: False for f in tuning.POLICY_FIELDS
                           if f != 'on_invalid_xml'})
    for xml, cpus in ((domains.domain(pinned=True, hugepages=True), PINNED),
                      (domains.domain(), FLOATING)):
        before = tuning.to_string(tuning.parse(xml))
        dom, changes = tuned(xml, cpus, off)
        assert changes == []
        assert tuning.to_string(dom) == before


@pytest.mark.parametrize('hugepages, pinned, cpus', [
    (False, True, PINNED), (True, False, FLOATING), (True, True, PINNED),
    (False, False, FLOATING)])
def test_tuning_is_idempotent(hugepages, pinned, cpus):
    dom, first = tuned(domains.domain(hugepages=hugepages, pinned=pinned),
                       cpus)
    assert first
    assert tuning.tune_domain(dom, cpus, POLICY) == []


@pytest.mark.parametrize('virt_type', ['kvm', 'qemu'])
@pytest.mark.parametrize('hugepages, pinned, cpus', [
    (False, True, PINNED), (False, True, MIXED), (True, False, FLOATING),
    (True, True, PINNED), (False, False, FLOATING)])
def test_tuned_domains_validate(libvirt_schema, virt_type, hugepages, pinned,
                                cpus):
    xml = domains.domain(virt_type, hugepages=hugepages, pinned=pinned)
    assert libvirt_schema.problems(xml) == []  # the input is valid...
    dom, _ = tuned(xml, cpus)
    assert libvirt_schema.problems(dom) == []  # ...and so is the output


def test_guest_class():
    assert tuning.guest_class(tuning.parse(domains.domain()),
                              FLOATING) == 'shared'
    assert tuning.guest_class(
        tuning.parse(domains.domain(hugepages=True)),
        PINNED) == 'pinned+hugepages'


@pytest.mark.parametrize('cpus, text', [
    ({0, 1, 2, 5}, '0-2,5'), ({3}, '3'), ({7, 1, 2, 3, 9, 10}, '1-3,7,9-10'),
    (set(), '')])
def test_format_cpus(cpus, text):
    assert tuning.format_cpus(cpus) == text


# -- the guest's CPUs from Nova's NUMA topology ------------------------------

def _numa(*cells, **kw):
    return objects.InstanceNUMATopology(cells=list(cells), **kw)


def _cell(policy, pinning=None, **kw):
    cell = objects.InstanceNUMACell(
        id=0, cpuset=set(), pcpuset={0, 1}, memory=1024, cpu_policy=policy,
        **kw)
    if pinning:
        cell.cpu_pinning = pinning
    return cell


def test_guest_cpus_from_nova_topology():
    assert driver.guest_cpus(None) == tuning.GuestCPUs()
    dedicated = driver.guest_cpus(
        _numa(_cell(fields.CPUAllocationPolicy.DEDICATED, {0: 6, 1: 7})),
        SHARED)
    assert dedicated == PINNED
    mixed = driver.guest_cpus(
        _numa(_cell(fields.CPUAllocationPolicy.MIXED, {0: 6})), SHARED)
    assert (mixed.pinned, mixed.all_pinned) == (True, False)
    isolated = driver.guest_cpus(_numa(
        _cell(fields.CPUAllocationPolicy.DEDICATED, {0: 6, 1: 7},
              cpuset_reserved={5}),
        emulator_threads_policy=fields.CPUEmulatorThreadsPolicy.ISOLATE))
    assert isolated.emulator_isolated
    shared = driver.guest_cpus(
        _numa(_cell(fields.CPUAllocationPolicy.SHARED)))
    assert not shared.pinned


# -- schema validation -------------------------------------------------------

def test_schema_names_an_unknown_element(libvirt_schema):
    xml = domains.domain().replace('<serial type="pty"/>',
                                   '<serial type="pty"/><turbo mode="on"/>')
    problems = libvirt_schema.problems(xml)
    assert problems
    assert problems[0].element == '/domain/devices/turbo'
    assert 'turbo mode="on"' in problems[0].message
    assert problems[0].line > 0
    assert '/domain/devices/turbo' in schema.describe(problems)


def test_schema_names_a_bad_attribute_value(libvirt_schema):
    dom, _ = tuned(domains.domain(), FLOATING)
    dom.find('./devices/memballoon').set('freePageReporting', 'sometimes')
    problems = libvirt_schema.problems(dom)
    assert problems[0].element == '/domain/devices/memballoon'
    assert 'freePageReporting="sometimes"' in problems[0].message


def test_schema_refuses_a_misplaced_element(libvirt_schema):
    dom = tuning.parse(domains.domain())
    dom.find('./devices').append(tuning.parse('<nosharepages/>'))
    problems = libvirt_schema.problems(dom)
    assert problems[0].element == '/domain/devices/nosharepages'


def test_schema_reports_malformed_xml():
    problems = schema.DomainSchema('/nonexistent.rng').problems(
        '<domain><devices></domain>')
    assert len(problems) == 1
    assert problems[0].element == '/'
    assert 'not well-formed' in problems[0].message


def test_missing_schema_is_an_error_not_a_pass(tmp_path):
    missing = tmp_path / 'domain.rng'
    with pytest.raises(schema.SchemaUnavailable, match=str(missing)):
        schema.DomainSchema(str(missing)).problems(domains.domain())


@pytest.mark.parametrize('name, content, reason', [
    ('missing.rng', None, 'No such file or directory'),
    ('a-directory', 'dir', 'Is a directory'),
    ('garbage.rng', 'not XML <<', 'not well-formed XML'),
    ('foo.rng', '<foo/>', 'not a usable Relax-NG schema'),
])
def test_unusable_schema_says_why(tmp_path, name, content, reason):
    path = tmp_path / name
    if content == 'dir':
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    with pytest.raises(schema.SchemaUnavailable) as info:
        schema.DomainSchema(str(path)).load()
    assert info.value.path == str(path)
    assert info.value.reason.startswith(reason)
    assert str(path) in str(info.value)


def test_schema_installed_later_is_picked_up(tmp_path):
    sch = schema.DomainSchema(str(tmp_path / 'domain.rng'))
    with pytest.raises(schema.SchemaUnavailable):
        sch.load()
    domains.write_schema(tmp_path, domains.NO_TURBO_RNG)
    assert sch.problems(domains.domain()) == []


def test_describe_limits_the_list():
    problems = [schema.Problem(f'/domain/e{i}', i, 'bad') for i in range(5)]
    text = schema.describe(problems, limit=2)
    assert text == ('/domain/e0 (line 0): bad; /domain/e1 (line 1): bad; '
                    'and 3 more')


# -- hardened guests (isolated projects, multi-tenant hosts) ----------------

def test_a_hardened_guest_is_kept_out_of_ksm_whatever_it_is():
    for xml, cpus in ((domains.domain(), FLOATING),
                      (domains.domain(pinned=True), PINNED),
                      (domains.domain(hugepages=True), FLOATING)):
        dom = tuning.parse(xml)
        changes = tuning.tune_domain(dom, cpus, POLICY, harden=True)
        assert dom.findall('./memoryBacking/nosharepages') != []
        assert len(dom.findall('./memoryBacking/nosharepages')) == 1
        assert changes.count('memoryBacking/nosharepages') == 1
        # and on the destination of a live migration
        dom = tuning.parse(xml)
        changes = tuning.tune_migration_domain(dom, cpus, POLICY,
                                               harden=True)
        assert changes.count('memoryBacking/nosharepages') == 1
    # not hardened: a shared guest keeps KSM
    dom, _ = tuned(domains.domain(), FLOATING)
    assert dom.find('./memoryBacking/nosharepages') is None
