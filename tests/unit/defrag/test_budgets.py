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
"""``free-hosts``, budgets, partial plans and the order of steps."""

import re

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


def spread():
    """Three hosts of one small VM each, and one well filled host."""
    return snapshot(
        [host('a'), host('b'), host('c'), host('big', gib=64)],
        [vm('a1', 'a', gib=1), vm('b1', 'b', gib=2), vm('c1', 'c', gib=3),
         vm('big1', 'big', gib=40, pinned=True)])


def test_free_hosts_drains_the_cheapest_hosts_into_the_fullest():
    plan = plan_checked(spread(), FREE)
    assert moves(plan) == [('a1', 'a', 'big'), ('b1', 'b', 'big'),
                           ('c1', 'c', 'big')]
    assert plan.hosts_freed == ('a', 'b', 'c')
    assert plan.reached and (plan.empty_before, plan.empty_after) == (0, 3)


def test_free_hosts_never_opens_an_empty_host():
    snap = snapshot([host('a'), host('empty', gib=64)],
                    [vm('a1', 'a', gib=1)])
    plan = plan_checked(snap, FREE)
    assert not plan.moves and plan.reached


def test_free_hosts_stops_at_the_number_asked():
    plan = plan_checked(spread(), defrag.Goal.free_hosts(2))
    assert plan.hosts_freed == ('a', 'b') and plan.reached


def test_free_hosts_not_reached_says_how_many_could_be():
    plan = plan_checked(spread(), defrag.Goal.free_hosts(4))
    assert not plan.reached and 'only 3 of 4' in plan.why


def test_migration_budget_gives_the_best_partial_plan():
    plan = plan_checked(spread(), FREE, defrag.Budget(max_migrations=2))
    assert plan.migrations == 2 and plan.hosts_freed == ('a', 'b')
    assert not plan.reached and 'budget' in plan.why


def test_memory_budget_skips_the_hosts_it_cannot_afford():
    plan = plan_checked(spread(), FREE, defrag.Budget(max_memory_gib=4))
    assert plan.hosts_freed == ('a', 'c') or plan.hosts_freed == ('a', 'b')
    assert plan.memory_gib <= 4
    assert not plan.reached


def test_room_budget_gives_the_best_partial_plan():
    # a opens an 8 GiB slot by moving 4 GiB, b by moving 5 GiB
    snap = snapshot(
        [host('a'), host('b'), host('c'), host('d')],
        [vm('a1', 'a', gib=4), vm('a2', 'a', gib=8, pinned=True),
         vm('b1', 'b', gib=5), vm('b2', 'b', gib=8, pinned=True),
         vm('c1', 'c', gib=12, pinned=True),
         vm('d1', 'd', gib=11, pinned=True)])
    plan = plan_checked(snap, room(1, 8, count=2),
                        defrag.Budget(max_memory_gib=8))
    assert moves(plan) == [('a1', 'a', 'c')]
    assert plan.slots_after == {'1c8g': 1}
    assert not plan.reached and 'budget' in plan.why
    plan = plan_checked(snap, room(1, 8, count=2))
    assert plan.reached and plan.memory_gib == 9


def test_a_zero_budget_plans_nothing():
    plan = plan_checked(spread(), FREE, defrag.Budget(max_migrations=0))
    assert not plan.moves and not plan.reached


def drain_four(concurrency):
    snap = snapshot(
        [host('a')] + [host(f't{k}') for k in range(4)],
        [vm(f'a{k}', 'a', gib=1) for k in range(4)]
        + [vm(f't{k}x', f't{k}', gib=14, pinned=True) for k in range(4)])
    return plan_checked(snap, FREE,
                        defrag.Budget(max_concurrent_per_host=concurrency))


def test_at_most_the_concurrency_migrations_touch_a_host_per_step():
    assert drain_four(1).steps == 4
    plan = drain_four(2)
    assert plan.steps == 2
    per_step = {}
    for m in plan.moves:
        per_step.setdefault(m.step, []).append(m)
    assert all(len(ms) == 2 for ms in per_step.values())


def test_moves_are_listed_in_step_order():
    plan = drain_four(1)
    assert [m.step for m in plan.moves] == sorted(m.step for m in plan.moves)


def test_a_move_into_a_host_runs_after_the_moves_out_of_it():
    snap = snapshot([host(n) for n in 'ABCDE'],
                    [vm('x', 'A'), vm('y', 'C'), vm('z', 'D')])
    c = cluster_mod.Cluster.from_snapshot(snap)
    steps = planner.assign_steps(
        c, np.array([0, 1, 2]), np.array([0, 2, 3]), np.array([1, 0, 4]),
        np.array([0, 1, 2]), concurrency=1)
    # y goes into A, which x leaves: after it; z is independent
    assert steps.tolist() == [1, 2, 1]


def test_independent_moves_share_a_step():
    snap = snapshot([host(n) for n in 'ABCD'], [vm('x', 'A'), vm('y', 'C')])
    c = cluster_mod.Cluster.from_snapshot(snap)
    steps = planner.assign_steps(c, np.array([0, 1]), np.array([0, 2]),
                                 np.array([1, 3]), np.array([0, 1]), 1)
    assert steps.tolist() == [1, 1]


def test_the_planner_runs_on_plain_arrays():
    capacity = np.array([[16, 16384, 0]] * 3, dtype=float)
    requests = np.array([[1, 1024, 0], [2, 2048, 0], [8, 8192, 0]],
                        dtype=float)
    host_of = np.array([0, 1, 2])
    used = np.zeros((3, 3))
    np.add.at(used, host_of, requests)
    c = cluster_mod.Cluster(capacity, used, host_of, requests)
    out = planner.plan_cluster(c, FREE)
    assert out.instance.tolist() == [0, 1]
    assert out.target.tolist() == [2, 2]
    assert out.freed.tolist() == [0, 1]


def test_a_drain_given_up_leaves_its_would_be_targets_drainable():
    # h1's drain moves u1 to b, then u2 (p2) finds no host: undone, and b
    # (cheaper to drain than it looked) is emptied next
    iso = defrag.Aggregate('iso', {'filter_tenant_id': 'p1'})
    snap = snapshot(
        [host('h1'), host('b', aggregates=('iso',)),
         host('c', aggregates=('iso',))],
        [vm('u1', 'h1', gib=3, project='p1'),
         vm('u2', 'h1', gib=1, project='p2'),
         vm('b1', 'b', gib=5, project='p1'),
         vm('c1', 'c', gib=14, pinned=True)],
        aggregates=[iso])
    plan = plan_checked(snap, FREE)
    assert moves(plan) == [('b1', 'b', 'h1')] and plan.hosts_freed == ('b',)


def _few_large_and_many_small():
    """Host ``small`` holds the least memory in two instances; ``one`` and
    ``two`` hold more memory in one instance each."""
    return snapshot(
        [host('small'), host('one'), host('two'), host('big', gib=64)],
        [vm('s1', 'small', gib=1), vm('s2', 'small', gib=1),
         vm('o1', 'one', gib=3), vm('t1', 'two', gib=4),
         vm('big1', 'big', gib=50, pinned=True)])


def test_with_migrations_budgeted_the_fewest_migrations_drain_first():
    plan = plan_checked(_few_large_and_many_small(), FREE,
                        defrag.Budget(max_migrations=2))
    assert plan.hosts_freed == ('one', 'two') and plan.migrations == 2


def test_otherwise_the_least_memory_drains_first():
    plan = plan_checked(_few_large_and_many_small(), FREE,
                        defrag.Budget(max_migrations=2, max_memory_gib=64))
    assert plan.hosts_freed == ('small',)
    plan = plan_checked(_few_large_and_many_small(), defrag.Goal.free_hosts(1))
    assert plan.hosts_freed == ('small',) and plan.migrations == 2


@pytest.mark.parametrize('text,share', [('1%', 0.01), (' 0.5% ', 0.005),
                                        ('100%', 1.0)])
def test_a_share_reads_percent(text, share):
    assert defrag.parse_share(text, 'x') == pytest.approx(share)


@pytest.mark.parametrize('text', ['0%', '101%', 'nan%', 'inf%', '1', '',
                                  '\u00b2%', '1e400%', '-1%'])
def test_a_bad_share_names_what_and_the_text(text):
    with pytest.raises(defrag.PlanError, match=f"^x: expected a share .*"
                       f"got {re.escape(repr(text))}$"):
        defrag.parse_share(text, 'x')


def test_the_per_boot_budget_is_a_share_of_the_starts_less_the_moves():
    assert defrag.per_boot_left(0.01, 250, 0) == 2
    assert defrag.per_boot_left(0.01, 250, 2) == 0
    assert defrag.per_boot_left(0.01, 250, 5) == 0      # never negative
    assert defrag.per_boot_left(0.07, 100, 0) == 7      # 7.000000000000001


def _drain_that_costs_a_slot():
    """Draining ``a`` (two 5 GiB instances, a 10 GiB host) opens one 8 GiB
    slot there and takes the one of ``x`` and of ``y``."""
    return snapshot(
        [host('a', gib=10), host('x'), host('y')],
        [vm('a1', 'a', gib=5), vm('a2', 'a', gib=5),
         vm('x1', 'x', gib=8, pinned=True),
         vm('y1', 'y', gib=8, pinned=True)])


def test_free_hosts_keeping_room_never_drains_what_the_room_needs():
    plan = plan_checked(_drain_that_costs_a_slot(), FREE)
    assert plan.hosts_freed == ('a',)
    keep = defrag.Goal.free_hosts(room=room(1, 8, count=2).room)
    plan = plan_checked(_drain_that_costs_a_slot(), keep)
    assert not plan.moves and plan.slots_after == {'1c8g': 2}
    assert 'keeping room 1c8g:2' in keep.describe()
    # room it cannot keep anyway does not stop the drain
    keep = defrag.Goal.free_hosts(room=room(1, 8, count=1).room)
    plan = plan_checked(_drain_that_costs_a_slot(), keep)
    assert plan.hosts_freed == ('a',) and plan.slots_after == {'1c8g': 1}


def test_free_hosts_keeping_room_goes_where_no_slot_is_lost():
    # b1 fits x (the fuller, holding an 8c/8G slot) and y (no such slot)
    snap = snapshot(
        [host('b'), host('x'), host('y')],
        [vm('b1', 'b', gib=2), vm('x1', 'x', vcpus=8, gib=8, pinned=True),
         vm('y1', 'y', vcpus=10, gib=2, pinned=True)])
    plan = plan_checked(snap, FREE)
    assert moves(plan) == [('b1', 'b', 'x')]
    keep = defrag.Goal.free_hosts(room=room(8, 8, count=2).room)
    plan = plan_checked(snap, keep)
    assert moves(plan) == [('b1', 'b', 'y')]
    assert plan.slots_before == {'8c8g': 2} and plan.slots_after == {
        '8c8g': 3}
