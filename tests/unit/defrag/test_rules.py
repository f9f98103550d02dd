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
"""The rules every move obeys, each shown on the smallest fleet.

Most tests drain host ``a`` (``free-hosts``) while the best fit, host
``b``, is ruled out by the rule under test and host ``c`` is not.
"""

import pytest

from nova_scale_ext import defrag
from nova_scale_ext.core import isolation as iso
from tests.unit.defrag.fleet import (
    host,
    moves,
    plan_checked,
    room,
    snapshot,
    vm,
)

FREE = defrag.Goal.free_hosts()


def three(a1, b_kw=None, c_kw=None, extra=(), groups=(), aggregates=()):
    """a: ``a1`` alone; b: 10 GiB pinned (best fit); c: 2 GiB pinned."""
    return snapshot(
        [host('a'), host('b', **(b_kw or {})), host('c', **(c_kw or {}))],
        [a1, vm('b1', 'b', gib=10, pinned=True),
         vm('c1', 'c', gib=2, pinned=True), *extra],
        groups, aggregates)


def test_without_a_rule_against_it_the_best_fit_wins():
    plan = plan_checked(three(vm('a1', 'a', gib=2)), FREE)
    assert moves(plan) == [('a1', 'a', 'b')]
    assert plan.hosts_freed == ('a',)


def test_no_room_on_the_best_fit():
    plan = plan_checked(three(vm('a1', 'a', gib=8)), FREE)
    assert moves(plan) == [('a1', 'a', 'c')]


def test_headroom_of_the_target_is_kept():
    snap = three(vm('a1', 'a', gib=2), b_kw={'headroom': {'MEMORY_MB': 0.3}})
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'c')]


def test_a_disabled_host_is_never_a_target():
    snap = three(vm('a1', 'a', gib=2), b_kw={'enabled': False})
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'c')]


def test_a_disabled_host_can_be_emptied():
    snap = three(vm('a1', 'a', gib=2))
    snap = snapshot([host('a', enabled=False), host('b'), host('c')],
                    snap.instances)
    plan = plan_checked(snap, FREE)
    assert moves(plan) == [('a1', 'a', 'b')]


def test_the_target_is_in_the_instance_availability_zone():
    snap = three(vm('a1', 'a', gib=2), b_kw={'availability_zone': 'az2'})
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'c')]


def test_zone_of_a_host_comes_from_its_aggregates():
    aggs = [defrag.Aggregate('zone2', {'availability_zone': 'az2'})]
    snap = three(vm('a1', 'a', gib=2), b_kw={'aggregates': ('zone2',)},
                 aggregates=aggs)
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'c')]


@pytest.mark.parametrize('project,target', [('p2', 'c'), ('p1', 'b')])
def test_tenancy_aggregates_admit_only_their_projects(project, target):
    aggs = [defrag.Aggregate('iso', {'filter_tenant_id': 'p0,p1',
                                     'filter_tenant_id_2': 'p3'})]
    snap = three(vm('a1', 'a', gib=2, project=project),
                 b_kw={'aggregates': ('iso',)}, aggregates=aggs)
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', target)]


def test_hard_anti_affinity_keeps_members_apart():
    group = defrag.ServerGroup('g', 'anti-affinity', ('a1', 'b2'))
    snap = three(vm('a1', 'a', gib=2, server_group='g'),
                 extra=[vm('b2', 'b', gib=1, server_group='g', pinned=True)],
                 groups=[group])
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'c')]


def test_anti_affinity_max_server_per_host_is_honoured():
    group = defrag.ServerGroup('g', 'anti-affinity', ('a1', 'b2'),
                               max_server_per_host=2)
    snap = three(vm('a1', 'a', gib=2, server_group='g'),
                 extra=[vm('b2', 'b', gib=1, server_group='g', pinned=True)],
                 groups=[group])
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'b')]


def test_soft_anti_affinity_is_not_made_worse():
    group = defrag.ServerGroup('g', 'soft-anti-affinity', ('a1', 'b2'))
    snap = three(vm('a1', 'a', gib=2, server_group='g'),
                 extra=[vm('b2', 'b', gib=1, server_group='g', pinned=True)],
                 groups=[group])
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'c')]


def test_soft_affinity_is_not_made_worse():
    # a1 shares host a with a2: it may only go where a member is too
    group = defrag.ServerGroup('g', 'soft-affinity', ('a1', 'a2', 'y1'))
    snap = snapshot(
        [host('a'), host('x'), host('y')],
        [vm('a1', 'a', gib=2, server_group='g'),
         vm('a2', 'a', gib=2, server_group='g', pinned=True),
         vm('a3', 'a', gib=8, pinned=True),
         vm('x1', 'x', gib=12, pinned=True),
         vm('y1', 'y', gib=2, server_group='g', pinned=True)],
        [group])
    plan = plan_checked(snap, room(1, 6, count=3))
    assert moves(plan) == [('a1', 'a', 'y')]


def test_hard_affinity_members_stay_by_default():
    group = defrag.ServerGroup('g', 'affinity', ('a1', 'a2'))
    snap = three(vm('a1', 'a', gib=2, server_group='g'),
                 extra=[vm('a2', 'a', gib=1, server_group='g')],
                 groups=[group])
    plan = plan_checked(snap, FREE)
    assert not plan.moves and plan.reached


def test_hard_affinity_group_moves_whole_to_one_host_when_allowed():
    group = defrag.ServerGroup('g', 'affinity', ('a1', 'a2'))
    snap = three(vm('a1', 'a', gib=2, server_group='g'),
                 extra=[vm('a2', 'a', gib=1, server_group='g')],
                 groups=[group])
    plan = plan_checked(snap, FREE,
                        defrag.Budget(max_concurrent_per_host=2),
                        defrag.MovePolicy(affinity_groups=True))
    assert sorted(moves(plan)) == [('a1', 'a', 'b'), ('a2', 'a', 'b')]
    assert {m.step for m in plan.moves} == {1}


def test_hard_affinity_group_larger_than_the_concurrency_stays():
    group = defrag.ServerGroup('g', 'affinity', ('a1', 'a2'))
    snap = three(vm('a1', 'a', gib=2, server_group='g'),
                 extra=[vm('a2', 'a', gib=1, server_group='g')],
                 groups=[group])
    plan = plan_checked(snap, FREE, defrag.Budget(),
                        defrag.MovePolicy(affinity_groups=True))
    assert not plan.moves


@pytest.mark.parametrize('flag', ['pinned', 'hugepages', 'pci'])
def test_instances_with_numa_or_pci_resources_stay_by_default(flag):
    snap = three(vm('a1', 'a', gib=2, **{flag: True}))
    plan = plan_checked(snap, FREE)
    assert not plan.moves and not plan.hosts_freed


def test_the_move_policy_may_let_pinned_instances_move():
    snap = three(vm('a1', 'a', gib=2, pinned=True))
    plan = plan_checked(snap, FREE, policy=defrag.MovePolicy(pinned=True))
    assert ('a1', 'a', 'b') in moves(plan)


def test_local_disk_moves_by_block_migration_unless_the_policy_says_no():
    snap = three(vm('a1', 'a', gib=2, local_disk=True))
    assert moves(plan_checked(snap, FREE)) == [('a1', 'a', 'b')]
    plan = plan_checked(snap, FREE,
                        policy=defrag.MovePolicy(local_disk=False))
    assert not plan.moves


def test_only_active_instances_move():
    snap = three(vm('a1', 'a', gib=2, state='SHUTOFF'))
    assert not plan_checked(snap, FREE).moves


def test_a_host_with_one_immovable_instance_is_not_drained_at_all():
    snap = three(vm('a1', 'a', gib=2),
                 extra=[vm('a2', 'a', gib=1, pinned=True)])
    assert not plan_checked(snap, FREE).moves


def test_a_host_whose_instances_do_not_all_fit_is_not_drained_at_all():
    snap = snapshot(
        [host('a'), host('b')],
        [vm('a1', 'a', gib=2), vm('a2', 'a', gib=8),
         vm('b1', 'b', gib=9, pinned=True)])
    plan = plan_checked(snap, FREE)
    assert not plan.moves and plan.reached


def test_a_host_with_usage_no_instance_explains_is_not_drained():
    snap = snapshot(
        [host('a', used={'VCPU': 2, 'MEMORY_MB': 4096}), host('b')],
        [vm('a1', 'a', gib=2), vm('b1', 'b', gib=9, pinned=True)])
    assert not plan_checked(snap, FREE).moves


# --- tenant isolation ------------------------------------------------------

ISOLATION = iso.Policy.from_options(['bank'])


def test_a_move_never_breaks_tenant_isolation():
    """a holds a bank server; b (the best fit) holds the bank's own, c a
    shop's: the bank's goes to b, the shop's never to b nor a."""
    snap = snapshot(
        [host('a'), host('b'), host('c'), host('d')],
        [vm('bank1', 'a', gib=2, project='bank'),
         vm('bank2', 'b', gib=10, project='bank', pinned=True),
         vm('shop1', 'c', gib=4, project='shop', pinned=True),
         vm('shop2', 'd', gib=1, project='shop')])
    plan = defrag.plan(snap, FREE, isolation=ISOLATION)
    assert defrag.verify(snap, plan, isolation=ISOLATION).ok
    assert sorted(moves(plan)) == [('bank1', 'a', 'b'), ('shop2', 'd', 'c')]
    # without the policy the shop's server packs onto the fuller bank host
    plain = defrag.plan(snap, FREE)
    assert ('shop2', 'd', 'b') in moves(plain)
    # and a plan made without it is refused by a check that has it
    verdict = defrag.verify(snap, plain, isolation=ISOLATION)
    assert not verdict.ok
    assert 'tenant isolation: b holds instances of another isolation ' \
        'group' in str(verdict)


def test_room_is_not_made_by_breaking_isolation():
    # room for 8 GiB: moving the shop's 4 GiB from a to b (the bank's host)
    # would open it; c, the shop's own, has no room for it
    snap = snapshot(
        [host('a', gib=10), host('b', gib=9), host('c', gib=6)],
        [vm('shop1', 'a', gib=4, project='shop'),
         vm('bank1', 'b', gib=2, project='bank', pinned=True),
         vm('shop2', 'c', gib=4, project='shop', pinned=True)])
    plan = defrag.plan(snap, room(1, 8), isolation=ISOLATION)
    assert defrag.verify(snap, plan, isolation=ISOLATION).ok
    assert moves(plan) == []
    assert not plan.reached
    assert moves(defrag.plan(snap, room(1, 8))) == [('shop1', 'a', 'b')]


def test_the_isolate_goal_ends_shared_hosts_with_the_fewest_moves():
    # a: two bank servers and a shop's (forced there); b: the shop's;
    # c: empty. The shop's server leaves a (one move, not two), to b.
    snap = snapshot(
        [host('a'), host('b'), host('c')],
        [vm('bank1', 'a', gib=2, project='bank'),
         vm('bank2', 'a', gib=2, project='bank'),
         vm('shop1', 'a', gib=2, project='shop'),
         vm('shop2', 'b', gib=2, project='shop')])
    goal = defrag.Goal.parse(['isolate'])
    plan = defrag.plan(snap, goal, isolation=ISOLATION)
    assert defrag.verify(snap, plan, isolation=ISOLATION).ok
    assert moves(plan) == [('shop1', 'a', 'b')]
    assert plan.reached
    assert defrag.Plan.loads(plan.dumps()).to_dict() == plan.to_dict()
    # a bank server alone among the shop's: it goes to an empty host
    snap = snapshot(
        [host('a'), host('b')],
        [vm('bank1', 'a', gib=2, project='bank'),
         vm('shop1', 'a', gib=2, project='shop'),
         vm('shop2', 'a', gib=2, project='shop')])
    assert moves(defrag.plan(snap, goal, isolation=ISOLATION)) == [
        ('bank1', 'a', 'b')]
    # nowhere to go: not reached, and saying which host
    snap = snapshot(
        [host('a')],
        [vm('bank1', 'a', gib=2, project='bank'),
         vm('shop1', 'a', gib=2, project='shop')])
    plan = defrag.plan(snap, goal, isolation=ISOLATION)
    assert moves(plan) == [] and not plan.reached
    assert 'not a' in plan.why
    # no policy, nothing to do
    assert defrag.plan(snap, goal).reached
    with pytest.raises(defrag.PlanError, match='takes no argument'):
        defrag.Goal.parse(['isolate', '3'])
