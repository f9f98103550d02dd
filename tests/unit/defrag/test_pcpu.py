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
"""Dedicated CPUs (placement's PCPU): room targets of flavors with
``hw:cpu_policy=dedicated`` count free PCPU, pinned instances hold it,
other instances neither need nor take it."""

import numpy as np

from nova_scale_ext import defrag
from nova_scale_ext.defrag import cluster as cluster_mod
from nova_scale_ext.defrag import planner
from tests.unit.defrag.fleet import GIB, moves, plan_checked, snapshot

FREE = defrag.Goal.free_hosts()


def host(name, vcpus=16, gib=16, pcpus=0, **kw):
    capacity = {'VCPU': vcpus, 'MEMORY_MB': gib * GIB}
    if pcpus:
        capacity['PCPU'] = pcpus
    return defrag.Host(name, capacity, **kw)


def vm(ident, where, vcpus=1, gib=1, pcpus=0, **kw):
    resources = {'VCPU': vcpus, 'MEMORY_MB': gib * GIB}
    if pcpus:
        resources = {'PCPU': pcpus, 'MEMORY_MB': gib * GIB}
    kw.setdefault('pinned', bool(pcpus))
    return defrag.Instance(ident, where, resources, **kw)


def dedicated(count, pcpus=4, gib=4):
    return defrag.Goal.room_for([defrag.RoomTarget(
        'pinned', 0, gib * GIB, 0, count, pcpus=pcpus)])


def test_slots_of_a_dedicated_flavor_are_counted_on_free_pcpu():
    snap = snapshot([host('plain', vcpus=64, gib=64),
                     host('pin', pcpus=8), host('pin2', pcpus=16)],
                    [vm('p1', 'pin2', pcpus=12, gib=2)])
    plan = plan_checked(snap, dedicated(0))
    # plain: no PCPU at all; pin: 8 // 4; pin2: 4 free // 4
    assert plan.slots_before == {'pinned': 3}


def test_room_for_a_dedicated_flavor_clears_memory_where_pcpu_is_free():
    # plain has room for the memory but no PCPU: only pin can take the
    # flavor, once its 14 GiB of ordinary instances are elsewhere
    snap = snapshot([host('pin', pcpus=8), host('plain', gib=32)],
                    [vm('a1', 'pin', gib=14)])
    plan = plan_checked(snap, dedicated(1))
    assert plan.slots_before == {'pinned': 0}
    assert moves(plan) == [('a1', 'pin', 'plain')]
    assert plan.reached and plan.slots_after == {'pinned': 2}


def test_room_for_a_dedicated_flavor_where_no_host_has_pcpu():
    snap = snapshot([host('a', vcpus=64, gib=64), host('b')],
                    [vm('a1', 'a', gib=60)])
    plan = plan_checked(snap, dedicated(1))
    assert not plan.reached and not plan.moves
    assert '0 of 1 fit' in plan.why


def test_free_pcpu_gives_no_room_to_ordinary_instances():
    # b has free PCPU but no VCPU left: a1 (VCPU) can only go to c
    snap = snapshot([host('a'), host('b', vcpus=2, pcpus=32),
                     host('c')],
                    [vm('a1', 'a', vcpus=4, gib=2),
                     vm('b1', 'b', vcpus=2, gib=10, pinned=True),
                     vm('c1', 'c', gib=2, pinned=True)])
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'c')]


def test_a_pinned_instance_moves_only_where_pcpu_is_free():
    snap = snapshot([host('a', pcpus=8), host('b', pcpus=8),
                     host('c', pcpus=8)],
                    [vm('a1', 'a', pcpus=4, gib=2),
                     vm('b1', 'b', pcpus=6, gib=10),
                     vm('c1', 'c', pcpus=2, gib=2)])
    policy = defrag.MovePolicy(pinned=True)
    plan = plan_checked(snap, FREE, policy=policy)
    # b is the fuller host (best fit) but has 2 PCPU free
    assert moves(plan) == [('a1', 'a', 'c')]
    wrong = defrag.Plan(FREE, defrag.Budget(), policy, (defrag.Move(
        'a1', 'a', 'b', 1, 'test', 2048),), True, '')
    verdict = defrag.verify(snap, wrong)
    assert verdict.reason == 'no room on b: PCPU would be 10 of 8'


def test_pinned_instances_stay_unless_the_policy_lets_them_move():
    snap = snapshot([host('a', pcpus=8), host('b', pcpus=8)],
                    [vm('a1', 'a', pcpus=2), vm('b1', 'b', pcpus=2)])
    assert not plan_checked(snap, FREE).moves
    plan = plan_checked(snap, FREE, policy=defrag.MovePolicy(pinned=True))
    assert len(plan.moves) == 1 and len(plan.hosts_freed) == 1


def test_ordinary_instances_go_by_best_fit_without_regard_to_pcpu():
    # b and c are alike but for c's PCPU all in use: a1 takes the first
    # of them, as it would if neither had any
    snap = snapshot([host('a'), host('b', pcpus=8), host('c', pcpus=8)],
                    [vm('a1', 'a', gib=2),
                     vm('b1', 'b', gib=4, pinned=True),
                     vm('c1', 'c', gib=4, pinned=True),
                     vm('c2', 'c', pcpus=8, gib=0)])
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'b')]


def test_the_goal_of_a_dedicated_flavor_asks_for_pcpu():
    flavors = [defrag.Flavor('pinned.large', 0, 8192, 20, pcpus=4)]
    goal = defrag.Goal.parse(['room', 'pinned.large:2'], flavors)
    (target,) = goal.room
    assert target.vector == (0, 8192, 20, 4) and target.shape == (0, 8192,
                                                                   20)
    assert defrag.Goal.from_dict(goal.to_dict()) == goal
    assert 'pcpus' not in defrag.Goal.parse(
        ['room', 'x:1'], [defrag.Flavor('x', 2, 2048)]).to_dict()['room'][0]


def test_a_snapshot_with_pcpu_survives_its_json_form():
    snap = defrag.Snapshot(
        (host('a', pcpus=8, used={'PCPU': 6, 'MEMORY_MB': 4096}),),
        (vm('p', 'a', pcpus=4, gib=2),
         defrag.Instance('q', 'a', flavor='pinned')),
        flavors=(defrag.Flavor('pinned', 0, 2048, pcpus=2),))
    again = defrag.Snapshot.loads(snap.dumps())
    assert again.to_dict() == snap.to_dict()
    assert again.request_of(again.instances[1]) == (0, 2048, 0, 2)


def test_the_arrays_take_three_or_four_resource_columns():
    capacity = np.array([[16, 16384, 0, 8]] * 3, dtype=float)
    requests = np.array([[0, 1024, 0, 2], [1, 2048, 0, 0],
                         [8, 8192, 0, 4]], dtype=float)
    host_of = np.array([0, 1, 2])
    used = np.zeros((3, 4))
    np.add.at(used, host_of, requests)
    c = cluster_mod.Cluster(capacity, used, host_of, requests)
    out = planner.plan_cluster(c, FREE)
    assert out.instance.tolist() == [0, 1] and out.target.tolist() == [2, 2]
    narrow = cluster_mod.Cluster(capacity[:, :3], used[:, :3], host_of,
                                 requests[:, :3], headroom=np.zeros(3))
    assert narrow.capacity.shape == (3, 4) and not narrow.capacity[:, 3].any()
    assert narrow.headroom.shape == (3, 4)
    goal = defrag.Goal.room_for([defrag.RoomTarget('p', 0, 1024, 0, 1,
                                                   pcpus=1)])
    out = planner.plan_cluster(narrow, goal)
    assert not out.reached and out.slots_before.tolist() == [0]
