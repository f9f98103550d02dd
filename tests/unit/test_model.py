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
