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
"""The consolidation planner: which few instances to move, and where.

``room``
    While a room target has fewer slots than asked (slots counted by
    :func:`~nova_scale_ext.core.scores.slot_counts` on each enabled host's
    free capacity, headroom kept), take the largest such target and find,
    on every host at once, the cheapest set of movable instances whose
    eviction opens one more slot there: the smallest instances first until
    the shortfall is covered (then those not needed dropped, largest
    first), or the one smallest instance that covers it alone, whichever
    moves less memory. Hosts are tried cheapest first; the evicted
    instances go, largest first, to the best fit
    (:func:`~nova_scale_ext.core.scores.best_fit`, empty hosts last)
    among the hosts where they destroy no slot of a target that would then
    fall short. A host whose instances cannot all be re-homed is skipped.
    When the budget limits migrations and not memory, migrations are what
    is scarce: hosts are tried fewest migrations first (then least
    memory), and on each the fewest instances that cover the shortfall
    move (as many as the largest first take; of those, the smallest),
    counting only instances that fit some other host as things stand and
    are smaller than the target's shape in some resource it asks for (one
    at least as large takes a slot wherever it goes); an eviction that
    fails is retried without its largest instance.
    A target that cannot get another slot is given up (the plan then does
    not reach its goal, and says why) and the others are served; with the
    goal's ``whole``, the moves made for a target given up are undone (a
    target is restored in full or not at all).

``free-hosts``
    Hosts holding nothing but movable instances are drained cheapest first
    (least memory to move; fewest migrations first when the budget limits
    migrations and not memory): their instances, largest first, go to the best
    fit among the other hosts in use (never an empty one). A drain is kept
    only if every instance found a place within the budget. With room
    targets in the goal (:meth:`~.plans.Goal.free_hosts` ``room``), each
    instance goes where it destroys fewest slots of a target that would
    then fall short, and a drain that leaves a target with fewer slots
    than it had or asks (whichever is less) is undone.

Every move is checked by :class:`~.cluster.State` against the state the
earlier moves left; no instance moves twice. Steps are assigned last
(:func:`assign_steps`); a move waits for every earlier move it depends on.

Slots of a room target with dedicated CPUs (``pcpus``) are counted on the
hosts' free PCPU; best fit weighs PCPU (as VCPU) only for instances that
hold it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from nova_scale_ext import model
from nova_scale_ext.core import isolation as iso
from nova_scale_ext.core import resources, scores
from nova_scale_ext.defrag import plans
from nova_scale_ext.defrag.cluster import N_RESOURCES, Cluster, State

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Hosts tried, cheapest first, for one more slot before giving up.
ROOM_TRIES = 24
#: Eviction sets tried on one host, each without the units that found no
#: place in the previous ones.
RETRIES = 4

_TIE_SCALE = 1e9


@dataclasses.dataclass
class Result:
    """A plan by indices of a :class:`~.cluster.Cluster` (in run order)."""

    instance: IntArray
    source: IntArray
    target: IntArray
    step: IntArray
    reason: list[str]
    reached: bool
    why: str
    freed: IntArray
    slots_before: FloatArray
    slots_after: FloatArray
    empty_before: int
    empty_after: int


class _Planner:
    def __init__(self, cluster: Cluster, budget: plans.Budget,
                 weights: FloatArray) -> None:
        self.c = cluster
        self.state = State(cluster)
        self.budget = budget
        w = np.zeros(N_RESOURCES)
        given = np.asarray(weights, dtype=np.float64).reshape(-1)
        w[:min(given.size, N_RESOURCES)] = given[:N_RESOURCES]
        #: best fit's weights; with dedicated CPUs, PCPU weighs as VCPU
        self.weights = w
        self.weights_pcpu = w.copy()
        if not w[model.PCPU]:
            self.weights_pcpu[model.PCPU] = w[0]
        self.moves: list[tuple[int, int, int, int, str]] = []
        self.memory = 0.0
        self.max_moves = (budget.max_migrations
                          if budget.max_migrations is not None else 1 << 62)
        self.max_memory = (budget.max_memory_gib * 1024.0
                           if budget.max_memory_gib is not None
                           else float('inf'))
        c = cluster
        self.size = np.ones(c.host_of.shape[0], dtype=np.int64)
        for lead, members in c.members.items():
            self.size[lead] = members.size
        lead = c.movable_units()
        self.leads = lead[self.size[lead] <= budget.max_concurrent_per_host]
        #: the budget limits migrations and not memory: plans that take
        #: fewer migrations come first
        self.by_count = (budget.max_migrations is not None
                         and budget.max_memory_gib is None)

    # --- budget and changes --------------------------------------------------

    def affordable(self, n_moves: int, memory: float) -> bool:
        return (len(self.moves) + n_moves <= self.max_moves
                and self.memory + memory
                <= self.max_memory + 1e-9 * max(self.max_memory, 1.0))

    def move_unit(self, lead: int, target: int, reason: str) -> None:
        st = self.state
        for i in self.c.unit_members(lead).tolist():
            source = int(st.host_of[i])
            st.move(i, target)
            self.moves.append((i, source, target, lead, reason))
            self.memory += float(self.c.requests[i, 1])

    def rollback(self, mark: int) -> None:
        st = self.state
        while len(self.moves) > mark:
            i, source, target, _, _ = self.moves.pop()
            st.add(i, source)
            st.remove(i, target)
            st.host_of[i] = source
            st.moved[i] = False
            self.memory -= float(self.c.requests[i, 1])

    def best(self, lead: int, idx: IntArray) -> int:
        """Best fit among hosts ``idx`` (empty hosts last), -1 if none."""
        if not idx.size:
            return -1
        st = self.state
        empty = (st.count[idx] == 0) & ~(st.residual[idx] > 0).any(axis=1)
        request = self.c.unit_requests[lead]
        weights = (self.weights_pcpu if request[model.PCPU] > 0
                   else self.weights)
        score = scores.best_fit(self.c.capacity[idx], st.used[idx],
                                request, weights, empty)
        keys = np.rint(score * _TIE_SCALE)
        return int(idx[int(np.argmax(keys))])

    # --- isolate ------------------------------------------------------------

    def isolate(self) -> tuple[bool, str]:
        """End every host where an isolated group shares the host with
        others, with the fewest moves: on each, the group with the most
        instances there stays (the next if the others cannot all move),
        the others go where best fit puts them among the hosts isolation
        lets them use (an empty host last)."""
        c, st = self.c, self.state
        if st.isolated is None:
            return True, 'no project is isolated'
        mixed = np.flatnonzero((st.isolated > 0).sum(axis=1) > 1)
        if not mixed.size:
            return True, 'no host breaks isolation'
        movable = np.zeros(c.host_of.shape[0], dtype=bool)
        movable[self.leads] = True
        stuck = []
        for h in mixed.tolist():
            here = np.flatnonzero(c.present & (st.host_of == h))
            groups = c.isolation[here]
            present, counts = np.unique(groups, return_counts=True)
            done = False
            for keep in present[np.argsort(-counts, kind='stable')]:
                leaving = here[groups != keep]
                leads = sorted({int(c.unit[i]) for i in leaving.tolist()})
                if not all(movable[lead] for lead in leads):
                    continue
                if any(int(st.host_of[m]) != h or
                       c.isolation[m] == keep
                       for lead in leads for m in c.unit_members(lead)):
                    continue    # a unit spans hosts or groups: not here
                n_moves = sum(int(self.size[lead]) for lead in leads)
                memory = float(c.unit_requests[leads, 1].sum())
                if not self.affordable(n_moves, memory):
                    continue
                mark = len(self.moves)
                allowed = c.enabled.copy()
                allowed[h] = False
                for lead in leads:
                    target = self.best(lead, st.targets(lead, allowed))
                    if target < 0:
                        self.rollback(mark)
                        break
                    self.move_unit(lead, target,
                                   f'ends shared use of {c.host_names[h]}')
                else:
                    done = True
                    break
            if not done:
                stuck.append(c.host_names[h])
        if stuck:
            return False, (f'{len(mixed) - len(stuck)} of {len(mixed)} '
                           'host(s) breaking isolation fixed; not '
                           f'{", ".join(stuck)} (no room, an instance that '
                           'may not move, or the budget)')
        return True, f'{len(mixed)} host(s) breaking isolation fixed'

    # --- free-hosts ---------------------------------------------------------

    def free_hosts(self, goal: plans.Goal) -> tuple[bool, str, list[int]]:
        c, st = self.c, self.state
        n_hosts = len(c)
        stays = np.zeros(n_hosts, dtype=np.int64)
        movable = np.zeros(c.host_of.shape[0], dtype=bool)
        movable[self.leads] = True
        keep = c.present & ~movable[c.unit]
        np.add.at(stays, c.host_of[keep], 1)
        cost = np.zeros(n_hosts)
        np.add.at(cost, c.host_of[c.present], c.memory[c.present])
        candidates = np.flatnonzero((st.count > 0) & (stays == 0)
                                    & ~(st.residual > 0).any(axis=1))
        if self.budget.max_migrations is not None and \
                self.budget.max_memory_gib is None:
            # migrations are what is scarce: fewest first
            keys = (cost[candidates], st.count[candidates])
        else:
            keys = (st.count[candidates], cost[candidates])
        order = candidates[np.lexsort(keys)]
        by_host: dict[int, list[int]] = {}
        leads = self.leads[np.lexsort((-c.unit_requests[self.leads, 0],
                                       -c.unit_requests[self.leads, 1]))]
        for lead in leads.tolist():
            by_host.setdefault(int(c.host_of[lead]), []).append(lead)
        in_use = ~st.empty()
        received = np.zeros(n_hosts, dtype=bool)
        freed: list[int] = []
        over_budget = 0
        # room targets kept: no drain leaves one with fewer slots than
        # it had or asks, whichever is less
        shapes = np.array([t.vector for t in goal.room],
                          dtype=np.float64).reshape(-1, N_RESOURCES)
        counts = np.array([t.count for t in goal.room], dtype=np.float64)
        kept = kept_room = None
        if shapes.size:
            kept = np.minimum(st.slots(shapes).sum(axis=0), counts)
            kept_room = (shapes, counts)
        for h in order.tolist():
            if goal.hosts is not None and len(freed) >= goal.hosts:
                break
            if received[h]:
                continue        # what it received may not move again
            units = by_host.get(h, [])
            n_moves = int(self.size[units].sum())
            memory = float(c.unit_requests[units, 1].sum())
            if not self.affordable(n_moves, memory):
                over_budget += 1
                continue
            mark = len(self.moves)
            allowed = in_use.copy()
            allowed[h] = False
            reason = f'empties {c.host_names[h]}'
            targets = []
            for lead in units:
                idx = st.targets(lead, allowed)
                if kept_room is not None:
                    idx = self.least_harm(lead, idx, *kept_room)
                target = self.best(lead, idx)
                if target < 0:
                    self.rollback(mark)
                    break
                self.move_unit(lead, target, reason)
                targets.append(target)
            else:
                if kept is not None and (
                        st.slots(shapes).sum(axis=0) < kept).any():
                    self.rollback(mark)
                    continue
                freed.append(h)
                in_use[h] = False
                received[targets] = True
        if goal.hosts is not None:
            reached = len(freed) >= goal.hosts
            why = (f'{len(freed)} host(s) emptied' if reached else
                   f'only {len(freed)} of {goal.hosts} host(s) can be '
                   'emptied' + (f' within the budget ({over_budget} more '
                                'would exceed it)' if over_budget else ''))
        elif over_budget:
            reached = False
            why = (f'{len(freed)} host(s) emptied; {over_budget} more '
                   'host(s) would exceed the budget')
        else:
            reached = True
            why = (f'{len(freed)} host(s) emptied; no other host can be '
                   'emptied')
        return reached, why, freed

    def least_harm(self, lead: int, idx: IntArray, shapes: FloatArray,
                   counts: FloatArray) -> IntArray:
        """The hosts of ``idx`` where the unit led by ``lead`` destroys
        fewest slots of the room targets (``shapes``, ``counts``) that
        would then fall short."""
        if not idx.size:
            return idx
        cols = np.flatnonzero(shapes.any(axis=0))
        shapes = shapes[:, cols]
        free = self.state.free()[:, cols]
        total = scores.slot_counts(free, shapes).sum(axis=0)
        loss = scores.slot_counts(free[idx], shapes) - scores.slot_counts(
            np.maximum(free[idx] - self.c.unit_requests[lead, cols], 0.0),
            shapes)
        harm = np.where(total - loss < counts, loss, 0.0).sum(axis=1)
        return idx[harm == harm.min()]

    # --- room ---------------------------------------------------------------

    def room(self, targets: Sequence[plans.RoomTarget], whole: bool = False
             ) -> tuple[bool, str]:
        c, st = self.c, self.state
        shapes = np.array([t.vector for t in targets],
                          dtype=np.float64).reshape(-1, N_RESOURCES)
        counts = np.array([t.count for t in targets], dtype=np.float64)
        order = sorted(range(len(targets)),
                       key=lambda s: (-shapes[s, 1], -shapes[s, 0], s))
        limit = np.where(c.headroom > 0, c.capacity * (1.0 - c.headroom),
                         c.capacity)
        limit[~c.enabled] = 0.0
        self.limit = limit
        # slots are counted on the resources some target asks for only
        self.cols = np.flatnonzero(shapes.any(axis=0))
        self.limit_asked = limit[:, self.cols]
        leads = self.leads[c.enabled[c.host_of[self.leads]]]
        rows = leads[np.lexsort((c.unit_requests[leads, 1],
                                 c.host_of[leads]))]
        self.rows = rows
        self.row_host = c.host_of[rows]
        first = np.ones(rows.size, dtype=bool)
        first[1:] = self.row_host[1:] != self.row_host[:-1]
        self.row_first = np.maximum.accumulate(
            np.where(first, np.arange(rows.size), 0))
        over_budget = False
        #: targets that cannot get another slot (the first one's reason)
        given_up: list[int] = []
        first_why = ''
        #: the target being served, and the moves made before it
        current, mark = -1, 0
        while True:
            slots = st.slots(shapes)
            total = slots.sum(axis=0)
            short = [s for s in order
                     if total[s] < counts[s] and s not in given_up]
            if not short:
                if given_up:
                    return False, first_why
                return True, 'every room target fits'
            s = short[0]
            if s != current:
                current, mark = s, len(self.moves)
            shape, asked = shapes[s], shapes[s] > 0
            opened = False
            # the ranking of one pass serves several slots; each host's
            # shortfall is taken afresh when its turn comes
            for h, seg in self.evictions(shape, slots[:, s]):
                if total[s] >= counts[s]:
                    break
                free = np.maximum(self.limit[h] - st.used[h], 0.0)
                have = scores.slot_counts(free[None], shape[None])[0, 0]
                need = np.maximum((have + 1.0) * shape - free, 0.0)
                banned: set[int] = set()
                for _ in range(RETRIES):
                    units = self.cheapest_cover(seg, need, asked, banned)
                    if not units:
                        break
                    n_moves = int(self.size[units].sum())
                    memory = float(c.unit_requests[units, 1].sum())
                    if not self.affordable(n_moves, memory):
                        over_budget = True
                        break
                    failed = self.evict(h, units, shapes, counts, total,
                                        s, targets[s].name)
                    if failed is None:
                        opened = True
                        total = st.slots(shapes).sum(axis=0)
                    if failed is None or (failed < 0 and not self.by_count):
                        break
                    if failed < 0:
                        # the largest may have taken another target's
                        # room: try without it
                        failed = max(units, key=lambda u: (
                            c.unit_requests[u, 1], c.unit_requests[u, 0]))
                    banned.add(failed)
            if not opened:
                # the other targets may still get their slots
                given_up.append(s)
                if whole:
                    self.rollback(mark)
                if not first_why:
                    name = targets[s].name
                    first_why = (
                        f'{name}: {int(total[s])} of {int(counts[s])} fit; '
                        + ('opening another slot would exceed the budget'
                           if over_budget else
                           'no host can open another slot by moving '
                           'instances'))

    def evictions(self, shape: FloatArray, slots: FloatArray):
        """``(host, units)`` for the hosts where evicting some of
        ``units`` (movable, smallest memory first) opens one more slot of
        ``shape``, cheapest first (memory moved, then migrations)."""
        c, st = self.c, self.state
        rows = self.rows
        if not rows.size:
            return
        free = np.maximum(self.limit - st.used, 0.0)
        need = np.maximum((slots[:, None] + 1.0) * shape - free, 0.0)
        asked = shape > 0
        tol = 0.5 * scores.EPSILON * shape
        elig = ~st.moved[rows]
        if self.by_count:
            # a unit no smaller than the shape takes a slot wherever it
            # goes: moving it never gains one
            elig &= (((c.unit_requests[rows] < shape - tol) & asked).any(
                axis=1) & self.relocatable(rows))
        req = c.unit_requests[rows] * elig[:, None]
        cum = np.cumsum(req, axis=0)
        cum0 = np.vstack([np.zeros((1, N_RESOURCES)), cum])
        inside = cum - cum0[self.row_first]
        need_r = need[self.row_host] - tol
        cover = ((inside >= need_r) | ~asked).all(axis=1) & elig
        single = ((c.unit_requests[rows] >= need_r) | ~asked).all(
            axis=1) & elig
        n_elig = np.cumsum(elig * self.size[rows])
        n_elig0 = np.concatenate([[0], n_elig])
        count_in = n_elig - n_elig0[self.row_first]
        cost = np.full(len(c), np.inf)
        moves = np.zeros(len(c), dtype=np.int64)
        hit = np.flatnonzero(cover)
        if hit.size:
            hosts, pos = np.unique(self.row_host[hit], return_index=True)
            at = hit[pos]
            cost[hosts] = inside[at, 1]
            moves[hosts] = count_in[at]
        hit = np.flatnonzero(single)
        if hit.size:
            hosts, pos = np.unique(self.row_host[hit], return_index=True)
            at = hit[pos]
            mem = c.unit_requests[rows[at], 1]
            better = (mem < cost[hosts]) | ((mem == cost[hosts])
                                            & (self.size[rows[at]]
                                               < moves[hosts]))
            cost[hosts[better]] = mem[better]
            moves[hosts[better]] = self.size[rows[at[better]]]
        if self.by_count:
            # the fewest migrations: the largest units first
            last = np.searchsorted(self.row_host, self.row_host,
                                   side='right') - 1
            after = cum[last] - cum + req
            cover = ((after >= need_r) | ~asked).all(axis=1) & elig
            hit = np.flatnonzero(cover)[::-1]
            cost = np.full(len(c), np.inf)
            moves = np.zeros(len(c), dtype=np.int64)
            if hit.size:
                # per host, the last row from which the largest cover
                hosts, pos = np.unique(self.row_host[hit], return_index=True)
                at = hit[pos]
                moves[hosts] = (n_elig[last[at]] - n_elig[at]
                                + self.size[rows[at]])
                cost[hosts] = after[at, 1]
        ok = np.flatnonzero(np.isfinite(cost) & c.enabled)
        if not ok.size:
            return
        if self.by_count:
            ok = ok[np.lexsort((cost[ok], moves[ok]))][:ROOM_TRIES]
        else:
            ok = ok[np.lexsort((moves[ok], cost[ok]))][:ROOM_TRIES]
        starts = np.searchsorted(self.row_host, ok, side='left')
        ends = np.searchsorted(self.row_host, ok, side='right')
        for h, a, b in zip(ok.tolist(), starts.tolist(), ends.tolist()):
            yield h, [int(r) for r, e in zip(rows[a:b].tolist(),
                                              elig[a:b].tolist()) if e]

    def relocatable(self, units: IntArray) -> BoolArray:
        """Which ``units`` fit the free capacity (headroom kept) of some
        enabled host other than their own, as things stand."""
        c, st = self.c, self.state
        free = np.maximum(self.limit - st.used, 0.0)
        shapes, inverse = np.unique(c.unit_requests[units], axis=0,
                                    return_inverse=True)
        inverse = inverse.reshape(-1)
        tol = 0.5 * scores.EPSILON * np.maximum(shapes, 1.0)
        fits = (free[None, :, :] >= shapes[:, None, :] - tol[:, None, :]
                ).all(axis=2) & c.enabled[None, :]
        where = fits.sum(axis=1)[inverse]
        own = fits[inverse, c.host_of[units]]
        return where - own > 0

    def cheapest_cover(self, seg: list[int], need: FloatArray,
                       asked: FloatArray, banned: set[int]) -> list[int]:
        """The cheapest units of ``seg`` (smallest memory first) that
        cover ``need``, leaving out ``banned``: the smallest first until
        it is covered, then, largest first, those not needed dropped; or
        the one smallest that covers it alone if that moves less memory.
        Empty if they cannot cover it."""
        req = self.c.unit_requests
        tol = 0.5 * scores.EPSILON * np.maximum(need, 1.0)

        def covers(got):
            return bool(((got >= need - tol) | ~asked).all())

        seg = [u for u in seg if u not in banned]
        if self.by_count:
            return self.fewest_cover(seg, need, covers)
        chosen: list[int] = []
        got = np.zeros(N_RESOURCES)
        for lead in seg:
            chosen.append(lead)
            got = got + req[lead]
            if covers(got):
                break
        else:
            return []
        for lead in sorted(chosen, key=lambda u: -req[u, 1]):
            if covers(got - req[lead]):
                chosen.remove(lead)
                got = got - req[lead]
        cost = sum(req[u, 1] for u in chosen)
        for lead in seg:
            if req[lead, 1] >= cost:
                break
            if covers(req[lead]):
                return [lead]
        return chosen

    def fewest_cover(self, seg: list[int], need: FloatArray,
                     covers) -> list[int]:
        """The fewest units of ``seg`` (smallest memory first) that cover
        ``need`` (as many as the largest first take), and among those the
        smallest: each in turn is the smallest unit with which the largest
        of the others can still cover it. Empty if they cannot."""
        req = self.c.unit_requests
        got = np.zeros(N_RESOURCES)
        k = 0
        for lead in reversed(seg):
            got = got + req[lead]
            k += 1
            if covers(got):
                break
        else:
            return []
        chosen: list[int] = []
        got = np.zeros(N_RESOURCES)
        rest = list(seg)
        while not covers(got):
            for pos, lead in enumerate(rest):
                n = k - len(chosen) - 1
                others = rest[:pos] + rest[pos + 1:]
                top = others[len(others) - n:] if n > 0 else []
                if covers(got + req[lead] + req[top].sum(axis=0)):
                    break
            else:
                return []
            chosen.append(lead)
            got = got + req[lead]
            del rest[pos]
        return chosen

    def evict(self, h: int, units: list[int], shapes: FloatArray,
              counts: FloatArray, total: FloatArray, s: int, name: str
              ) -> int | None:
        """Re-home ``units`` from ``h`` and keep the moves if room target
        ``s`` gained a slot and no target fell short that was not.

        Each unit, largest first, goes where it destroys fewest slots of
        the targets that would then fall short, best fit among those.
        Returns None when kept; otherwise nothing is moved and the result
        is the first unit that found no place, or -1 (no gain).
        """
        c, st = self.c, self.state
        mark = len(self.moves)
        allowed = np.ones(len(c), dtype=bool)
        allowed[h] = False
        reason = f'room for {name} on {c.host_names[h]}'
        req = c.unit_requests
        cols = self.cols
        asked = shapes[:, cols]
        now = total.copy()
        for lead in sorted(units, key=lambda u: (-req[u, 1], -req[u, 0])):
            idx = st.targets(lead, allowed)
            need = req[lead, cols]
            if idx.size:
                free = np.maximum(self.limit_asked[idx]
                                  - st.used[idx[:, None], cols], 0.0)
                loss = (scores.slot_counts(free, asked)
                        - scores.slot_counts(
                            np.maximum(free - need, 0.0), asked))
                harm = np.where(now - loss < counts, loss, 0.0).sum(axis=1)
                idx = idx[harm == harm.min()]
            target = self.best(lead, idx)
            if target < 0:
                self.rollback(mark)
                return lead
            free = np.maximum(self.limit_asked[target]
                              - st.used[target, cols], 0.0)
            now -= (scores.slot_counts(free[None], asked)
                    - scores.slot_counts(
                        np.maximum(free - need, 0.0)[None],
                        asked))[0]
            self.move_unit(lead, target, reason)
        after = st.slots(shapes).sum(axis=0)
        if after[s] > total[s] and (after >= np.minimum(total,
                                                          counts)).all():
            return None
        self.rollback(mark)
        return -1


def assign_steps(cluster: Cluster, instance: IntArray, source: IntArray,
                 target: IntArray, lead: IntArray,
                 concurrency: int) -> IntArray:
    """Step of each move (moves in planning order; a unit's moves are
    consecutive and share a step).

    A move runs in a later step than every earlier move out of its target
    (whose room it may need), every earlier move of its server group
    (whose counts it was checked against) and every earlier move of an
    instance its scheduler hints relate it to; otherwise as early as at most
    ``concurrency`` moves per host and step allow. Run step by step, in
    planning order within a step, every move then finds no less room than
    the last move into its target it runs with or after was planned
    against, and its group as it was planned.
    """
    n = instance.shape[0]
    steps = np.zeros(n, dtype=np.int64)
    last_out: dict[int, int] = {}
    last_group: dict[int, int] = {}
    load: dict[tuple[int, int], int] = {}
    group = cluster.group
    related = cluster.related
    last_instance: dict[int, int] = {}
    k = 0
    while k < n:
        j = k + 1
        while j < n and lead[j] == lead[k]:
            j += 1
        size = j - k
        s, t = int(source[k]), int(target[k])
        g = int(group[instance[k]])
        step = last_out.get(t, 0) + 1
        if g >= 0:
            step = max(step, last_group.get(g, 0) + 1)
        if related:
            for i in instance[k:j].tolist():
                for r in related.get(i, ()):
                    step = max(step, last_instance.get(int(r), 0) + 1)
        while (load.get((step, s), 0) + size > concurrency
               or load.get((step, t), 0) + size > concurrency):
            step += 1
        steps[k:j] = step
        load[(step, s)] = load.get((step, s), 0) + size
        load[(step, t)] = load.get((step, t), 0) + size
        last_out[s] = max(last_out.get(s, 0), step)
        if g >= 0:
            last_group[g] = max(last_group.get(g, 0), step)
        if related:
            for i in instance[k:j].tolist():
                if i in related:
                    last_instance[i] = step
        k = j
    return steps


def plan_cluster(cluster: Cluster, goal: plans.Goal,
                 budget: plans.Budget | None = None, *,
                 weights: FloatArray | None = None,
                 report_room: Sequence[plans.RoomTarget] = ()) -> Result:
    """Plan on arrays (the simulator's entry point; :func:`plan` for a
    snapshot). ``weights`` may leave PCPU out (three values)."""
    budget = budget or plans.Budget()
    if weights is None:
        weights = resources.resource_weights({'VCPU': 1.0, 'MEMORY_MB': 1.0,
                                              'DISK_GB': 1.0})
    planner = _Planner(cluster, budget, weights)
    room = goal.room if goal.kind == plans.ROOM or not report_room \
        else tuple(report_room)
    shapes = np.array([t.vector for t in room],
                      dtype=np.float64).reshape(-1, N_RESOURCES)
    start = planner.state
    slots_before = start.slots(shapes).sum(axis=0)
    was_empty = start.empty()
    empty_before = int(was_empty.sum())
    if goal.kind == plans.ROOM:
        reached, why = planner.room(goal.room, goal.whole)
    elif goal.kind == plans.ISOLATE:
        reached, why = planner.isolate()
    else:
        reached, why, _ = planner.free_hosts(goal)
    st = planner.state
    now_empty = st.empty()
    freed = np.flatnonzero(now_empty & ~was_empty)
    moves = planner.moves
    inst = np.array([m[0] for m in moves], dtype=np.int64)
    src = np.array([m[1] for m in moves], dtype=np.int64)
    tgt = np.array([m[2] for m in moves], dtype=np.int64)
    lead = np.array([m[3] for m in moves], dtype=np.int64)
    steps = assign_steps(cluster, inst, src, tgt, lead,
                         budget.max_concurrent_per_host)
    run = np.lexsort((np.arange(inst.size), steps))
    return Result(inst[run], src[run], tgt[run], steps[run],
                  [moves[k][4] for k in run.tolist()], reached, why, freed,
                  slots_before, st.slots(shapes).sum(axis=0), empty_before,
                  int(now_empty.sum()))


def plan(snapshot: model.Snapshot, goal: plans.Goal,
         budget: plans.Budget | None = None,
         policy: model.MovePolicy | None = None, *,
         weights: FloatArray | None = None,
         report_room: Sequence[plans.RoomTarget] = (),
         isolation: iso.Policy | None = None) -> plans.Plan:
    """Plan moves on ``snapshot`` towards ``goal`` within ``budget``.

    ``isolation``: the tenant isolation policy no move may break (a move
    never puts an instance on a host holding another isolation group's).
    ``weights`` are the resource weights of best fit
    (``packing_resource_weights``; default all 1.0); ``report_room`` the
    room targets whose slots a ``free-hosts`` plan reports (for example
    the ``large_slot_flavors``).
    """
    began = time.perf_counter()
    budget = budget or plans.Budget()
    policy = policy or model.MovePolicy()
    cluster = Cluster.from_snapshot(snapshot, policy, isolation)
    out = plan_cluster(cluster, goal, budget, weights=weights,
                       report_room=report_room)
    return to_plan(cluster, out, goal, budget, policy,
                   time.perf_counter() - began, report_room,
                   snapshot.warnings)


def to_plan(cluster: Cluster, out: Result, goal: plans.Goal,
            budget: plans.Budget, policy: model.MovePolicy,
            planning_s: float,
            report_room: Sequence[plans.RoomTarget] = (),
            warnings: Sequence[str] = ()) -> plans.Plan:
    """A :class:`~.plan.Plan` with names from an index-level result."""
    hosts = cluster.host_names
    ids = cluster.instance_ids
    moves = tuple(
        plans.Move(ids[i], hosts[s], hosts[t], int(step), reason,
                      float(cluster.requests[i, 1]))
        for i, s, t, step, reason in zip(
            out.instance.tolist(), out.source.tolist(),
            out.target.tolist(), out.step.tolist(), out.reason))
    room = goal.room if goal.kind == plans.ROOM or not report_room \
        else tuple(report_room)
    return plans.Plan(
        goal, budget, policy, moves, out.reached, out.why,
        tuple(hosts[h] for h in out.freed.tolist()),
        {t.name: int(v) for t, v in zip(room, out.slots_before.tolist())},
        {t.name: int(v) for t, v in zip(room, out.slots_after.tolist())},
        out.empty_before, out.empty_after, round(planning_s, 6),
        tuple(warnings))

