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
"""Small snapshots for the planner's tests: hosts of 16 vCPU / 16 GiB
unless said otherwise, instances sized in vCPU and GiB."""

from nova_scale_ext import defrag

GIB = 1024


def host(name, vcpus=16, gib=16, **kw):
    return defrag.Host(name, {'VCPU': vcpus, 'MEMORY_MB': gib * GIB,
                              'DISK_GB': 0}, **kw)


def vm(ident, where, vcpus=1, gib=1, **kw):
    return defrag.Instance(ident, where,
                           {'VCPU': vcpus, 'MEMORY_MB': gib * GIB}, **kw)


def snapshot(hosts, instances=(), groups=(), aggregates=(), flavors=()):
    return defrag.Snapshot(tuple(hosts), tuple(instances), tuple(groups),
                           tuple(aggregates), tuple(flavors))


def room(vcpus, gib, count=1, name=None):
    """A room goal for one shape."""
    return defrag.Goal.room_for([defrag.RoomTarget(
        name or f'{vcpus}c{gib}g', vcpus, gib * GIB, 0, count)])


def plan_checked(snap, goal, budget=None, policy=None):
    """Plan and check the plan with verify (every test goes through it)."""
    plan = defrag.plan(snap, goal, budget, policy)
    verdict = defrag.verify(snap, plan)
    assert verdict.ok, str(verdict)
    assert defrag.Plan.loads(plan.dumps()).to_dict() == plan.to_dict()
    return plan


def moves(plan):
    """``[(instance, source, target)]`` in run order."""
    return [(m.instance, m.source, m.target) for m in plan.moves]
