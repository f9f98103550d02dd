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
"""``verify``: a plan replayed on the cloud as it is now names the first
move that no longer holds."""

import dataclasses

from nova_scale_ext import defrag
from tests.unit.defrag.fleet import host, plan_checked, snapshot, vm

FREE = defrag.Goal.free_hosts()


def cloud(extra_hosts=(), extra=(), **b_kw):
    """a: two VMs to drain; b: the only host they fit."""
    return snapshot(
        [host('a'), host('b', **b_kw), *extra_hosts],
        [vm('a1', 'a', gib=2), vm('a2', 'a', gib=3),
         vm('b1', 'b', gib=8, pinned=True), *extra])


def planned():
    snap = cloud()
    plan = plan_checked(snap, FREE)
    assert [(m.instance, m.target, m.step) for m in plan.moves] == [
        ('a2', 'b', 1), ('a1', 'b', 2)]
    return plan


def edited(plan, **changes):
    return dataclasses.replace(plan, **changes)


def test_a_fresh_plan_holds_and_reports_what_it_buys():
    verdict = defrag.verify(cloud(), planned())
    assert verdict.ok and str(verdict) == 'the plan holds'
    assert verdict.hosts_freed == ('a',) and verdict.empty_hosts == 1


def test_an_instance_deleted_meanwhile_stops_the_plan_at_its_move():
    snap = snapshot(cloud().hosts, [i for i in cloud().instances
                                    if i.id != 'a1'])
    verdict = defrag.verify(snap, planned())
    assert not verdict.ok and verdict.index == 1
    assert str(verdict) == 'move 2: instance a1 is gone'


def test_an_instance_moved_meanwhile_stops_the_plan():
    snap = snapshot([host('a'), host('b'), host('c')],
                    [vm('a1', 'a', gib=2), vm('a2', 'c', gib=3),
                     vm('b1', 'b', gib=8, pinned=True)])
    verdict = defrag.verify(snap, planned())
    assert verdict.index == 0 and 'a2 is on c, not a' in verdict.reason


def test_a_target_filled_meanwhile_stops_the_plan():
    snap = cloud(extra=[vm('new', 'b', gib=4)])
    verdict = defrag.verify(snap, planned())
    assert verdict.index == 1
    assert verdict.reason == 'no room on b: MEMORY_MB would be 17408 of 16384'


def test_a_target_disabled_meanwhile_stops_the_plan():
    verdict = defrag.verify(cloud(enabled=False), planned())
    assert verdict.index == 0 and verdict.reason == 'target b is disabled'


def test_a_target_gone_stops_the_plan():
    snap = snapshot([host('a')], [vm('a1', 'a', gib=2),
                                  vm('a2', 'a', gib=3)])
    verdict = defrag.verify(snap, planned())
    assert verdict.index == 0 and verdict.reason == 'host b is gone'


def test_an_anti_affinity_member_arrived_meanwhile_stops_the_plan():
    group = defrag.ServerGroup('g', 'anti-affinity', ('a1', 'b2'))
    snap = snapshot(cloud().hosts,
                    [vm('a1', 'a', gib=2, server_group='g'),
                     vm('a2', 'a', gib=3), vm('b1', 'b', gib=8),
                     vm('b2', 'b', gib=1, server_group='g')], [group])
    verdict = defrag.verify(snap, planned())
    assert verdict.index == 1 and verdict.reason.startswith('anti-affinity')


def test_an_instance_pinned_meanwhile_stops_the_plan():
    snap = cloud()
    snap = snapshot(snap.hosts, [dataclasses.replace(i, pinned=True)
                                 if i.id == 'a2' else i
                                 for i in snap.instances])
    verdict = defrag.verify(snap, planned())
    assert verdict.index == 0 and 'pinned CPUs' in verdict.reason


def test_verify_holds_a_plan_to_its_own_concurrency():
    plan = planned()
    squeezed = edited(plan, moves=tuple(dataclasses.replace(m, step=1)
                                        for m in plan.moves))
    verdict = defrag.verify(cloud(), squeezed)
    assert verdict.index == 1
    assert verdict.reason == 'more than 1 migration(s) at once on a'


def test_verify_refuses_steps_out_of_order():
    plan = planned()
    backwards = edited(plan, moves=plan.moves[::-1])
    verdict = defrag.verify(cloud(), backwards)
    assert verdict.index == 1 and 'comes after' in verdict.reason


def test_verify_holds_a_plan_to_its_own_budget():
    plan = edited(planned(), budget=defrag.Budget(max_migrations=1))
    verdict = defrag.verify(cloud(), plan)
    assert verdict.index == 1 and 'budget of 1 migration' in verdict.reason
    plan = edited(planned(), budget=defrag.Budget(max_memory_gib=4))
    verdict = defrag.verify(cloud(), plan)
    assert verdict.index == 1 and 'budget of 4 GiB' in verdict.reason


def test_a_source_is_released_only_when_its_step_ends():
    # b1 leaves b for c, then a1 takes b's room: only in a later step
    snap = snapshot([host('a'), host('b'), host('c')],
                    [vm('a1', 'a', gib=10), vm('b1', 'b', gib=10)])
    one = defrag.Move('b1', 'b', 'c', 1, 'test', 10240)
    two = defrag.Move('a1', 'a', 'b', 1, 'test', 10240)
    plan = defrag.Plan(FREE, defrag.Budget(max_concurrent_per_host=2),
                       defrag.MovePolicy(), (one, two), True, '')
    verdict = defrag.verify(snap, plan)
    assert verdict.index == 1 and verdict.reason.startswith('no room on b')
    later = edited(plan, moves=(one, dataclasses.replace(two, step=2)))
    assert defrag.verify(snap, later).ok


def test_a_hard_affinity_member_may_not_move_alone():
    group = defrag.ServerGroup('g', 'affinity', ('a1', 'a2'))
    snap = snapshot([host('a'), host('b')],
                    [vm('a1', 'a', server_group='g'),
                     vm('a2', 'a', server_group='g')], [group])
    policy = defrag.MovePolicy(affinity_groups=True)
    budget = defrag.Budget(max_concurrent_per_host=2)
    both = (defrag.Move('a1', 'a', 'b', 1, 't', 1024),
            defrag.Move('a2', 'a', 'b', 1, 't', 1024))
    plan = defrag.Plan(FREE, budget, policy, both, True, '')
    assert defrag.verify(snap, plan).ok
    alone = defrag.verify(snap, edited(plan, moves=both[:1]))
    assert not alone.ok and 'hard affinity' in alone.reason
    split = (both[0], dataclasses.replace(both[1], step=2))
    assert 'same step' in defrag.verify(snap, edited(plan,
                                                     moves=split)).reason
    stays = defrag.verify(snap, edited(plan, policy=defrag.MovePolicy()))
    assert stays.index == 0 and 'Nova admits only hosts' in stays.reason


def test_a_plan_survives_its_json_form():
    plan = planned()
    again = defrag.Plan.loads(plan.dumps())
    assert again.moves == plan.moves and again.goal == plan.goal
    assert defrag.verify(cloud(), again).ok
