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
"""Replay a plan on a snapshot and report the first move that does not
hold: what ``defrag apply`` checks before it touches a cloud.

Moves are replayed as they run: step by step, and within a step in plan
order, each instance claiming its target at once and releasing its source
only when its step ends (placement keeps the source allocation for the
migration until it completes). Each move must pass the rules of
:class:`~.cluster.State` under the plan's own move policy, its step must
not precede the previous move's, at most ``max_concurrent_per_host``
moves of a step may touch a host, the plan's budget must hold, and the
members of a hard-affinity group move together: consecutively, in one
step, from one host to one host. While a step runs, a migrating instance
counts on both its hosts for ``different_host`` hints and on neither for
``same_host`` hints, as Nova's scheduler sees it on its source until the
migration ends.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nova_scale_ext import model
from nova_scale_ext.core import isolation as iso
from nova_scale_ext.defrag import plans
from nova_scale_ext.defrag.cluster import (
    AFFINITY,
    N_RESOURCES,
    Cluster,
    State,
)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """``ok``, or the first move that fails (``index`` into the plan's
    moves) and why. ``slots`` and ``empty_hosts`` describe the snapshot
    after the moves that held."""

    ok: bool
    index: int | None = None
    reason: str = ''
    slots: dict[str, int] = dataclasses.field(default_factory=dict)
    empty_hosts: int = 0
    hosts_freed: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.ok:
            return 'the plan holds'
        return f'move {self.index + 1}: {self.reason}'


def verify(snapshot: model.Snapshot, plan: plans.Plan,
           policy: model.MovePolicy | None = None,
           isolation: iso.Policy | None = None) -> Verdict:
    """Check ``plan`` against ``snapshot`` (``policy``: the plan's own
    unless given; ``isolation``: the tenant isolation no move may
    break)."""
    cluster = Cluster.from_snapshot(snapshot, policy or plan.policy,
                                    isolation)
    return verify_cluster(cluster, plan)


def verify_cluster(cluster: Cluster, plan: plans.Plan) -> Verdict:
    c = cluster
    st = State(c)
    hosts = {name: k for k, name in enumerate(c.host_names)}
    insts = {name: k for k, name in enumerate(c.instance_ids)}
    was_empty = st.empty()
    budget = plan.budget
    pending: list[tuple[int, int]] = []
    load: dict[int, int] = {}
    step = 0
    memory = 0.0
    group_move: list[int] = []      # affinity members still to come
    group_route: tuple[int, int, int] = (-1, -1, -1)
    room = plan.goal.room
    shapes = np.array([t.vector for t in room],
                      dtype=np.float64).reshape(-1, N_RESOURCES)

    def settle() -> None:
        for j, source in pending:
            st.remove(j, source)
        pending.clear()
        st.leaving.clear()

    def verdict(k: int | None, reason: str = '') -> Verdict:
        settle()
        empty = st.empty()
        return Verdict(k is None, k, reason,
                       {t.name: int(v) for t, v in
                        zip(room, st.slots(shapes).sum(axis=0).tolist())},
                       int(empty.sum()),
                       tuple(c.host_names[h] for h in
                             np.flatnonzero(empty & ~was_empty).tolist()))

    for k, move in enumerate(plan.moves):
        i = insts.get(move.instance)
        if i is None or not c.present[i]:
            return verdict(k, f'instance {move.instance} is gone')
        if move.source not in hosts:
            return verdict(k, f'host {move.source} is gone')
        if move.target not in hosts:
            return verdict(k, f'host {move.target} is gone')
        s, t = hosts[move.source], hosts[move.target]
        if move.step < step:
            return verdict(k, f'step {move.step} comes after step {step}')
        if move.step > step:
            if group_move:
                return verdict(k, 'hard affinity: the other members of '
                               'the group must move in the same step')
            settle()
            load.clear()
            step = move.step
        if any(j == i for j, _ in pending):
            return verdict(k, f'instance {move.instance} moves twice in '
                           'one step')
        here = int(st.host_of[i])
        if here != s:
            return verdict(k, f'instance {move.instance} is on '
                           f'{c.host_names[here]}, not {move.source}')
        why = c.unit_why[int(c.unit[i])]
        g = int(c.group[i])
        if group_move:
            if i not in group_move or (s, t, g) != group_route:
                return verdict(k, 'hard affinity: the members of a group '
                               'must move one after another, to one host')
            group_move.remove(i)
        elif g >= 0 and c.group_policy[g] == AFFINITY:
            if why is None:
                group_move = [int(j) for j in c.unit_members(int(c.unit[i]))
                              if j != i]
                group_route = (s, t, g)
        if why is not None:
            return verdict(k, f'instance {move.instance} may not move: '
                           f'{why}')
        why = st.why_not(i, t)
        if why is not None:
            return verdict(k, why)
        for h in (s, t):
            load[h] = load.get(h, 0) + 1
            if load[h] > budget.max_concurrent_per_host:
                return verdict(k, f'more than '
                               f'{budget.max_concurrent_per_host} '
                               f'migration(s) at once on {c.host_names[h]}')
        memory += float(c.requests[i, 1])
        if (budget.max_migrations is not None
                and k + 1 > budget.max_migrations):
            return verdict(k, 'over the budget of '
                           f'{budget.max_migrations} migration(s)')
        if (budget.max_memory_gib is not None and memory / 1024.0
                > budget.max_memory_gib * (1 + 1e-9)):
            return verdict(k, 'over the budget of '
                           f'{budget.max_memory_gib:g} GiB moved')
        st.add(i, t)
        st.host_of[i] = t
        st.leaving[i] = s
        pending.append((i, s))
    if group_move:
        return verdict(len(plan.moves) - 1, 'hard affinity: the plan ends '
                       'before the other members of the group move')
    return verdict(None)
