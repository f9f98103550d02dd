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
"""Lower bound and hosts-needed search.

Lower bound
    ``max over time of max over resources of ceil(alive demand / host
    capacity)`` for identical hosts; for a mixed fleet, the smallest number
    of its hosts, largest first, whose capacity covers the peak demand of
    each resource.  No fleet with fewer hosts can hold the VMs alive at the
    peak, whatever the policy.  A VM that fits no host of the fleet, even
    an empty one, is an error (:class:`Unplaceable`): no number of such
    hosts places it, so it can neither bound nor size a fleet.

Hosts needed
    The smallest number ``N`` of identical hosts on which a policy places
    every VM of the workload with no rejection.  Policies are not monotone in
    ``N`` (spreading can pass at ``N`` and fail at ``N + 1``), so no size is
    skipped: sizes are tried upward from the lower bound and the first one
    that passes is the answer.  Every replay stops at its first rejection.

    To make this affordable the sizes are taken in windows ``[lo, U)``
    (8 sizes, or an eighth of the lower bound, doubling per window) and,
    when the engine allows it, one replay on ``U`` hosts stands for the
    replays on all the smaller sizes of the window for as long as they
    provably make the same decisions:

    * every filter and weigher judges a host by that host's own state, and
      hosts of the same size and state get the same weight, and the
      tie-break prefers the lower index; so while the ``U``-host replay has
      placed nothing on hosts ``N`` and above, the ``N``-host replay has
      made exactly the same decisions on hosts ``0..N-1``, provided that
      at each decision the extra empty hosts did not change the weights of
      the others: true when every active weigher has a fixed range
      (``minval`` and ``maxval``), and otherwise while hosts ``0..N-1``
      still include an empty host (a twin of the extra ones, which then
      leaves every minimum and maximum unchanged);
    * at the first decision where that no longer holds, the ``N``-host
      replay continues on its own from a copy of the shared state, until its
      first rejection or the end;
    * a rejection of the ``U``-host replay is a rejection of every ``N``-host
      replay that still shares its decisions.

    The large-slot weigher with ``large_slot_spare_host_share`` above 0
    depends on how many candidates are empty: while at least that share of
    them is, its weights are all 0, otherwise it counts slot losses.  The
    ``N``-host replay has ``U - N`` fewer candidates, all empty, so the
    window also compares, at every decision, the regime each size would be
    in; a size whose regime differs continues on its own from there.  Any
    other weigher that depends on the empty candidates, and the reference
    engine, which makes no such assumption about the plugins, replay every
    size from the start.  Both ways give the same answer (a test checks
    it); the search stops when the number of hosts exceeds
    the peak number of VMs alive at once (then an empty host is always
    available, and a policy that still rejects will never pass).

    With a consolidation mode every size is replayed from the start too: a
    migration plan depends on the whole fleet, empty hosts included.

Nothing here imports Nova.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import model
from nova_scale_ext.simulate.replay import (
    Chooser,
    Consolidation,
    Progress,
    replay,
)
from nova_scale_ext.simulate.workload import Workload, quoted

FloatArray = npt.NDArray[np.float64]
MakeChooser = Callable[[model.Ledger], Chooser]
MakeDefrag = Callable[[model.Ledger, Chooser], Consolidation]


class Unplaceable(ValueError):
    """A VM of the workload fits no host of the fleet, even empty."""


_UNITS = (('vCPUs', ''), ('MiB', ' of memory'), ('GiB', ' of disk'))


def check_fits(workload: Workload, fleet: fleet_mod.Fleet,
               requests: FloatArray) -> None:
    """Raise :class:`Unplaceable` naming the first VM that fits no empty
    host of ``fleet`` (after reserved amounts and allocation ratios)."""
    if not len(workload) or not fleet.classes:
        return
    one = fleet_mod.Fleet(tuple(dataclasses.replace(c, count=1)
                                for c in fleet.classes))
    room = np.minimum(one.capacity, one.total)          # (classes, 3)
    shapes, shape_of = model.shapes_of(requests)
    fits = ((shapes[:, None, :] <= room[None]) | (shapes[:, None, :] <= 0)
            ).all(axis=2).any(axis=1)
    if fits.all():
        return
    vm = int(np.flatnonzero(~fits[shape_of])[0])
    asked = requests[vm]
    largest = room.max(axis=0)
    hosts = (f'a host of {fleet.classes[0].size_text()}'
             if len(fleet.classes) == 1 else 'any host of the fleet')
    over = [r for r in range(3) if asked[r] > largest[r]]
    amounts = [f'{x:,.0f} {unit}{label}' for x, (unit, label)
               in zip(asked, _UNITS)]
    if over:
        r = over[0]
        what = (f'asks {amounts[r]}, more than {hosts} offers '
                f'({largest[r]:,.0f} {_UNITS[r][0]})')
    else:
        what = f'({", ".join(amounts)}) fits no single host of the fleet'
    raise Unplaceable(f'{workload.name}: VM {quoted(str(workload.ids[vm]))} '
                      f'{what}: no number of such hosts can place it')


def hosts_for(demand: float, capacity: float) -> int:
    """Smallest ``k`` with ``k * capacity >= demand`` (exact at integers)."""
    if demand <= 0:
        return 0
    if capacity <= 0:
        raise ValueError('no capacity')
    k = max(math.ceil(demand / capacity), 1)
    while k > 1 and (k - 1) * capacity >= demand:
        k -= 1
    while k * capacity < demand:
        k += 1
    return k


def lower_bound(workload: Workload, fleet: fleet_mod.Fleet,
                requests: FloatArray) -> int:
    """Lower bound on the hosts of ``fleet``'s kind any policy needs.

    For one host class, ``ceil(peak demand / host capacity)`` per resource;
    otherwise hosts are counted largest first (per resource), and beyond the
    fleet's own hosts as more copies of its largest.  Raises
    :class:`Unplaceable` if a VM fits no host (:func:`check_fits`).
    """
    check_fits(workload, fleet, requests)
    peak = workload.alive_peak(requests)
    if len(fleet.classes) == 1:
        caps = fleet.resized(1).capacity[0]
        bound = 0
        for r in range(3):
            if peak[r] > 0:
                if caps[r] <= 0:
                    raise ValueError('the hosts do not offer a resource the '
                                     'workload asks for')
                bound = max(bound, hosts_for(peak[r], caps[r]))
        return bound
    bound = 0
    for r in range(3):
        if peak[r] <= 0:
            continue
        caps = np.sort(fleet.capacity[:, r])[::-1]
        if caps.size == 0 or caps[0] <= 0:
            raise ValueError('the hosts do not offer a resource the '
                             'workload asks for')
        total = np.cumsum(caps)
        k = int(np.searchsorted(total, peak[r], side='left'))
        if k >= caps.size:
            k = caps.size + hosts_for(peak[r] - total[-1], caps[0]) - 1
        bound = max(bound, k + 1)
    return bound


@dataclasses.dataclass
class SearchResult:
    hosts_needed: int | None
    lower_bound: int
    #: fleet size -> whether that size placed every VM (sizes resolved)
    tested: dict[int, bool] = dataclasses.field(default_factory=dict)
    replays: int = 0
    decisions: int = 0
    wall_s: float = 0.0
    note: str = ''
    #: the consolidation mode of the replay at ``hosts_needed`` hosts
    defrag: Consolidation | None = None


class _Window:
    """One shared replay on ``hi`` hosts standing for sizes ``lo..hi-1``."""

    def __init__(self, lo: int, hi: int, ledger: model.Ledger,
                 sensitive: bool, spare_share: float | None = None) -> None:
        self.hi = hi
        self.pending = list(range(lo, hi))
        self.failed: set[int] = set()
        self.forks: dict[int, tuple[int, model.Ledger]] = {}
        self.ledger = ledger
        self.sensitive = sensitive
        self.spare_share = spare_share
        #: the replay's chooser (its ``pool`` with a spare share)
        self.chooser: Chooser | None = None

    def fork(self, n: int, pos: int) -> None:
        self.forks[n] = (pos, self.ledger.head(n))
        self.pending.remove(n)

    def regime_splits(self) -> list[int]:
        """The pending sizes whose large-slot weigher would not be in the
        regime the ``hi``-host replay's was in at this decision: with
        ``n`` hosts, the ``hi - n`` extra hosts (empty) are not among the
        candidates."""
        cand, empty = self.chooser.pool           # type: ignore[union-attr]
        share = self.spare_share

        def neutral(c: int, e: int) -> bool:
            # as large_slot_loss decides: empty.mean() < spare_share
            return c > 0 and not e / c < share

        here = neutral(cand, empty)
        out = []
        for n in self.pending:
            extra = self.hi - n if empty else 0
            if neutral(cand - extra, empty - extra) != here:
                out.append(n)
        return out

    def __call__(self, pos: int, vm: int, host: int) -> bool:
        pending = self.pending
        if not pending:
            return False
        if host < 0:
            self.failed.update(pending)
            pending.clear()
            return False
        if self.spare_share is not None:
            for n in self.regime_splits():
                self.fork(n, pos)
            if not pending:
                return False
        reach = host
        if self.sensitive and reach < pending[0]:
            reach = max(reach, self.ledger.lowest_empty())
        if reach < pending[0]:
            return False
        cut = bisect.bisect_right(pending, reach)
        for n in pending[:cut]:
            self.fork(n, pos)
        return False


def search(make_chooser: MakeChooser, workload: Workload,
           requests: FloatArray, base: fleet_mod.Fleet, bound: int, *,
           share_prefixes: bool = True, sensitive: bool = True,
           progress: Progress | None = None,
           limit: int | None = None,
           make_defrag: MakeDefrag | None = None,
           spare_share: float | None = None,
           max_candidates: int | None = None) -> SearchResult:
    """Smallest number of hosts of ``base``'s single class with no
    rejection.

    ``make_chooser(ledger)`` gives the policy's chooser for a ledger;
    ``sensitive`` says whether a weight may depend on which other hosts are
    candidates (see the module docstring); ``limit`` caps the sizes tried
    (default: the peak number of VMs alive at once, plus one);
    ``make_defrag(ledger, chooser)`` gives a consolidation mode for each
    replay (then no replay shares another's prefix); ``spare_share`` is the
    large-slot weigher's ``large_slot_spare_host_share`` when its weights
    depend on how many candidates are empty (the chooser then tells the
    candidates and empty ones of each decision as its ``pool``), and
    ``max_candidates`` placement's ``max_placement_results`` (no window
    wider than that shares a replay when ``spare_share`` is given); both
    default to what the chooser's ``engine`` says, if it has them.
    """
    began = time.perf_counter()
    result = SearchResult(None, bound)
    n_vms = len(workload)
    if n_vms == 0:
        result.hosts_needed = 0
        return result
    one = base.resized(1)
    shapes, _ = model.shapes_of(requests)
    probe = model.Placement(model.Ledger(one, 0), shapes, 1)
    for k in range(len(shapes)):
        if not probe.fits_empty_host(k).all():
            vcpu, mem, disk = shapes[k].tolist()
            result.note = (f'a VM of {int(vcpu)} vCPU, {int(mem)} MiB, '
                           f'{int(disk)} GiB does not fit an empty host')
            result.wall_s = time.perf_counter() - began
            return result
    top = limit if limit is not None else workload.peak_alive_vms() + 1
    top = max(top, bound)
    lo = max(bound, 1)
    width = max(8, lo // 8)
    if make_defrag is not None:
        share_prefixes = False
    if share_prefixes and spare_share is None:
        # a chooser whose weights turn on how many candidates are empty
        # says so through its engine: a caller cannot forget it
        engine = getattr(make_chooser(model.Ledger(one, 0)), 'engine', None)
        spare_share = getattr(engine, 'spare_share', None)
        if spare_share is not None and max_candidates is None:
            max_candidates = getattr(engine, 'limit', None)

    def run(n: int, ledger: model.Ledger | None = None, start: int = 0,
            observer: _Window | None = None) -> bool:
        if ledger is None:
            ledger = model.Ledger(base.resized(n), n_vms)
        chooser = make_chooser(ledger)
        if observer is not None:
            observer.ledger = ledger
            observer.chooser = chooser
        defrag = (make_defrag(ledger, chooser) if make_defrag is not None
                  else None)
        out = replay(workload, ledger, chooser, requests,
                     start=start, stop_at_first_rejection=True,
                     observer=observer, progress=progress, defrag=defrag)
        result.replays += 1
        result.decisions += out.decisions
        ok = out.completed and out.rejections == 0
        if ok:
            result.defrag = defrag
        return ok

    def done(n: int | None) -> SearchResult:
        result.hosts_needed = n
        if n is None:
            result.note = (f'no fleet of up to {top} hosts places every VM')
        result.wall_s = time.perf_counter() - began
        return result

    while lo <= top:
        hi = min(lo + width, top)
        capped = (spare_share is not None and max_candidates is not None
                  and hi > max_candidates)
        if not share_prefixes or hi == lo or capped:
            for n in range(lo, hi + 1):
                result.tested[n] = run(n)
                if result.tested[n]:
                    return done(n)
        else:
            ledger = model.Ledger(base.resized(hi), n_vms)
            window = _Window(lo, hi, ledger, sensitive, spare_share)
            big_ok = run(hi, ledger, observer=window)
            for n in range(lo, hi):
                if n in window.failed:
                    result.tested[n] = False
                elif n in window.forks:
                    pos, fork = window.forks.pop(n)
                    result.tested[n] = run(n, fork, start=pos)
                else:               # shared every decision of the big run
                    result.tested[n] = big_ok
                if result.tested[n]:
                    return done(n)
            result.tested[hi] = big_ok
            if big_ok:
                return done(hi)
        lo = hi + 1
        width *= 2
    return done(None)
