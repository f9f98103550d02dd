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
"""Scheduler hints: ``different_host`` and ``same_host`` in the planner,
in ``verify`` and in the order of the steps.

As in test_rules, host ``a`` is drained while ``b`` is the best fit and
``c`` the other choice.
"""

import numpy as np
import pytest

from nova_scale_ext import defrag
from nova_scale_ext.defrag import cluster as cluster_mod
from nova_scale_ext.defrag import planner
from tests.unit.defrag.fleet import (
    host,
    moves,
    plan_checked,
    room,
    snapshot,
    vm,
)

FREE = defrag.Goal.free_hosts()


def three(a1, b1_kw=None, extra=(), groups=()):
    """a: ``a1`` alone; b: 10 GiB (best fit); c: 2 GiB."""
    b1_kw = {'pinned': True} if b1_kw is None else b1_kw
    return snapshot(
        [host('a'), host('b'), host('c')],
        [a1, vm('b1', 'b', gib=10, **b1_kw),
         vm('c1', 'c', gib=2, pinned=True), *extra], groups)


def test_different_host_keeps_the_instance_off_the_hosts_it_names():
    assert moves(plan_checked(three(vm('a1', 'a', gib=2)), FREE)) == [
        ('a1', 'a', 'b')]
    snap = three(vm('a1', 'a', gib=2, different_host=('b1',)))
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'c')]


def test_different_host_keeps_an_instance_off_hosts_whose_instances_name_it():
    snap = three(vm('a1', 'a', gib=2),
                 b1_kw={'pinned': True, 'different_host': ('a1',)})
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'c')]


def test_hints_naming_instances_not_in_the_snapshot_are_harmless():
    snap = three(vm('a1', 'a', gib=2, different_host=('elsewhere',)))
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'b')]


def test_different_host_on_every_other_host_keeps_the_host_full():
    snap = three(vm('a1', 'a', gib=2, different_host=('b1', 'c1')))
    plan = plan_checked(snap, FREE)
    assert not plan.moves and not plan.hosts_freed


def test_same_host_moves_the_instance_only_where_a_named_one_is():
    snap = three(vm('a1', 'a', gib=2, same_host=('c1',)))
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'c')]


def test_same_host_naming_only_missing_instances_keeps_it_in_place():
    snap = three(vm('a1', 'a', gib=2, same_host=('gone',)))
    assert not plan_checked(snap, FREE).moves


def pair(**a2_kw):
    """a: a1 (8 GiB) and a2 (2 GiB) beside 4 GiB pinned; b has 2 vCPU
    and 12 GiB free (no 8c/8g slot). Moving a1 to b opens one on a."""
    return [host('a'), host('b', gib=32)], [
        vm('a1', 'a', gib=8), vm('a2', 'a', gib=2, **a2_kw),
        vm('a3', 'a', gib=4, pinned=True),
        vm('b1', 'b', vcpus=14, gib=20, pinned=True)]


def test_an_instance_that_others_name_in_same_host_stays_with_them():
    plan = plan_checked(snapshot(*pair()), room(8, 8))
    assert plan.reached and moves(plan) == [('a1', 'a', 'b')]
    plan = plan_checked(snapshot(*pair(same_host=('a1',))), room(8, 8))
    assert not plan.reached and not plan.moves
    assert plan.slots_after == {'8c8g': 0}


def test_an_instance_whose_partner_is_elsewhere_may_leave():
    # a2 names c1, on another host: a1 leaving a takes nothing from it
    hosts, instances = pair(same_host=('c1',))
    snap = snapshot([*hosts, host('c')],
                    [*instances, vm('c1', 'c', gib=15, pinned=True)])
    plan = plan_checked(snap, room(8, 8))
    assert moves(plan) == [('a1', 'a', 'b')]


def test_a_hard_affinity_group_with_a_same_host_member_stays():
    group = defrag.ServerGroup('g', 'affinity', ('a1', 'a2'))
    snap = three(vm('a1', 'a', gib=2, server_group='g', same_host=('a2',)),
                 extra=[vm('a2', 'a', gib=1, server_group='g')],
                 groups=[group])
    plan = plan_checked(snap, FREE, defrag.Budget(max_concurrent_per_host=2),
                        defrag.MovePolicy(affinity_groups=True))
    assert not plan.moves


def test_a_hard_affinity_group_moves_off_hosts_its_hints_exclude():
    group = defrag.ServerGroup('g', 'affinity', ('a1', 'a2'))
    snap = three(vm('a1', 'a', gib=2, server_group='g',
                    different_host=('b1',)),
                 extra=[vm('a2', 'a', gib=1, server_group='g')],
                 groups=[group])
    plan = plan_checked(snap, FREE, defrag.Budget(max_concurrent_per_host=2),
                        defrag.MovePolicy(affinity_groups=True))
    assert sorted(moves(plan)) == [('a1', 'a', 'c'), ('a2', 'a', 'c')]


# --- verify -----------------------------------------------------------------


def hand_plan(*moves_):
    """A plan of ``(instance, source, target, step)``, two at once."""
    return defrag.Plan(
        FREE, defrag.Budget(max_concurrent_per_host=2), defrag.MovePolicy(),
        tuple(defrag.Move(i, s, t, step, 'test', 1024)
              for i, s, t, step in moves_), True, '')


def test_verify_refuses_a_move_onto_a_host_the_hints_exclude():
    snap = three(vm('a1', 'a', gib=2, different_host=('b1',)))
    verdict = defrag.verify(snap, hand_plan(('a1', 'a', 'b', 1)))
    assert not verdict.ok and verdict.index == 0
    assert verdict.reason == 'scheduler hint different_host: b1 is on b'
    assert defrag.verify(snap, hand_plan(('a1', 'a', 'c', 1))).ok


def test_verify_refuses_a_same_host_move_away_from_the_named_ones():
    snap = three(vm('a1', 'a', gib=2, same_host=('c1',)))
    verdict = defrag.verify(snap, hand_plan(('a1', 'a', 'b', 1)))
    assert verdict.reason == ('scheduler hint same_host: none of the '
                              'instances it names is on b')


def test_verify_refuses_leaving_an_instance_that_names_it_alone():
    snap = snapshot(*pair(same_host=('a1',)))
    verdict = defrag.verify(snap, hand_plan(('a1', 'a', 'b', 1)))
    assert verdict.reason == ('scheduler hint same_host of a2: it must keep '
                              'a1 on a')


def test_a_migrating_instance_still_counts_on_its_source():
    # b1 leaves b while a1, which must stay apart from it, moves in: Nova
    # sees b1 on b until its migration ends, so only a later step holds
    snap = three(vm('a1', 'a', gib=2, different_host=('b1',)),
                 b1_kw={})
    same_step = hand_plan(('b1', 'b', 'c', 1), ('a1', 'a', 'b', 1))
    verdict = defrag.verify(snap, same_step)
    assert verdict.index == 1 and 'different_host: b1 is on b' in \
        verdict.reason
    assert defrag.verify(snap, hand_plan(('b1', 'b', 'c', 1),
                                         ('a1', 'a', 'b', 2))).ok


def test_a_same_host_partner_must_have_arrived():
    snap = snapshot(
        [host('a'), host('b'), host('c')],
        [vm('a1', 'a', gib=2, same_host=('c1',)), vm('c1', 'c', gib=2)])
    together = hand_plan(('c1', 'c', 'b', 1), ('a1', 'a', 'b', 1))
    verdict = defrag.verify(snap, together)
    assert verdict.index == 1 and 'same_host' in verdict.reason
    assert defrag.verify(snap, hand_plan(('c1', 'c', 'b', 1),
                                         ('a1', 'a', 'b', 2))).ok


def test_moves_of_related_instances_run_in_order():
    snap = snapshot(
        [host('A'), host('B'), host('C')],
        [vm('i', 'A', same_host=('j',)), vm('j', 'C'), vm('k', 'A')])
    c = cluster_mod.Cluster.from_snapshot(snap)
    # j moves C -> B, then i joins it: unrelated moves would share step 1
    steps = planner.assign_steps(c, np.array([1, 0]), np.array([2, 0]),
                                 np.array([1, 1]), np.array([1, 0]), 2)
    assert steps.tolist() == [1, 2]
    steps = planner.assign_steps(c, np.array([1, 2]), np.array([2, 0]),
                                 np.array([1, 1]), np.array([1, 2]), 2)
    assert steps.tolist() == [1, 1]


# --- the snapshot and the plan ----------------------------------------------


def test_hints_and_warnings_survive_the_json_forms():
    snap = defrag.Snapshot(
        (host('a'), host('b')),
        (vm('a1', 'a', different_host=('b1', 'x')),
         vm('b1', 'b', same_host=('a1',))),
        warnings=('hints were not visible',))
    again = defrag.Snapshot.loads(snap.dumps())
    assert again.instances == snap.instances
    assert again.warnings == ('hints were not visible',)
    assert 'different_host' not in snap.to_dict()['instances'][1]
    plan = plan_checked(snap, FREE)
    assert plan.warnings == ('hints were not visible',)
    assert defrag.Plan.loads(plan.dumps()).warnings == plan.warnings


def test_bad_hints_are_named():
    with pytest.raises(defrag.SnapshotError,
                       match="instance 'i': different_host: expected a list"):
        defrag.Instance('i', 'h', {'VCPU': 1}, different_host='j')
    with pytest.raises(defrag.SnapshotError,
                       match=r"instance 'i': same_host\[0\]: expected a "
                       'non-empty string'):
        defrag.Instance('i', 'h', {'VCPU': 1}, same_host=('',))
