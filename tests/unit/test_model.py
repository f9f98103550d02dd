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
"""The model of a cloud (:mod:`nova_scale_ext.model`): what the capacity
report, the simulator's fleets and the planner share. The planner's use of
it is tested in tests/unit/defrag."""

import pytest

from nova_scale_ext import model


def test_other_classes_and_max_unit_survive_a_round_trip():
    snap = model.Snapshot(
        (model.Host('g', {'VCPU': 32, 'MEMORY_MB': 65536, 'CUSTOM_FPGA': 2},
                    max_unit={'VCPU': 16, 'CUSTOM_FPGA': 1}),),
        (model.Instance('i', 'g', flavor='fpga'),),
        flavors=(model.Flavor('fpga', 4, 8192, other={'CUSTOM_FPGA': 1}),))
    again = model.Snapshot.loads(snap.dumps())
    assert again.to_dict() == snap.to_dict()
    assert again.hosts == snap.hosts and again.flavors == snap.flavors
    assert again.used_of(again.hosts[0]) == {
        'VCPU': 4, 'MEMORY_MB': 8192, 'DISK_GB': 0, 'CUSTOM_FPGA': 1}
    assert again.slots({'VCPU': 4, 'CUSTOM_FPGA': 1}) == {'g': 1}
    assert again.slots({'VCPU': 17}) == {'g': 0}       # above max_unit


def test_the_planner_sees_only_its_four_classes():
    snap = model.Snapshot(
        (model.Host('g', {'VCPU': 8, 'VGPU': 1}),),
        (model.Instance('i', 'g', {'VCPU': 2, 'VGPU': 1}),))
    assert snap.request_of(snap.instances[0]) == (2.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize('kw, message', [
    ({'other': {'VCPU': 1}}, "other.VCPU: expected only classes without"),
    ({'other': {'gpu': 1}}, 'other.gpu: unknown resource class'),
    ({'other': {'VGPU': -1}}, 'other.VGPU: expected a finite number'),
])
def test_bad_other_classes_of_a_flavor_are_named(kw, message):
    with pytest.raises(model.SnapshotError, match=message):
        model.Flavor('f', 1, 1024, **kw)


def test_a_bad_max_unit_is_named():
    with pytest.raises(model.SnapshotError,
                       match=r"host 'h': max_unit.VCPU: expected a finite"):
        model.Host('h', {'VCPU': 8}, max_unit={'VCPU': float('nan')})


def test_a_file_too_large_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(model, 'MAX_FILE_BYTES', 100)
    path = tmp_path / 'big.json'
    path.write_text('{"hosts": []}' + ' ' * 200)
    with pytest.raises(model.SnapshotError, match='larger than'):
        model.Snapshot.load(str(path))


def test_a_moment_of_a_replay_is_the_same_model():
    """The simulator's ledger as a snapshot: the capacity report counts
    what its free capacity holds, and the planner plans on it."""
    import numpy as np

    from nova_scale_ext import defrag
    from nova_scale_ext.cmd import capacity
    from nova_scale_ext.simulate import fleet
    from nova_scale_ext.simulate import model as sim_model

    hosts = fleet.identical(3, '16c/32G')
    ledger = sim_model.Ledger(hosts, 4)
    requests = np.array([[4, 8192, 0], [4, 8192, 0], [2, 4096, 0],
                         [8, 8192, 0]], dtype=float)
    for vm, host in ((0, 0), (1, 1), (2, 2)):
        ledger.place(vm, host, requests[vm])
    snap = ledger.snapshot(['a', 'b', 'c', 'gone'], requests)
    snap = model.Snapshot.loads(snap.dumps())
    assert [i.id for i in snap.instances] == ['a', 'b', 'c']
    assert snap.used_of(snap.hosts[2]) == {'VCPU': 2, 'MEMORY_MB': 4096,
                                           'DISK_GB': 0}
    snap = model.Snapshot(snap.hosts, snap.instances,
                          flavors=(model.Flavor('f', 8, 16384),))
    free = ledger.capacity - ledger.used
    expected = np.floor(np.minimum(free[:, 0] / 8, free[:, 1] / 16384))
    report = capacity.report(snap)
    assert report['flavors']['f']['fits'] == int(expected.sum())
    plan = defrag.plan(snap, defrag.Goal.free_hosts(), defrag.Budget())
    assert plan.reached and plan.empty_after > plan.empty_before
