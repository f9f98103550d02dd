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
"""The ``room`` goal: which instances make room, and where they go."""

from nova_scale_ext import defrag
from tests.unit.defrag.fleet import (
    host,
    moves,
    plan_checked,
    room,
    snapshot,
    vm,
)


def test_room_moves_the_instances_that_free_a_slot_with_least_memory():
    # a: 2 + 2 GiB movable, 6 GiB pinned: one 2 GiB VM opens an 8 GiB slot
    # b: one 10 GiB VM: it alone would open one, but moves 10 GiB
    snap = snapshot(
        [host('a'), host('b'), host('c', gib=32)],
        [vm('a1', 'a', gib=2), vm('a2', 'a', gib=2),
         vm('a3', 'a', gib=6, pinned=True), vm('b1', 'b', gib=10),
         vm('c1', 'c', gib=20, pinned=True)])
    plan = plan_checked(snap, room(1, 8, count=2))
    assert plan.reached
    assert [m.instance for m in plan.moves] == ['a1']
    assert plan.memory_gib == 2
    assert plan.slots_before == {'1c8g': 1} and plan.slots_after == {
        '1c8g': 2}


def test_room_drops_the_small_instances_a_larger_one_makes_unneeded():
    # free 1 GiB, a 10 GiB slot needs 9 more: 2 + 7 GiB, not 2+2+2+2+7
    snap = snapshot(
        [host('a'), host('b', gib=64)],
        [vm('s1', 'a', gib=2), vm('s2', 'a', gib=2), vm('s3', 'a', gib=2),
         vm('s4', 'a', gib=2), vm('big', 'a', gib=7),
         vm('b1', 'b', gib=55, pinned=True)])
    plan = plan_checked(snap, room(1, 10))
    assert plan.reached
    assert len(plan.moves) == 2 and plan.memory_gib == 9
    assert 'big' in [m.instance for m in plan.moves]


def test_room_prefers_one_instance_that_covers_the_shortfall_alone():
    snap = snapshot(
        [host('a'), host('b', gib=64)],
        [vm(f's{k}', 'a', gib=1) for k in range(5)]
        + [vm('ten', 'a', gib=10), vm('b1', 'b', gib=54, pinned=True)])
    plan = plan_checked(snap, room(1, 11))
    assert [m.instance for m in plan.moves] == ['ten']


def test_evicted_instances_go_to_the_fullest_host_where_they_fit():
    snap = snapshot(
        [host('a'), host('half'), host('full'), host('empty')],
        [vm('a1', 'a', gib=4), vm('a2', 'a', gib=4, pinned=True),
         vm('h1', 'half', gib=2, pinned=True),
         vm('f1', 'full', gib=10, pinned=True)])
    plan = plan_checked(snap, room(1, 12, count=3))
    assert moves(plan) == [('a1', 'a', 'full')]


def test_evicted_instances_never_destroy_a_slot_the_goal_counts():
    # x holds one 8 GiB slot and is the best fit for a1; it must stay free
    snap = snapshot(
        [host('a'), host('x'), host('y')],
        [vm('a1', 'a', gib=4), vm('a2', 'a', gib=6, pinned=True),
         vm('x1', 'x', gib=8, pinned=True),
         vm('y1', 'y', gib=2, pinned=True)])
    plan = plan_checked(snap, room(1, 8, count=3))
    assert moves(plan) == [('a1', 'a', 'y')]
    assert plan.slots_after == {'1c8g': 3}


def test_room_already_there_moves_nothing():
    snap = snapshot([host('a')], [vm('a1', 'a', gib=4)])
    plan = plan_checked(snap, room(1, 8, count=1))
    assert plan.reached and not plan.moves


def test_room_that_cannot_be_made_says_so_and_moves_nothing():
    snap = snapshot(
        [host('a'), host('b')],
        [vm('a1', 'a', gib=12, pinned=True), vm('b1', 'b', gib=12)])
    plan = plan_checked(snap, room(1, 8, count=2))
    assert not plan.reached
    assert '0 of 2 fit' in plan.why and 'no host' in plan.why
    assert not plan.moves


def test_room_counts_no_slot_on_a_disabled_host():
    snap = snapshot([host('off', enabled=False), host('on')],
                    [vm('o1', 'on', gib=12)])
    plan = plan_checked(snap, room(1, 8))
    assert plan.slots_before == {'1c8g': 0}
    assert not plan.reached


def test_room_counts_slots_within_the_headroom():
    snap = snapshot([host('a', headroom={'MEMORY_MB': 0.5})])
    plan = plan_checked(snap, room(1, 8, count=1))
    assert plan.slots_before == {'1c8g': 1}
    plan = plan_checked(snap, room(1, 9, count=1))
    assert plan.slots_before == {'1c9g': 0}


def test_room_for_several_flavors_serves_the_largest_first():
    snap = snapshot(
        [host('a'), host('b'), host('c', gib=64)],
        [vm('a1', 'a', gib=4), vm('a2', 'a', gib=4), vm('a3', 'a', gib=4),
         vm('b1', 'b', gib=4), vm('b2', 'b', gib=4), vm('b3', 'b', gib=4),
         vm('c1', 'c', gib=40, pinned=True)])
    goal = defrag.Goal.room_for([
        defrag.RoomTarget('small', 1, 8 * 1024, 0, 3),
        defrag.RoomTarget('large', 1, 16 * 1024, 0, 1)])
    plan = plan_checked(snap, goal)
    assert plan.reached
    assert plan.slots_after['large'] >= 1 and plan.slots_after['small'] >= 3


def test_a_target_out_of_reach_does_not_keep_the_others_from_their_room():
    # no host can hold 17 GiB; an 8 GiB slot opens by moving a1
    snap = snapshot(
        [host('a'), host('c', gib=32)],
        [vm('a1', 'a', gib=4), vm('a2', 'a', gib=6, pinned=True),
         vm('c1', 'c', gib=20, pinned=True)])
    goal = defrag.Goal.room_for([
        defrag.RoomTarget('huge', 1, 17 * 1024, 0, 1),
        defrag.RoomTarget('mid', 1, 8 * 1024, 0, 2)])
    plan = plan_checked(snap, goal)
    assert not plan.reached and plan.why.startswith('huge: 0 of 1 fit')
    assert moves(plan) == [('a1', 'a', 'c')]
    assert plan.slots_after == {'huge': 0, 'mid': 2}


def test_whole_restores_each_target_in_full_or_not_at_all():
    # 'mid' (8 GiB) can get a second slot (a1 into b's 4 GiB), not a
    # third; 'small' (5 GiB) has its three slots either way
    snap = snapshot(
        [host('a'), host('b'), host('c', gib=32)],
        [vm('a1', 'a', gib=4), vm('a2', 'a', gib=6, pinned=True),
         vm('b1', 'b', gib=12, pinned=True),
         vm('c1', 'c', gib=20, pinned=True)])
    targets = [defrag.RoomTarget('mid', 1, 8 * 1024, 0, 3),
               defrag.RoomTarget('small', 1, 5 * 1024, 0, 3)]
    partial = plan_checked(snap, defrag.Goal.room_for(targets))
    assert moves(partial) == [('a1', 'a', 'b')]
    assert partial.slots_after == {'mid': 2, 'small': 4}
    whole = plan_checked(snap, defrag.Goal.room_for(targets, whole=True))
    assert not whole.reached and whole.why.startswith('mid: 2 of 3 fit')
    assert not whole.moves
    assert whole.slots_after == {'mid': 1, 'small': 3}
    assert defrag.Plan.loads(whole.dumps()).goal.whole


def test_room_goal_from_large_slot_flavors():
    goal = defrag.Goal.parse(['room'], (), ['32:65536', '64:131072'], 2)
    assert [(t.name, t.vcpus, t.memory_mb, t.count) for t in goal.room] == [
        ('32:65536', 32, 65536, 2), ('64:131072', 64, 131072, 2)]


def test_room_goal_names_flavors():
    flavors = [defrag.Flavor('m1.xlarge', 8, 16384, 160)]
    goal = defrag.Goal.parse(['room', 'm1.xlarge:4'], flavors)
    assert goal.room == (defrag.RoomTarget('m1.xlarge', 8, 16384, 160, 4),)


def _few_large_or_many_small():
    """An 8 GiB slot opens on ``small`` by moving four 1 GiB instances or
    on ``large`` by moving one of 5 GiB; ``dump`` (13 GiB free, one slot,
    still one after taking either) takes them."""
    return snapshot(
        [host('small'), host('large'), host('dump', gib=32)],
        [vm(f's{k}', 'small', gib=1) for k in range(6)]
        + [vm('s-pinned', 'small', gib=6, pinned=True),
           vm('l1', 'large', gib=5),
           vm('l-pinned', 'large', gib=7, pinned=True),
           vm('d-pinned', 'dump', gib=19, pinned=True)])


def test_room_with_migrations_budgeted_moves_the_fewest_instances():
    plan = plan_checked(_few_large_or_many_small(), room(1, 8, count=2),
                        defrag.Budget(max_migrations=8))
    assert plan.reached
    assert [m.instance for m in plan.moves] == ['l1']


def test_room_otherwise_moves_the_least_memory():
    plan = plan_checked(_few_large_or_many_small(), room(1, 8, count=2))
    assert plan.reached and plan.migrations == 4 and plan.memory_gib == 4
    plan = plan_checked(_few_large_or_many_small(), room(1, 8, count=2),
                        defrag.Budget(max_migrations=8, max_memory_gib=64))
    assert plan.migrations == 4


def test_the_fewest_migrations_are_the_smallest_of_that_many():
    # 6 GiB to free on a: one of 6 or 7 GiB would do (b keeps its three
    # slots either way); the 6 GiB one moves
    snap = snapshot(
        [host('a'), host('b', gib=40)],
        [vm('a1', 'a', gib=1), vm('a6', 'a', gib=6), vm('a7', 'a', gib=7),
         vm('b1', 'b', gib=9, pinned=True)])
    plan = plan_checked(snap, room(1, 8, count=4),
                        defrag.Budget(max_migrations=4))
    assert [m.instance for m in plan.moves] == ['a6']


def test_with_migrations_budgeted_only_instances_that_fit_elsewhere_count():
    # a's 6 GiB instance alone would open the slot but fits no other host:
    # b's two 2 GiB instances move instead
    snap = snapshot(
        [host('a'), host('b'), host('c')],
        [vm('a1', 'a', gib=6), vm('a-pinned', 'a', gib=6, pinned=True),
         vm('b1', 'b', gib=2), vm('b2', 'b', gib=2), vm('b3', 'b', gib=2),
         vm('b-pinned', 'b', gib=6, pinned=True),
         vm('c-pinned', 'c', gib=11, pinned=True)])
    plan = plan_checked(snap, room(1, 8), defrag.Budget(max_migrations=4))
    assert plan.reached
    assert sorted(m.instance for m in plan.moves) == ['b1', 'b2']


def test_an_instance_as_large_as_the_flavor_never_moves_for_its_room():
    # moving x1 (10 GiB) would only take the slot of the host it goes to
    snap = snapshot(
        [host('x'), host('y', gib=32), host('z')],
        [vm('x1', 'x', gib=10), vm('x-pinned', 'x', gib=2, pinned=True),
         vm('y-pinned', 'y', gib=14, pinned=True),
         vm('z1', 'z', gib=1), vm('z2', 'z', gib=1), vm('z3', 'z', gib=1),
         vm('z-pinned', 'z', gib=8, pinned=True)])
    plan = plan_checked(snap, room(1, 8, count=3),
                        defrag.Budget(max_migrations=4))
    assert plan.reached
    assert sorted(m.instance for m in plan.moves) == ['z1', 'z2', 'z3']
