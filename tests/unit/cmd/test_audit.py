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
"""``nova-scale-ext audit`` on :mod:`tests.unit.fake_openstack` and on
snapshots."""

import json
import subprocess
import sys

import pytest

from nova_scale_ext import audit, model
from nova_scale_ext.cmd import audit as cmd
from nova_scale_ext.cmd import main
from nova_scale_ext.core import isolation
from tests.unit.fake_openstack import Compute, FakeCloud, connector

GIB = 1024


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / 'nova.conf'
    path.write_text('[scale_ext_isolation]\nisolated_projects = bank\n'
                    'isolation_groups = lab:physics,chemistry\n')
    return str(path)


def make_cloud():
    fake = FakeCloud(polls=1)
    for name in ('a', 'b', 'c', 'd'):
        fake.add_host(name, vcpus=16, memory_mb=32 * GIB)
    fake.add_flavor('small', 2, 4 * GIB)
    fake.boot('bank1', 'a', 'small', project='bank')
    fake.boot('bank2', 'a', 'small', project='bank')
    fake.boot('phys', 'b', 'small', project='physics')
    fake.boot('chem', 'b', 'small', project='chemistry')
    fake.boot('shop', 'c', 'small', project='shop')
    fake.boot('blog', 'c', 'small', project='blog')
    return fake


def run(fake, *argv):
    args = main.build_parser().parse_args(['audit', '--os-cloud', 'fake',
                                           *argv])
    return cmd.run(args, connect=connector(fake))


def test_a_clean_cloud_says_so_and_exits_0(policy_file, capsys):
    fake = make_cloud()
    assert run(fake, '--config-file', policy_file) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == (
        'CLEAN; 2 isolated group(s), 4 isolated instance(s); 2 host(s) '
        'shared by several projects; guest hardening not checked (no '
        '--libvirt-uri)')
    assert 'group bank: 2 instance(s) on 1 host(s): a (vCPU 25%, memory ' \
        '25%)' in out
    assert 'group lab: 2 instance(s) on 1 host(s): b' in out


def test_a_violation_is_reported_with_how_it_got_there(policy_file,
                                                       capsys):
    fake = make_cloud()
    # an admin moves the shop's server next to the bank's
    sid = fake.id_of('shop')
    fake.live_migrate(sid, 'a', False)
    Compute(fake).get_server(sid)           # the migration completes
    assert fake.host_of('shop') == 'a'
    assert run(fake, '--config-file', policy_file, '--json') == 3
    data = json.loads(capsys.readouterr().out)
    assert not data['clean']
    (v,) = data['violations']
    assert v['host'] == 'a'
    assert v['groups'] == ['*shared*', 'bank']
    moved = next(i for i in v['instances'] if i['id'] == sid)
    assert moved['arrived'].startswith('live-migration from c to a at ')
    booted = next(i for i in v['instances'] if i['project'] == 'bank')
    assert booted['arrived'] == 'no migration record: booted there'
    assert data['summary'].startswith('VIOLATION: 1 host(s)')
    # text: the violation first, the summary last
    assert run(fake, '--config-file', policy_file) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == 'VIOLATION on a: groups *shared*, bank'
    assert lines[-1].startswith('VIOLATION')
    # fixed: moved back, clean again
    fake.live_migrate(sid, 'c', False)
    Compute(fake).get_server(sid)
    assert run(fake, '--config-file', policy_file) == 0


def test_no_policy_is_clean_and_says_nothing_is_isolated(tmp_path, capsys):
    empty = tmp_path / 'nova.conf'
    empty.write_text('[DEFAULT]\n')
    assert run(make_cloud(), '--config-file', str(empty)) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        'CLEAN: no project is isolated')


@pytest.mark.parametrize('text, message', [
    ('[scale_ext_isolation]\nisolation_groups = lab\n', 'expected NAME:'),
    ('[scale_ext_isolation]\nisolated_projects = bank\n'
     'isolation_groups = x:bank\n', 'already in isolation group'),
    ('[scale_ext_isolation\n', 'nova.conf'),
])
def test_a_policy_that_cannot_be_read_is_exit_2(tmp_path, capsys, text,
                                                message):
    path = tmp_path / 'nova.conf'
    path.write_text(text)
    assert run(make_cloud(), '--config-file', str(path)) == 2
    err = capsys.readouterr().err
    assert 'the isolation policy cannot be read' in err
    assert message in err


def test_missing_config_file_and_unreachable_cloud(tmp_path, policy_file,
                                                   capsys):
    assert run(make_cloud(), '--config-file',
               str(tmp_path / 'absent.conf')) == 2
    assert 'absent.conf: no such file' in capsys.readouterr().err
    fake = make_cloud()
    fake.unreachable = True
    assert run(fake, '--config-file', policy_file) == 1
    assert "cloud 'fake'" in capsys.readouterr().err


def test_a_snapshot_is_audited_the_same_way(tmp_path, policy_file):
    snap = model.Snapshot(
        hosts=(model.Host('h1', {'VCPU': 8, 'MEMORY_MB': 8192}),
               model.Host('h2', {'VCPU': 8, 'MEMORY_MB': 8192})),
        instances=(
            model.Instance('i1', 'h1', {'VCPU': 2, 'MEMORY_MB': 2048},
                           project='bank'),
            model.Instance('i2', 'h1', {'VCPU': 2, 'MEMORY_MB': 2048},
                           project='shop'),
            model.Instance('i3', 'h2', {'VCPU': 4, 'MEMORY_MB': 4096},
                           project='shop')))
    path = tmp_path / 'snap.json'
    path.write_text(snap.dumps())
    res = subprocess.run(
        [sys.executable, '-m', 'nova_scale_ext.cmd.main', 'audit',
         '--snapshot', str(path), '--config-file', policy_file],
        capture_output=True, text=True, timeout=120)
    assert res.returncode == 3, res.stderr
    assert res.stdout.splitlines()[0] == 'VIOLATION on h1: groups ' \
        '*shared*, bank'
    assert 'Traceback' not in res.stderr


def test_the_report_of_a_policy_that_isolates_everyone():
    snap = model.Snapshot(
        hosts=(model.Host('h1', {'VCPU': 8, 'MEMORY_MB': 8192}),),
        instances=(model.Instance('i1', 'h1', {'VCPU': 1}, project='x'),
                   model.Instance('i2', 'h1', {'VCPU': 1}, project='y')))
    assert not audit.report(snap, isolation.EVERYONE)['clean']
    assert audit.report(snap, isolation.Policy())['clean']


# --- guest hardening --------------------------------------------------------

DOMAIN = """<domain type='test'><name>{name}</name><uuid>{uuid}</uuid>
<memory>8192</memory><vcpu>1</vcpu>{backing}<os><type>hvm</type></os>
</domain>"""
HARDENED = '<memoryBacking><nosharepages/></memoryBacking>'


def test_which_guests_should_be_hardened():
    snap = model.Snapshot(
        hosts=tuple(model.Host(h, {'VCPU': 8}) for h in 'abc'),
        instances=(
            model.Instance('i1', 'a', {'VCPU': 1}, project='bank'),
            model.Instance('i2', 'b', {'VCPU': 1}, project='shop'),
            model.Instance('i3', 'b', {'VCPU': 1}, project='blog'),
            model.Instance('i4', 'c', {'VCPU': 1}, project='shop'),
            model.Instance('i5', 'c', {'VCPU': 1}, project='shop')))
    pol = isolation.Policy.from_options(['bank'], [])
    wanted = {h: [(i.id, why) for i, why in g]
              for h, g in audit.to_harden(snap, pol).items()}
    # c holds one project that is not isolated: nothing to harden there
    assert wanted == {
        'a': [('i1', 'of isolated group bank')],
        'b': [('i2', 'on a host shared by 2 projects'),
              ('i3', 'on a host shared by 2 projects')]}


@pytest.mark.parametrize('xml, hardened', [
    (DOMAIN.format(name='x', uuid='1', backing=HARDENED), True),
    (DOMAIN.format(name='x', uuid='1', backing=''), False),
    # hugepages alone do not stop merging of the guest's other pages
    (DOMAIN.format(name='x', uuid='1', backing='<memoryBacking><hugepages/>'
                   '</memoryBacking>'), False),
    # nosharepages somewhere else is not the setting
    (DOMAIN.format(name='x', uuid='1', backing='<metadata><nosharepages/>'
                   '</metadata>'), False),
])
def test_hardened_xml(xml, hardened):
    assert audit.hardened_xml(xml) is hardened


@pytest.mark.parametrize('xml', ['', '<domain>', 'not xml at all'])
def test_hardened_xml_refuses_what_is_not_xml(xml):
    with pytest.raises(ValueError, match='domain XML cannot be read'):
        audit.hardened_xml(xml)


def test_hardened_xml_does_not_expand_entities():
    bomb = ('<!DOCTYPE d [<!ENTITY a "<nosharepages/>">]>'
            '<domain><memoryBacking>&a;</memoryBacking></domain>')
    assert audit.hardened_xml(bomb) is False


def _uuid(n):
    return f'{n:08x}-0001-0000-0000-000000000000'


@pytest.fixture
def libvirt_module():
    try:
        import libvirt
    except ImportError:
        pytest.skip('libvirt-python is not installed (tools/setup-venv.sh '
                    'test builds it with libvirt-dev and pkg-config)')
    return libvirt


def hardening_cloud(tmp_path):
    """Hosts a (bank, hardened), c (shop hardened, blog not: a libvirt
    node file each, libvirt's test driver), d (shop + blog, no libvirt
    answers) and v (not libvirt)."""
    fake = FakeCloud(polls=1)
    for name in 'acd':
        fake.add_host(name, vcpus=16, memory_mb=32 * GIB)
    fake.add_host('v', vcpus=16, memory_mb=32 * GIB,
                  hypervisor_type='VMware vCenter Server')
    fake.add_flavor('small', 2, 4 * GIB)
    ids = {}
    for name, host, project in (
            ('b0000001', 'a', 'bank'), ('c0000001', 'c', 'shop'),
            ('c0000002', 'c', 'blog'), ('d0000001', 'd', 'shop'),
            ('d0000002', 'd', 'blog'), ('e0000001', 'v', 'shop'),
            ('e0000002', 'v', 'blog')):
        ids[name] = fake.boot(name, host, 'small', project=project)
    for host, hardened in (('a', ['b0000001']),
                           ('c', ['c0000001'])):
        domains = ''.join(
            DOMAIN.format(name=n, uuid=sid, backing=HARDENED
                          if n in hardened else '')
            for n, sid in ids.items() if fake.host_of(n) == host)
        (tmp_path / f'{host}.xml').write_text(f'<node>{domains}</node>')
    return fake, ids


def test_unhardened_guests_found_through_libvirt(tmp_path, policy_file,
                                                 libvirt_module, capsys):
    fake, ids = hardening_cloud(tmp_path)
    uri = f'test://{tmp_path}/{{host}}.xml'
    assert run(fake, '--config-file', policy_file, '--libvirt-uri', uri,
               '--json') == 3
    captured = capsys.readouterr()
    assert captured.err == ''        # libvirt's own printing kept off
    data = json.loads(captured.out)
    hardening = data['hardening']
    assert hardening['checked'] and hardening['hardened'] == 2
    assert [(g['id'], g['host'], g['project'], g['why'])
            for g in hardening['unhardened']] == [
        (ids['c0000002'], 'c', 'blog', 'on a host shared by 2 projects')]
    unchecked = {g['id']: g['reason'] for g in hardening['unchecked']}
    assert set(unchecked) == {ids[n] for n in ('d0000001', 'd0000002',
                                               'e0000001', 'e0000002')}
    assert unchecked[ids['d0000001']].startswith(
        f'libvirt at test://{tmp_path}/d.xml: ')
    assert unchecked[ids['e0000001']] == ('hypervisor type VMware vCenter '
                                          'Server: not a libvirt host')
    assert not data['violations'] and not data['clean']
    assert data['summary'] == (
        'UNHARDENED: 1 guest(s) that share a host or belong to an isolated '
        'group without <nosharepages/>; 2 isolated group(s), 1 isolated '
        "instance(s); 3 host(s) shared by several projects; 2 of 3 "
        'guest(s) hardened, 4 not checked')
    # text: each finding on its line
    assert run(fake, '--config-file', policy_file, '--libvirt-uri',
               uri) == 3
    out = capsys.readouterr().out.splitlines()
    assert f'UNHARDENED {ids["c0000002"]} on c: project blog, on a host ' \
        'shared by 2 projects: no <nosharepages/>' in out
    # a guest whose domain is gone is not checked, not called hardened
    (tmp_path / 'c.xml').write_text('<node></node>')
    assert run(fake, '--config-file', policy_file, '--libvirt-uri', uri,
               '--json') == 0
    data = json.loads(capsys.readouterr().out)
    assert data['hardening']['hardened'] == 1
    assert 'Domain not found' in ' '.join(
        g['reason'] for g in data['hardening']['unchecked'])


def test_a_uri_libvirt_cannot_open_is_a_reason_not_a_traceback(
        libvirt_module):
    sid = _uuid(1)
    for uri in ('not a uri', 'qemu:///nowhere', 'a\x00b', 'x' * 100000):
        (reason,) = cmd.read_guests(uri, [sid], libvirt_module).values()
        assert isinstance(reason, str) and reason.startswith('libvirt at ')


def test_libvirt_uri_refusals(tmp_path, policy_file, capsys):
    snap = tmp_path / 'snap.json'
    snap.write_text(model.Snapshot(hosts=(), instances=()).dumps())
    args = main.build_parser().parse_args(
        ['audit', '--snapshot', str(snap), '--libvirt-uri', 'qemu:///system',
         '--config-file', policy_file])
    assert cmd.run(args) == 2
    assert 'cannot go with --snapshot' in capsys.readouterr().err
    assert run(make_cloud(), '--libvirt-uri', ' ') == 2
    assert '--libvirt-uri is empty' in capsys.readouterr().err
    assert run(make_cloud(), '--libvirt-uri', 'qemu+ssh://{host}\x00/x') == 2
    assert 'has control characters' in capsys.readouterr().err
    args = main.build_parser().parse_args(
        ['audit', '--os-cloud', 'fake', '--libvirt-uri', 'qemu:///system',
         '--config-file', policy_file])
    import builtins
    real_import = builtins.__import__

    def no_libvirt(name, *a, **kw):
        if name == 'libvirt':
            raise ImportError(name)
        return real_import(name, *a, **kw)
    builtins.__import__ = no_libvirt
    try:
        assert cmd.run(args, connect=connector(make_cloud())) == 2
    finally:
        builtins.__import__ = real_import
    assert 'needs libvirt-python' in capsys.readouterr().err
