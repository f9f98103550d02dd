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
"""Consolidation inside a simulator replay (``simulate --defrag MODE``).

Modes (:func:`parse_mode`):

``on-rejection[:M]``
    When a VM fits no host, plan ``room`` for one instance of its shape
    (at most ``M`` migrations, default 64: the planner then opens it with
    the fewest migrations), apply the moves, and ask the policy again:
    what an automation that retries a failed boot after making room would
    get.
``periodic:EVERY[:M]``
    Every ``EVERY`` of trace time (``6h``, ``30m``, ``600s``), a
    ``free-hosts`` pass of at most ``M`` migrations (default 8).
``recommended``
    :data:`nova_scale_ext.recommended.DEFRAG_MODE`, the setting the
    documentation recommends (one of the above).
``keeper:EVERY:K[:M][:whole][:drain[=F]]``
    Every ``EVERY``, make sure ``K`` instances of each protected shape
    (``large_slot_flavors``; or ``VCPUSxMEMORY_MB=K,...`` for shapes of
    one's own) fit, with at most ``M`` migrations a pass (default 8); a
    pass that cannot restore them all makes the moves that open what it
    can (with ``whole``: each shape's room is restored in full or not at
    all). ``K`` may be ``burst``: for each shape, the most instances of it
    the workload starts within ``EVERY`` (:meth:`Mode.for_workload`). ``M``
    may be ``P%``: all passes together migrate at most that share of the
    VMs started so far (each pass may spend what is left). What
    ``defrag keep --room FLAVOR:K --every EVERY [--whole]`` does in a
    cloud. With ``drain``, a pass that has the room in full then empties
    hosts (``free-hosts``) with what it has left, never at the cost of the
    room it keeps; with ``P%``, a drain never brings all migrations so far
    above :data:`~.plans.DRAIN_PART` of it (the rest stays for the room):
    ``defrag keep --drain``. With ``drain=F``, a pass drains only while the
    fleet's free capacity is at least ``F`` times what the room takes, in
    each resource the room asks for (hosts to spare beyond the room):
    ``defrag keep --drain --drain-spare F``.

The ledger becomes a :class:`~.cluster.Cluster` of the VMs alive at that
moment (arrays only, no snapshot objects); the planner's moves are
applied to the ledger and reported to the policy's chooser like any other
change of a host. Nothing here imports Nova.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from nova_scale_ext.defrag import planner, plans
from nova_scale_ext.defrag.cluster import Cluster, State

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MODES = ('on-rejection', 'periodic', 'keeper', 'recommended')
#: ``keeper:EVERY:burst``: K is the largest burst of the shape in the
#: workload (see :meth:`Mode.for_workload`)
BURST = 'burst'
_UNITS = {'s': 1.0, 'm': 60.0, 'h': 3600.0, 'd': 86400.0}
#: keeper flags, after its settings in any order
WHOLE = 'whole'
DRAIN = 'drain'
FLAGS = (WHOLE, DRAIN)
#: ``on-rejection``'s migrations per rejection unless given
ON_REJECTION_MIGRATIONS = 64


class ModeError(ValueError):
    """A ``--defrag`` value that cannot be read."""


@dataclasses.dataclass(frozen=True)
class Mode:
    """A consolidation mode and its settings."""

    kind: str
    every_s: float = 0.0
    budget: plans.Budget = plans.Budget()
    shapes: tuple[plans.RoomTarget, ...] = ()
    text: str = ''
    #: keeper: keep this share of the fleet's free capacity in slots
    share: float = 0.0
    #: keeper: restore each shape's room in full or not at all
    whole: bool = False
    #: keeper: K of each shape is its largest burst (``burst``)
    burst: bool = False
    #: keeper: migrations, all passes together, stay within this share of
    #: the VMs started so far (``P%`` in place of ``M``)
    per_boot: float = 0.0
    #: keeper: after the room, drain hosts with what the pass has left,
    #: keeping the room (``drain``)
    drain: bool = False
    #: keeper: drain only while the free capacity is at least this many
    #: times the room (``drain=F``; 0: always)
    drain_spare: float = 0.0

    def for_workload(self, starts: npt.ArrayLike,
                     requests: FloatArray) -> Mode:
        """This mode for one workload: with ``burst``, each shape's K
        becomes the most instances of exactly that shape (vCPUs and
        memory) that the workload starts within ``EVERY`` of each other,
        what an operator reads from their cloud's history; shapes the
        workload never asks for are dropped."""
        if not self.burst:
            return self
        starts = np.asarray(starts, dtype=np.float64)
        out = []
        for target in self.shapes:
            same = ((requests[:, 0] == target.vcpus)
                    & (requests[:, 1] == target.memory_mb))
            times = np.sort(starts[same])
            if not times.size:
                continue
            within = np.searchsorted(times, times + self.every_s,
                                     side='left') - np.arange(times.size)
            out.append(dataclasses.replace(target,
                                           count=int(within.max())))
        return dataclasses.replace(self, shapes=tuple(out))


def _duration(text: str, where: str) -> float:
    match = re.fullmatch(r'(\d+(?:\.\d+)?)([smhd]?)', text.strip())
    if not match or float(match[1]) <= 0:
        raise ModeError(f'{where}: expected a duration such as 10m, 6h or '
                        f'600s, got {text!r}')
    return float(match[1]) * _UNITS[match[2] or 's']


def _count(text: str, where: str) -> int:
    if not (text.strip().isascii() and text.strip().isdigit()):
        raise ModeError(f'{where}: expected a whole number, got {text!r}')
    return int(text)


def _flag(text: str) -> str:
    """A keeper flag's name (``drain`` of ``drain=1.5``)."""
    return text.partition('=')[0]


def _keep(text: str, shapes: Sequence[str],
          where: str) -> tuple[plans.RoomTarget, ...]:
    """``K`` (each of ``shapes``) or ``VCPUSxMEMORY_MB=K,...``."""
    if text.endswith('%') or text == BURST:
        text = '0'
    if '=' not in text:
        if not shapes:
            raise ModeError(f'{where}: no shape to keep room for (set '
                            'large_slot_flavors, or give VCPUSxMEMORY_MB=K)')
        keep = _count(text, where)
        return tuple(plans.RoomTarget.from_shape(s, keep) for s in shapes)
    out = []
    for item in text.split(','):
        shape, _, count = item.partition('=')
        try:
            out.append(plans.RoomTarget.from_shape(
                shape.replace('x', ':'), _count(count, where)))
        except plans.PlanError:
            raise ModeError(f'{where}: {item!r}: expected VCPUSxMEMORY_MB=K'
                            ', for example 32x65536=4') from None
    return tuple(out)


def parse_mode(text: str, shapes: Sequence[str] = ()) -> Mode:
    """A mode from ``--defrag`` text (see the module docstring);
    ``shapes`` are the ``large_slot_flavors`` a keeper protects.

    :raises ModeError: naming the ``--defrag`` value and what is wrong.
    """
    try:
        return _parse_mode(text, shapes)
    except plans.PlanError as exc:  # e.g. an absurd migration budget
        raise ModeError(f'--defrag {text}: {exc}') from None


def _parse_mode(text: str, shapes: Sequence[str]) -> Mode:
    parts = text.strip().split(':')
    kind, args = parts[0], parts[1:]
    where = f'--defrag {text}'
    if kind == 'recommended':
        if args:
            raise ModeError(f'{where}: recommended takes no settings')
        from nova_scale_ext import recommended
        return dataclasses.replace(
            _parse_mode(recommended.DEFRAG_MODE, shapes), text=kind)
    if kind == 'on-rejection':
        if len(args) > 1:
            raise ModeError(f'{where}: expected on-rejection[:MIGRATIONS]')
        m = _count(args[0], where) if args else ON_REJECTION_MIGRATIONS
        return Mode(kind, budget=plans.Budget(max_migrations=m), text=text)
    if kind == 'periodic':
        if not 1 <= len(args) <= 2:
            raise ModeError(f'{where}: expected periodic:EVERY[:MIGRATIONS]')
        m = _count(args[1], where) if len(args) > 1 else 8
        return Mode(kind, _duration(args[0], where),
                    budget=plans.Budget(max_migrations=m), text=text)
    if kind == 'keeper':
        flags = set()
        spare = 0.0
        while args and _flag(args[-1]) in FLAGS:
            flag, eq, value = args.pop().partition('=')
            if flag in flags:
                raise ModeError(f'{where}: {flag} is given twice')
            flags.add(flag)
            if flag == DRAIN and eq:
                spare = plans.parse_spare(value, 'drain=F')
            elif eq:
                raise ModeError(f'{where}: {flag} takes no value')
        whole, drain = WHOLE in flags, DRAIN in flags
        misplaced = [a for a in args if _flag(a) in FLAGS]
        if misplaced or not 2 <= len(args) <= 3:
            raise ModeError(f'{where}: expected keeper:EVERY:K[:MIGRATIONS]'
                            '[:whole][:drain[=F]] (K: a number, P% or '
                            'burst)')
        m, per_boot = 8, 0.0
        if len(args) > 2 and args[2].endswith('%'):
            per_boot = plans.parse_share(args[2], 'migrations')
            m = None
        elif len(args) > 2:
            m = _count(args[2], where)
        share = 0.0
        if args[1].endswith('%'):
            share = plans.parse_share(args[1], 'room', 0.01)
        return Mode(kind, _duration(args[0], where),
                    budget=plans.Budget(max_migrations=m),
                    shapes=_keep(args[1], shapes, where), text=text,
                    share=share, whole=whole, burst=args[1] == BURST,
                    per_boot=per_boot, drain=drain, drain_spare=spare)
    raise ModeError(f"{where}: expected one of {', '.join(MODES)}")


@dataclasses.dataclass
class Stats:
    migrations: int = 0
    moved_mb: float = 0.0
    passes: int = 0
    #: arrivals the policy rejected and consolidation then placed
    rescued: int = 0
    planning_s: float = 0.0
    #: of the migrations, those of drains (``keeper:...:drain``)
    drained: int = 0

    @property
    def moved_gib(self) -> float:
        return self.moved_mb / 1024.0


class Defrag:
    """One mode acting on one replay's ledger.

    ``ledger`` is the simulator's :class:`~nova_scale_ext.simulate.model.
    Ledger` (``capacity``, ``used``, ``host_of``, ``place``, ``remove``),
    ``chooser`` the policy's :class:`~nova_scale_ext.simulate.replay.
    Chooser` (told of every host a move changes; its ``headroom``, the
    shares the policy's headroom filter keeps per host, holds for every
    move as for every boot),
    ``on_change(host)`` told of each host a move changes (the replay's
    metrics recorder). The replay loop calls :meth:`tick` and
    :meth:`rejected` (:func:`nova_scale_ext.simulate.replay.replay`).
    """

    def __init__(self, mode: Mode, ledger, requests: FloatArray, chooser,
                 weights: FloatArray | None = None,
                 on_change: Callable[[int], None] | None = None,
                 starts: npt.ArrayLike | None = None) -> None:
        self.mode = mode
        #: when each VM starts, in order (a per-boot budget counts them)
        self.starts = (np.sort(np.asarray(starts, dtype=np.float64))
                       if starts is not None else None)
        if mode.per_boot and self.starts is None:
            raise ValueError('a per-boot migration budget needs the VMs\' '
                             'start times')
        self.on_change = on_change
        self.ledger = ledger
        self.requests = requests
        self.chooser = chooser
        self.headroom = chooser.headroom
        self.weights = weights
        self.stats = Stats()
        self.next_s = None if not mode.every_s else 0.0
        #: whether the last pass reached its goal (False when it had no
        #: budget left to plan with)
        self.reached = False

    def cluster(self) -> tuple[Cluster, IntArray]:
        """The alive VMs as a cluster, and their VM numbers."""
        led = self.ledger
        alive = np.flatnonzero(led.host_of >= 0)
        return Cluster(led.capacity, led.used, led.host_of[alive],
                       self.requests[alive],
                       headroom=self.headroom), alive

    def started(self, now: float) -> int:
        """The VMs started by trace time ``now``."""
        return int(np.searchsorted(self.starts, now, side='right'))

    def budget(self, now: float) -> plans.Budget | None:
        """This pass's budget (None: nothing left to spend)."""
        share = self.mode.per_boot
        if not share:
            return self.mode.budget
        left = plans.per_boot_left(share, self.started(now),
                                   self.stats.migrations)
        if not left:
            return None
        return dataclasses.replace(self.mode.budget, max_migrations=left)

    def run(self, goal: plans.Goal, now: float = math.inf,
            spent: int = 0, cap: int | None = None) -> int:
        """Plan towards ``goal`` and apply the moves; their number.
        ``spent``: migrations this pass already made (a budget per pass
        has that much less); ``cap``: at most that many."""
        budget = self.budget(now)
        if budget is not None and budget.max_migrations is not None:
            most = budget.max_migrations
            if spent and not self.mode.per_boot:
                most = max(most - spent, 0)
            if cap is not None:
                most = min(most, cap)
            budget = dataclasses.replace(budget, max_migrations=most)
        self.reached = False
        if budget is None or budget.max_migrations == 0:
            return 0
        began = time.perf_counter()
        cluster, alive = self.cluster()
        out = planner.plan_cluster(cluster, goal, budget,
                                   weights=self.weights)
        self.stats.planning_s += time.perf_counter() - began
        self.reached = out.reached
        self.stats.passes += 1
        led, changed = self.ledger, self.chooser.changed
        for i, source, target in zip(out.instance.tolist(),
                                     out.source.tolist(),
                                     out.target.tolist()):
            vm = int(alive[i])
            req = self.requests[vm]
            led.remove(vm, req)
            led.place(vm, target, req)
            changed(source)
            changed(target)
            if self.on_change is not None:
                self.on_change(source)
                self.on_change(target)
            self.stats.migrations += 1
            self.stats.moved_mb += float(req[1])
        return int(out.instance.size)

    def tick(self, now: float) -> None:
        """Called before each event at trace time ``now``."""
        if self.next_s is None or now < self.next_s:
            return
        self.next_s = now + self.mode.every_s
        if self.mode.kind == 'periodic':
            self.run(plans.Goal.free_hosts())
        elif self.mode.kind == 'keeper' and self.mode.shapes:
            targets = self.keep_targets()
            spent = self.run(plans.Goal.room_for(targets,
                                                 whole=self.mode.whole), now)
            if self.mode.drain and self.reached and self.spare(targets):
                self.drain(targets, now, spent)

    def spare(self, targets: Sequence[plans.RoomTarget]) -> bool:
        """Whether a drain may run: always, or with ``drain=F`` while the
        free capacity (headroom kept) is ``F`` times the room."""
        factor = self.mode.drain_spare
        if not factor:
            return True
        cluster, _ = self.cluster()
        free = State(cluster).free().sum(axis=0)
        return plans.spare_short(free, targets, factor) is None

    def drain(self, targets: Sequence[plans.RoomTarget], now: float,
              spent: int) -> int:
        """A ``free-hosts`` pass that keeps ``targets``' room, within
        what the keeper's pass left (with a per-boot budget, never
        bringing all migrations so far above :data:`~.plans.DRAIN_PART`
        of it)."""
        cap = None
        if self.mode.per_boot:
            cap = plans.per_boot_left(self.mode.per_boot * plans.DRAIN_PART,
                                      self.started(now), self.stats.migrations)
            if not cap:
                return 0
        moved = self.run(plans.Goal.free_hosts(room=targets), now, spent,
                         cap=cap)
        self.stats.drained += moved
        return moved

    def keep_targets(self) -> tuple[plans.RoomTarget, ...]:
        """The keeper's targets; with a ``share``, that share of what the
        free capacity of the whole fleet would hold of each shape."""
        share = self.mode.share
        if not share:
            return self.mode.shapes
        led = self.ledger
        free = np.maximum(led.capacity - led.used, 0.0).sum(axis=0)
        out = []
        for target in self.mode.shapes:
            shape = np.array(target.shape)
            asked = shape > 0
            fits = np.floor((free[asked] / shape[asked]).min())
            out.append(dataclasses.replace(target,
                                           count=int(share * fits)))
        return tuple(out)

    def rejected(self, vm: int) -> int:
        """A host for ``vm`` after making room (-1: none)."""
        if self.mode.kind != 'on-rejection':
            return -1
        vcpus, memory_mb, disk_gb = self.requests[vm].tolist()
        goal = plans.Goal.room_for([plans.RoomTarget(
            'rejected', vcpus, memory_mb, disk_gb, 1)])
        if not self.run(goal):
            return -1
        host = self.chooser.select(vm)
        if host >= 0:
            self.stats.rescued += 1
        return host


@dataclasses.dataclass
class Trial:
    hosts: int
    rejections: int
    stats: Stats
    wall_s: float


def hosts_needed(make_chooser, workload, requests: FloatArray, base,
                 mode: Mode | None, start: int, stop: int
                 ) -> list[Trial]:
    """Fleets of ``start`` to ``stop`` hosts of ``base``'s single class,
    each replayed from the start with ``mode`` (None: no consolidation)
    until its first rejection; stops at the first size with none (the
    last trial). ``make_chooser(ledger)`` is the policy's chooser. (A
    benchmark's view of every size tried; ``simulate --compact`` uses
    :func:`nova_scale_ext.simulate.compact.search`.)"""
    from nova_scale_ext.simulate import model
    from nova_scale_ext.simulate.replay import replay
    trials = []
    for n in range(start, stop + 1):
        began = time.perf_counter()
        ledger = model.Ledger(base.resized(n), len(workload))
        chooser = make_chooser(ledger)
        defrag = (Defrag(mode, ledger, requests, chooser,
                         starts=workload.start)
                  if mode is not None else None)
        rejections = replay(workload, ledger, chooser, requests,
                            stop_at_first_rejection=True,
                            defrag=defrag).rejections
        trials.append(Trial(n, rejections,
                            defrag.stats if defrag else Stats(),
                            time.perf_counter() - began))
        if not rejections:
            break
    return trials
