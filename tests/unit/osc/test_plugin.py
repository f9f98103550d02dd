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
"""The OpenStackClient plugin: found by ``openstack`` through its entry
points, its commands run by OpenStackClient's own shell (a real cloud's
run is in tests/e2e/test_capacity.py)."""

import argparse
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata

import pytest

from nova_scale_ext.cmd import audit, capacity, snapshot
from nova_scale_ext.osc import plugin

OPENSTACK = shutil.which('openstack', path=os.path.dirname(sys.executable))


def entry_points(group):
    return {ep.name: ep for ep in metadata.entry_points(group=group)
            if ep.value.startswith('nova_scale_ext.')}


def test_the_plugin_and_its_commands_are_registered():
    assert entry_points('openstack.cli.extension')['scale_ext'].load() \
        is plugin
    commands = entry_points('openstack.scale_ext.v1')
    assert commands['scale-ext_capacity'].load() is capacity.Capacity
    assert commands['scale-ext_snapshot'].load() is snapshot.Snapshot
    assert commands['scale-ext_audit'].load() is audit.Audit
    for action in ('plan', 'apply', 'keep'):
        cls = commands[f'scale-ext_defrag_{action}'].load()
        assert cls.action == action and cls.__doc__


def test_the_plugin_speaks_openstackclients_protocol():
    assert plugin.API_NAME == 'scale_ext'
    assert plugin.DEFAULT_API_VERSION in plugin.API_VERSIONS
    parser = plugin.build_option_parser(argparse.ArgumentParser())
    args = parser.parse_args([])
    assert getattr(args, plugin.API_VERSION_OPTION) == '1'

    class Instance:
        sdk_connection = object()
    assert plugin.make_client(Instance) is Instance.sdk_connection


@pytest.mark.skipif(OPENSTACK is None,
                    reason='python-openstackclient is not installed '
                           "(pip install 'nova-scale-ext[osc]')")
@pytest.mark.parametrize('command, options', [
    ('capacity', ('--resources', '--format', '--column')),
    ('snapshot', ('--headroom', '--output')),
    ('audit', ('--config-file', '--libvirt-uri', '--json'))])
def test_openstack_shows_the_commands_help(command, options):
    result = subprocess.run([OPENSTACK, 'scale-ext', command, '--help'],
                            capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PAGER='cat'))
    assert result.returncode == 0, result.stderr
    assert all(option in result.stdout for option in options)


class _Manager:
    def __init__(self, conn):
        self.sdk_connection = conn


class _App:
    """What OpenStackClient gives a command: its client manager and
    standard streams."""

    def __init__(self, conn):
        self.client_manager = _Manager(conn)
        self.stdout = sys.stdout
        self.stderr = sys.stderr
        self.stdin = sys.stdin


def run_osc(command_class, conn, argv):
    cmd = command_class(_App(conn), None)
    parser = cmd.get_parser(f'openstack {command_class.__name__}')
    return cmd.run(parser.parse_args(argv))


def test_the_commands_run_on_openstackclients_connection(capsys):
    """The connection OpenStackClient made is used, and not closed."""
    from nova_scale_ext.cmd import defrag
    from tests.unit.fake_openstack import FakeCloud, FakeConnection
    fake = FakeCloud()
    for name in 'ab':
        fake.add_host(name)
    fake.add_flavor('small', 1, 2048)
    fake.add_flavor('big', 8, 12288)
    for host, count in (('a', 3), ('b', 2)):
        for k in range(count):
            fake.boot(f'{host}{k}', host, 'small')
    conn = FakeConnection(fake)
    assert run_osc(capacity.Capacity, conn, ['-f', 'json']) == 0
    rows = {r['Flavor']: r for r in json.loads(capsys.readouterr().out)}
    assert rows['big']['Where'] == {'b': 1}
    assert run_osc(defrag.DefragPlan, conn,
                   ['--goal', 'free-hosts', '-f', 'value', '-c', 'from']
                   ) == 0
    assert capsys.readouterr().out.split() == ['b', 'b']
    assert not conn.closed


def test_the_audit_runs_on_openstackclients_connection(tmp_path, capsys):
    from tests.unit.fake_openstack import FakeCloud, FakeConnection
    fake = FakeCloud()
    for name in 'ab':
        fake.add_host(name)
    fake.add_flavor('small', 1, 2048)
    fake.boot('bank', 'a', 'small', project='bank')
    fake.boot('shop', 'b', 'small', project='shop')
    policy = tmp_path / 'nova.conf'
    policy.write_text('[scale_ext_isolation]\nisolated_projects = bank\n')
    conn = FakeConnection(fake)
    argv = ['--config-file', str(policy), '--json']
    assert run_osc(audit.Audit, conn, argv) == 0
    assert json.loads(capsys.readouterr().out)['clean']
    fake.boot('intruder', 'a', 'small', project='shop')
    assert run_osc(audit.Audit, conn, argv) == 3
    (violation,) = json.loads(capsys.readouterr().out)['violations']
    assert violation['host'] == 'a'
    assert not conn.closed
