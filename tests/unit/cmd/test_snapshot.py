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
"""``nova-scale-ext snapshot``, and the commands that read what it saves
(``capacity --snapshot``, ``defrag plan --snapshot``, ``simulate --fleet``)
giving what they give on the cloud itself.

The cloud is :mod:`tests.unit.fake_openstack`, reached through the same
openstacksdk calls as a real one.
"""

import json

import pytest

from nova_scale_ext import model
from nova_scale_ext.cmd import connection, main
from nova_scale_ext.simulate import fleet
from tests.unit.fake_openstack import FakeCloud, connector

GIB = 1024


@pytest.fixture
def fake(monkeypatch):
    """Hosts a, b (16 vCPU, 16 GiB) and c (32 vCPU, 64 GiB, in an
    aggregate), d disabled; small servers on a and b."""
    cloud = FakeCloud()
    for name in 'ab':
        cloud.add_host(name)
    cloud.add_host('c', vcpus=32, memory_mb=64 * GIB)
    cloud.add_host('d', enabled=False)
    cloud.add_aggregate('big', ['c'], {'ram_weight_multiplier': '2.0'})
    cloud.add_flavor('small', 1, 2 * GIB)
    cloud.add_flavor('large', 8, 12 * GIB)
    for host, count in (('a', 3), ('b', 2)):
        for k in range(count):
            cloud.boot(f'{host}{k}', host, 'small')
    monkeypatch.setattr(connection, 'connect', connector(cloud))
    return cloud


def output(capsys, *argv):
    rc = main.main(list(argv))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_a_saved_snapshot_reports_what_the_cloud_reports(fake, capsys,
                                                         tmp_path):
    path = tmp_path / 'cloud.json'
    rc, _, err = output(capsys, 'snapshot', '--os-cloud', 'fake', '-o',
                        str(path))
    assert rc == 0 and f'4 hosts, 5 servers saved to {path}' in err
    snap = model.Snapshot.load(str(path))
    assert snap.host_by_name['c'].aggregates == ('big',)
    assert not snap.host_by_name['d'].enabled
    live = output(capsys, 'capacity', '--os-cloud', 'fake', '--json')
    saved = output(capsys, 'capacity', '--snapshot', str(path), '--json')
    assert live[0] == saved[0] == 0
    assert json.loads(live[1]) == json.loads(saved[1])
    # a holds 6 of its 16 GiB: no room for 12 GiB; b holds 4
    assert json.loads(saved[1])['flavors']['large']['where'] == {
        'b': 1, 'c': 4, 'd': 1}


def test_standard_output_carries_the_snapshot(fake, capsys):
    rc, out, _ = output(capsys, 'snapshot', '--os-cloud', 'fake',
                        '--headroom', '0:0.25:0')
    assert rc == 0
    snap = model.Snapshot.loads(out)
    assert snap.host_by_name['a'].headroom == {'MEMORY_MB': 0.25}
    assert len(snap.instances) == 5


def test_a_plan_on_the_saved_snapshot_is_the_plan_on_the_cloud(
        fake, capsys, tmp_path):
    path = tmp_path / 'cloud.json'
    assert output(capsys, 'snapshot', '--os-cloud', 'fake', '-o',
                  str(path))[0] == 0
    plans = []
    for source in (('--os-cloud', 'fake'), ('--snapshot', str(path))):
        out = tmp_path / f'plan{len(plans)}.json'
        rc, text, _ = output(capsys, 'defrag', 'plan', *source,
                             '--json', str(out))
        assert rc == 0 and 'Nothing changed.' in text
        plan = json.loads(out.read_text())['plan']
        del plan['planning_s']
        plans.append(plan)
    assert plans[0] == plans[1] and plans[0]['moves']


def test_a_snapshot_plan_refuses_headroom_and_unknown_aggregates(
        fake, capsys, tmp_path):
    path = tmp_path / 'cloud.json'
    output(capsys, 'snapshot', '--os-cloud', 'fake', '-o', str(path))
    rc, _, err = output(capsys, 'defrag', 'plan', '--snapshot', str(path),
                        '--headroom', '0:0.1:0')
    assert rc == 2 and 'give --headroom to nova-scale-ext snapshot' in err
    rc, _, err = output(capsys, 'defrag', 'plan', '--snapshot', str(path),
                        '--aggregate', 'nope')
    assert rc == 2 and "--aggregate nope: not an aggregate" in err
    rc, _, err = output(capsys, 'defrag', 'plan', '--snapshot',
                        str(tmp_path / 'missing.json'))
    assert rc == 2 and 'missing.json: No such file' in err


def test_the_simulator_replays_on_the_saved_fleet(fake, capsys, tmp_path):
    path = tmp_path / 'cloud.json'
    output(capsys, 'snapshot', '--os-cloud', 'fake', '-o', str(path))
    fl = fleet.load_fleet(str(path))
    # a and b alike, c in its aggregate; d is disabled
    assert [(c.count, c.vcpus, c.memory_mb, c.aggregates)
            for c in fl.classes] == [(2, 16, 16 * GIB, ()),
                                     (1, 32, 64 * GIB, ('big',))]
    assert fl.aggregates == {'big': {'ram_weight_multiplier': '2.0'}}
    rc, out, err = output(capsys, 'simulate', '--synthetic', '40',
                          '--seed', '1', '--fleet', str(path),
                          '--policy', 'scale-ext', '--no-progress')
    assert rc == 0, err
    assert 'Fleet: 2 x 16c/16G/100 + 1 x 32c/64G/100 (aggregates big)' in out


def test_a_json_fleet_file_is_still_a_fleet(tmp_path):
    path = tmp_path / 'fleet.json'
    path.write_text(json.dumps({'host_classes': [
        {'count': 2, 'vcpus': 8, 'memory_mb': 8192}]}))
    assert len(fleet.load_fleet(str(path))) == 2


def test_a_snapshot_with_no_enabled_host_is_no_fleet(tmp_path):
    path = tmp_path / 'cloud.json'
    path.write_text(model.Snapshot((model.Host(
        'h', {'VCPU': 8}, enabled=False),)).dumps())
    with pytest.raises(fleet.FleetError, match='no enabled host'):
        fleet.load_fleet(str(path))


def test_an_unreachable_cloud_or_unwritable_file_is_one_line(
        fake, capsys, tmp_path):
    rc, _, err = output(capsys, 'snapshot', '--os-cloud', 'other')
    assert rc == 1 and err.startswith(
        "nova-scale-ext snapshot: cloud 'other': ")
    rc, _, err = output(capsys, 'snapshot', '--os-cloud', 'fake', '-o',
                        str(tmp_path / 'no' / 'such' / 'dir.json'))
    assert rc == 1 and 'dir.json: No such file or directory' in err
    assert len(err.splitlines()) == 1
