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
"""On random small clouds every plan passes ``verify``, stays within its
budget, never brings together what a ``different_host`` hint keeps apart
nor parts what a ``same_host`` hint keeps together, and a ``room`` plan
that says it reached its goal yields the slots."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_scale_ext import defrag

GIB = 1024
mostly = st.sampled_from([True] * 5 + [False])
rarely = st.sampled_from([False] * 5 + [True])


@st.composite
def clouds(draw):
    n_hosts = draw(st.integers(1, 6))
    aggregates = [defrag.Aggregate('iso', {'filter_tenant_id': 'p0'}),
                  defrag.Aggregate('z2', {'availability_zone': 'az2'})]
    caps = []
    hosts = []
    for k in range(n_hosts):
        cap = (draw(st.sampled_from([4, 16, 32])),
               draw(st.sampled_from([4, 16, 32, 64])) * GIB,
               draw(st.sampled_from([0, 100])))
        caps.append(cap)
        aggs = tuple(name for name, on in
                     (('iso', draw(rarely)), ('z2', draw(rarely))) if on)
        hosts.append(dict(
            name=f'h{k}', capacity=dict(zip(('VCPU', 'MEMORY_MB',
                                             'DISK_GB'), cap)),
            aggregates=aggs, enabled=draw(mostly),
            headroom=draw(st.sampled_from(
                [{}, {}, {'MEMORY_MB': 0.2},
                 {'VCPU': 0.5, 'MEMORY_MB': 0.1}]))))
    used = [[0.0, 0.0, 0.0] for _ in hosts]
    instances = []
    for n in range(draw(st.integers(0, 40))):
        req = (draw(st.sampled_from([1, 2, 4])),
               draw(st.sampled_from([1, 2, 4, 8])) * GIB,
               draw(st.sampled_from([0, 10])))
        h = draw(st.integers(0, n_hosts - 1))
        if any(u + r > c for u, r, c in zip(used[h], req, caps[h])):
            continue
        used[h] = [u + r for u, r in zip(used[h], req)]
        instances.append(dict(
            id=f'i{n}', host=f'h{h}',
            resources=dict(zip(('VCPU', 'MEMORY_MB', 'DISK_GB'), req)),
            project=draw(st.sampled_from(['p0', 'p1', 'p2'])),
            state=draw(st.sampled_from(['ACTIVE'] * 6 + ['SHUTOFF'])),
            pinned=draw(rarely), local_disk=draw(st.booleans())))
    groups = []
    free = [i['id'] for i in instances]
    for g in range(draw(st.integers(0, 3))):
        members = draw(st.lists(st.sampled_from(free), unique=True,
                                max_size=4)) if free else []
        free = [i for i in free if i not in members]
        groups.append(defrag.ServerGroup(
            f'g{g}', draw(st.sampled_from(['anti-affinity', 'affinity',
                                           'soft-anti-affinity',
                                           'soft-affinity'])),
            tuple(members), draw(st.sampled_from([1, 1, 2]))))
        for inst in instances:
            if inst['id'] in members:
                inst['server_group'] = f'g{g}'
    ids = [i['id'] for i in instances]
    for inst in instances:
        for hint in ('different_host', 'same_host'):
            if ids and draw(rarely):
                inst[hint] = tuple(draw(st.lists(
                    st.sampled_from(ids + ['elsewhere']), min_size=1,
                    max_size=3, unique=True)))
    for k, host in enumerate(hosts):
        if draw(rarely):
            host['used'] = {'VCPU': used[k][0] + 1,
                            'MEMORY_MB': used[k][1] + GIB,
                            'DISK_GB': used[k][2]}
    return defrag.Snapshot(
        tuple(defrag.Host(**h) for h in hosts),
        tuple(defrag.Instance(**i) for i in instances), tuple(groups),
        tuple(aggregates))


goals = st.one_of(
    st.builds(defrag.Goal.free_hosts,
              st.one_of(st.none(), st.integers(1, 3))),
    # room: (vcpus, GiB, slots wanted beyond those there are)
    st.lists(st.tuples(st.sampled_from([1, 2, 4, 8]),
                       st.sampled_from([4, 8, 16]),
                       st.integers(0, 3)), min_size=1, max_size=2))


def room_beyond(snap, shapes):
    """A room goal asking ``extra`` slots beyond those there are."""
    targets = [defrag.RoomTarget(f't{k}', v, g * GIB, 0, 0)
               for k, (v, g, _) in enumerate(shapes)]
    now = defrag.plan(snap, defrag.Goal.room_for(targets)).slots_before
    return defrag.Goal.room_for(
        defrag.RoomTarget(t.name, t.vcpus, t.memory_mb, 0,
                          now[t.name] + extra)
        for t, (_, _, extra) in zip(targets, shapes))


budgets = st.builds(
    defrag.Budget,
    st.one_of(st.none(), st.integers(0, 8)),
    st.one_of(st.none(), st.sampled_from([0.0, 4.0, 16.0, 64.0])),
    st.integers(1, 3))
policies = st.builds(defrag.MovePolicy, pinned=st.booleans(),
                     affinity_groups=st.booleans())


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(clouds(), goals, budgets, policies)
def test_every_plan_passes_verify_and_keeps_its_word(snap, goal, budget,
                                                     policy):
    if isinstance(goal, list):
        goal = room_beyond(snap, goal)
    plan = defrag.plan(snap, goal, budget, policy)
    verdict = defrag.verify(snap, plan)
    assert verdict.ok, str(verdict)
    assert plan.slots_after == verdict.slots
    assert plan.hosts_freed == verdict.hosts_freed
    assert plan.empty_after == verdict.empty_hosts
    if budget.max_migrations is not None:
        assert plan.migrations <= budget.max_migrations
    if budget.max_memory_gib is not None:
        assert plan.memory_gib <= budget.max_memory_gib + 1e-9
    assert len({m.instance for m in plan.moves}) == plan.migrations
    if goal.kind == 'room':
        enough = all(verdict.slots[t.name] >= t.count for t in goal.room)
        assert plan.reached == enough
    elif goal.hosts is not None:
        assert plan.reached == (len(plan.hosts_freed) >= goal.hosts)
    assert defrag.Plan.loads(plan.dumps()).to_dict() == plan.to_dict()
    check_hints(snap, plan)


def check_hints(snap, plan):
    """Replay the moves step by step (a migrating instance on both its
    hosts) and check the hints of every instance that moves or is left."""
    where = {i.id: {i.host} for i in snap.instances}
    by_id = {i.id: i for i in snap.instances}
    named_by = {}
    for inst in snap.instances:
        for other in inst.different_host:
            named_by.setdefault(other, set()).add(inst.id)
    steps = {}
    for move in plan.moves:
        steps.setdefault(move.step, []).append(move)
    for step in sorted(steps):
        before = {k: set(v) for k, v in where.items()}
        for move in steps[step]:
            inst = by_id[move.instance]
            apart = (set(inst.different_host) | named_by.get(inst.id, set())
                     ) - {inst.id}
            for other in apart & set(where):
                assert move.target not in where[other], (move, other)
            if set(inst.same_host) - {inst.id}:
                assert any(before.get(o) == {move.target}
                           for o in inst.same_host if o != inst.id), move
            for other in snap.instances:
                if other.id != inst.id and inst.id in other.same_host and \
                        move.source in before[other.id]:
                    assert any(before.get(o) == {move.source}
                               for o in other.same_host if o != inst.id
                               ), (move, other.id)
            where[move.instance] = {move.source, move.target}
        for move in steps[step]:
            where[move.instance] = {move.target}
