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
"""Snapshots, goals, budgets and plans: JSON forms and the errors bad
input gets (naming the object and the field)."""

import json
import math

import pytest

from nova_scale_ext import defrag
from tests.unit.defrag.fleet import host, plan_checked, snapshot, vm


def full_snapshot():
    return defrag.Snapshot(
        hosts=(host('a', aggregates=('iso',), headroom={'VCPU': 0.1}),
               host('b', used={'VCPU': 4, 'MEMORY_MB': 8192, 'DISK_GB': 20},
                    enabled=False, availability_zone='az2')),
        instances=(vm('i1', 'a', project='p', server_group='g',
                      local_disk=True),
                   defrag.Instance('i2', 'b', flavor='small',
                                   state='SHUTOFF')),
        server_groups=(defrag.ServerGroup('g', 'soft-anti-affinity',
                                          ('i1', 'elsewhere')),),
        aggregates=(defrag.Aggregate('iso', {'filter_tenant_id': 'p'}),),
        flavors=(defrag.Flavor('small', 2, 4096, 20),), source='test')


def test_a_snapshot_survives_its_json_form():
    snap = full_snapshot()
    again = defrag.Snapshot.loads(snap.dumps())
    assert again.to_dict() == snap.to_dict()
    assert again.instances == snap.instances and again.hosts == snap.hosts


def test_an_instance_without_resources_holds_its_flavor():
    snap = full_snapshot()
    assert snap.request_of(snap.instances[1]) == (2, 4096, 20, 0)


def test_zone_and_tenancy_come_from_aggregates():
    snap = snapshot(
        [host('a', aggregates=('z', 'iso1', 'iso2')), host('b')],
        aggregates=[defrag.Aggregate('z', {'availability_zone': 'az9'}),
                    defrag.Aggregate('iso1', {'filter_tenant_id': 'p1, p2'}),
                    defrag.Aggregate('iso2', {'filter_tenant_id7': 'p3'})])
    a, b = snap.hosts
    assert snap.zone_of(a) == 'az9' and snap.zone_of(b) == 'nova'
    assert snap.tenants_of(a) == {'p1', 'p2', 'p3'}
    assert snap.tenants_of(b) is None


def test_scoped_keeps_the_hosts_of_one_aggregate():
    snap = full_snapshot().scoped('iso')
    assert [h.name for h in snap.hosts] == ['a']
    assert [i.id for i in snap.instances] == ['i1']
    with pytest.raises(defrag.SnapshotError, match="'nope': not in"):
        full_snapshot().scoped('nope')


def bad_host(**kw):
    fields = {'name': 'h1', 'capacity': {'VCPU': 8, 'MEMORY_MB': 1024}}
    fields.update(kw)
    return defrag.Host(**fields)


@pytest.mark.parametrize('kw,message', [
    ({'capacity': {'VCPU': math.nan}}, "host 'h1': capacity.VCPU: expected "
     'a finite number from 0'),
    ({'capacity': {'VCPU': math.inf}}, 'capacity.VCPU: expected a finite'),
    ({'capacity': {'MEMORY_MB': -1}}, 'capacity.MEMORY_MB: expected a'),
    ({'capacity': {'MEMORY_MB': 1e15}}, 'from 0 to 1e+10'),
    ({'capacity': {'vgpu': 4}}, 'capacity.vgpu: unknown resource class; '
     'expected one of VCPU, MEMORY_MB, DISK_GB, PCPU'),
    ({'capacity': {'VCPU': '8'}}, "capacity.VCPU: expected a number, got "
     "'8'"),
    ({'capacity': {'VCPU': True}}, 'expected a number, got True'),
    ({'used': {'VCPU': -2}}, "host 'h1': used.VCPU"),
    ({'headroom': {'MEMORY_MB': 1.5}}, 'headroom.MEMORY_MB: expected a '
     'finite number from 0 to 0.99'),
    ({'enabled': 'yes'}, "host 'h1': enabled: expected true or false"),
    ({'name': ''}, 'name: expected a non-empty string'),
    ({'aggregates': 'iso'}, 'aggregates: expected a list of names'),
])
def test_bad_host_fields_are_named(kw, message):
    with pytest.raises(defrag.SnapshotError, match=message.replace(
            '(', r'\(').replace('+', r'\+')):
        bad_host(**kw)


@pytest.mark.parametrize('kw,message', [
    ({'resources': {'MEMORY_MB': math.nan}}, "instance 'i': resources."
     'MEMORY_MB'),
    ({'state': None}, "instance 'i': state: expected a string"),
    ({'pinned': 1}, "instance 'i': pinned: expected true or false"),
    ({'server_group': ''}, 'server_group: expected a non-empty string'),
])
def test_bad_instance_fields_are_named(kw, message):
    fields = {'id': 'i', 'host': 'h', 'resources': {'VCPU': 1}}
    fields.update(kw)
    with pytest.raises(defrag.SnapshotError, match=message):
        defrag.Instance(**fields)


def test_bad_server_group_fields_are_named():
    with pytest.raises(defrag.SnapshotError, match="server group 'g': "
                       'policy: expected one of anti-affinity'):
        defrag.ServerGroup('g', 'anti')
    with pytest.raises(defrag.SnapshotError, match='max_server_per_host'):
        defrag.ServerGroup('g', 'anti-affinity', (), 0)


@pytest.mark.parametrize('build,message', [
    (lambda: snapshot([host('a'), host('a')]), "host 'a': listed twice"),
    (lambda: snapshot([host('a')], [vm('i', 'a'), vm('i', 'a')]),
     "instance 'i': listed twice"),
    (lambda: snapshot([host('a')], [vm('i', 'zz')]),
     "instance 'i': host 'zz' is not in the hosts"),
    (lambda: snapshot([host('a')], [defrag.Instance('i', 'a')]),
     "instance 'i': resources: missing, and no flavor"),
    (lambda: snapshot([host('a')], [defrag.Instance('i', 'a', flavor='f')]),
     "flavor 'f' is not in the flavors"),
    (lambda: snapshot([host('a')], [vm('i', 'a', server_group='g')]),
     "instance 'i': server_group 'g' is not in the server groups"),
    (lambda: snapshot([host('a')], [vm('i', 'a', server_group='g')],
                      [defrag.ServerGroup('g', 'affinity', ('x',))]),
     "server_group 'g' does not list it"),
    (lambda: snapshot([host('a')], [vm('i', 'a')],
                      [defrag.ServerGroup('g', 'affinity', ('i',))]),
     "server group 'g' lists it as a member"),
    (lambda: snapshot([host('a')], [],
                      [defrag.ServerGroup('g', 'affinity', ('i',)),
                       defrag.ServerGroup('h', 'affinity', ('i',))]),
     "instance 'i': member of server groups 'g' and 'h'"),
    (lambda: snapshot([host('a', aggregates=('x',))]),
     "host 'a': aggregates: 'x' is not in the aggregates"),
    (lambda: snapshot([host('a', aggregates=('x', 'y'))], aggregates=[
        defrag.Aggregate('x', {'availability_zone': 'z1'}),
        defrag.Aggregate('y', {'availability_zone': 'z2'})]),
     'several zones'),
    (lambda: snapshot([host('a', aggregates=('x',),
                            availability_zone='z2')],
                      aggregates=[defrag.Aggregate(
                          'x', {'availability_zone': 'z1'})]),
     "availability_zone 'z2' differs"),
    (lambda: snapshot([host('a', used={'VCPU': 1, 'MEMORY_MB': 1024})],
                      [vm('i', 'a', gib=2)]),
     "host 'a': used.MEMORY_MB: 1024 is less than its instances hold "
     r'\(2048\)'),
])
def test_inconsistent_snapshots_are_refused_naming_what(build, message):
    with pytest.raises(defrag.SnapshotError, match=message):
        build()


@pytest.mark.parametrize('text,message', [
    ('{', 'snapshot: not JSON'),
    ('[]', 'expected a JSON object'),
    ('{"format": "other"}', 'format: expected'),
    ('{"hosts": [], "extra": 1}', r'snapshot.extra: unknown field'),
    ('{"hosts": [{"name": "a", "capacity": {"VCPU": NaN}}]}',
     "host 'a': capacity.VCPU: expected a finite number"),
    ('{"hosts": [{"name": "a", "capacity": {}, "cpus": 1}]}',
     r"hosts\[0\] \('a'\).cpus: unknown field"),
    ('{"hosts": [{"name": "a"}]}', r"hosts\[0\] \('a'\): .*capacity"),
    ('{"hosts": {}}', 'snapshot.hosts: expected a list'),
])
def test_bad_snapshot_json_is_refused_naming_where(text, message):
    with pytest.raises(defrag.SnapshotError, match=message):
        defrag.Snapshot.loads(text)


@pytest.mark.parametrize('build,message', [
    (lambda: defrag.Budget(max_migrations=-1), 'max_migrations: expected'),
    (lambda: defrag.Budget(max_memory_gib=math.nan), 'max_memory_gib'),
    (lambda: defrag.Budget(max_memory_gib=math.inf), 'max_memory_gib'),
    (lambda: defrag.Budget(max_concurrent_per_host=0), 'max_concurrent'),
    (lambda: defrag.Goal('tidy'), 'kind: expected one of free-hosts, room'),
    (lambda: defrag.Goal('room'), 'no flavor to make room for'),
    (lambda: defrag.Goal.free_hosts(0), 'hosts: expected an integer from 1'),
    (lambda: defrag.RoomTarget('x', math.nan, 1), 'vcpus'),
    (lambda: defrag.RoomTarget('x', 0, 0), 'vcpus, pcpus or memory_mb '
     'above 0'),
    (lambda: defrag.RoomTarget('x', 0, 0, pcpus=-1), 'pcpus'),
    (lambda: defrag.Goal.parse(['room', 'm1.huge:2'], []),
     "flavor 'm1.huge' is not known"),
    (lambda: defrag.Goal.parse(['room', 'm1.huge'], []), 'expected FLAVOR:N'),
    (lambda: defrag.Goal.parse(['room'], (), ['32x64']),
     'expected VCPUS:MEMORY_MB'),
    (lambda: defrag.Goal.parse(['free-hosts', 'many']),
     'expected a number of hosts'),
    (lambda: defrag.MovePolicy(pinned='no'), 'policy: pinned'),
])
def test_bad_goals_budgets_and_policies_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def plan_json():
    snap = snapshot([host('a'), host('b')],
                    [vm('a1', 'a'), vm('b1', 'b', gib=8, pinned=True)])
    return plan_checked(snap, defrag.Goal.free_hosts()).to_dict()


@pytest.mark.parametrize('change,message', [
    (lambda d: d['moves'][0].update(step=0), r"move of 'a1': step"),
    (lambda d: d['moves'][0].update(memory_mb=math.nan), 'memory_mb'),
    (lambda d: d['moves'][0].update(target=''), 'target: expected a name'),
    (lambda d: d['moves'][0].update(speed=1), r'moves\[0\].speed: unknown'),
    (lambda d: d['moves'][0].pop('source'), r'moves\[0\]: .*source'),
    (lambda d: d.pop('goal'), 'plan.goal: missing'),
    (lambda d: d.update(reached='yes'), 'plan.reached: expected true'),
    (lambda d: d['budget'].update(max_migrations=1.5), 'max_migrations'),
    (lambda d: d['goal'].update(kind='tidy'), 'goal: kind'),
    (lambda d: d.update(format='x'), 'plan: format'),
    (lambda d: d['slots_after'].update(x='many'), 'plan.slots_after'),
])
def test_bad_plan_files_are_refused_naming_where(change, message):
    data = plan_json()
    change(data)
    with pytest.raises(defrag.PlanError, match=message):
        defrag.Plan.loads(json.dumps(data))
