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
"""Goals, budgets and plans, with their JSON form.

A plan's moves are in the order they run. Moves of one ``step`` run at
once (at most ``max_concurrent_per_host`` of them touch any host, as
source or target), and a step starts when the previous one has finished:
while a step runs, each of its instances still holds its source, as
placement keeps the source allocation until a live migration ends.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nova_scale_ext import model

FORMAT = 'nova-scale-ext-defrag-plan'
VERSION = 1

FREE_HOSTS = 'free-hosts'
ROOM = 'room'
#: end the hosts where an isolated group shares a host with others
ISOLATE = 'isolate'
GOALS = (FREE_HOSTS, ROOM, ISOLATE)


class PlanError(ValueError):
    """A goal, budget or plan that cannot be used; says where and why."""


def _int(where: str, value: Any, minimum: int) -> int:
    if (isinstance(value, bool) or not isinstance(value, int)
            or value < minimum or value > 10**9):
        raise PlanError(f'{where}: expected an integer from {minimum}, got '
                        f'{value!r}')
    return value


def _float(where: str, value: Any, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PlanError(f'{where}: expected a number, got {value!r}')
    number = float(value)
    if not math.isfinite(number) or number < minimum or number > 1e12:
        raise PlanError(f'{where}: expected a finite number from '
                        f'{minimum:g}, got {value!r}')
    return number


def _str(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise PlanError(f'{where}: expected a string, got {value!r}')
    return value


def parse_share(text: str, what: str, minimum: float = 0.0001) -> float:
    """``P%`` (from ``minimum`` to 100%; ``1%``, ``0.5%``) as a share.

    :raises PlanError: naming ``what`` (when given) and the text.
    """
    value = math.nan
    body = text.strip()
    if body.endswith('%') and body[:-1].strip().isascii():
        try:
            value = float(body[:-1]) / 100.0
        except ValueError:
            pass
    if not (math.isfinite(value) and minimum - 1e-12 <= value <= 1.0):
        raise PlanError((f'{what}: ' if what else '') +
                        f'expected a share from {minimum * 100:g}% to 100%, '
                        f'got {text!r}')
    return value


#: a keeper's drain (``keep --drain``) with a per-boot budget never brings
#: the migrations made so far (the room's included) above this part of it:
#: the rest stays for the room it keeps
DRAIN_PART = 0.5


#: the largest factor of ``keep --drain-spare`` (``drain=F``)
MAX_SPARE = 1000.0


def parse_spare(text: str, what: str) -> float:
    """A ``--drain-spare`` factor: a finite number from 1 to
    :data:`MAX_SPARE`.

    :raises PlanError: naming ``what`` and the text.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 1.0 <= value <= MAX_SPARE):
        raise PlanError(f'{what}: expected a factor from 1 to '
                        f'{MAX_SPARE:g}, got {text!r}')
    return value


def spare_short(free: Sequence[float], targets: Sequence[RoomTarget],
                factor: float) -> str | None:
    """Why the free capacity ``free`` (summed over the hosts, in the order
    of :data:`~nova_scale_ext.model.RESOURCE_NAMES`) is not ``factor``
    times what ``targets`` take together, in every resource one of them
    asks for; None when it is (``keep --drain-spare``: a drain then has
    capacity to spare beyond the room it keeps)."""
    for k, name in enumerate(model.RESOURCE_NAMES):
        need = sum(t.vector[k] * t.count for t in targets) * factor
        if need > 0 and free[k] < need:
            return (f'free {name} {free[k]:g} is less than {factor:g} times '
                    f'the room ({need / factor:g})')
    return None


def per_boot_left(share: float, started: int, moved: int) -> int:
    """Migrations still allowed when all of them together may be ``share``
    of the ``started`` instances and ``moved`` were made."""
    return max(int(share * started + 1e-9) - moved, 0)


def _mapping(where: str, data: Any, cls: type,
             extra: Iterable[str] = ()) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise PlanError(f'{where}: expected a mapping, got {data!r}')
    known = {f.name for f in dataclasses.fields(cls)} | set(extra)
    for key in data:
        if key not in known:
            raise PlanError(f'{where}.{key}: unknown field; expected '
                            f"{', '.join(sorted(known))}")
    return dict(data)


@dataclasses.dataclass(frozen=True)
class RoomTarget:
    """At least ``count`` instances of one flavor shape must fit.

    ``pcpus`` are dedicated CPUs (placement's ``PCPU``): a flavor with
    ``hw:cpu_policy=dedicated`` asks for them instead of ``vcpus``, and
    its slots are counted on the hosts' free PCPU.
    """

    name: str
    vcpus: float
    memory_mb: float
    disk_gb: float = 0.0
    count: int = 1
    pcpus: float = 0.0

    def __post_init__(self) -> None:
        where = f'room target {self.name!r}'
        _str(f'{where}: name', self.name)
        _float(f'{where}: vcpus', self.vcpus)
        _float(f'{where}: memory_mb', self.memory_mb)
        _float(f'{where}: disk_gb', self.disk_gb)
        _float(f'{where}: pcpus', self.pcpus)
        _int(f'{where}: count', self.count, 0)
        if not self.vcpus and not self.pcpus and not self.memory_mb:
            raise PlanError(f'{where}: expected vcpus, pcpus or memory_mb '
                            'above 0')

    @property
    def shape(self) -> tuple[float, float, float]:
        """VCPU, MEMORY_MB, DISK_GB (the scoring core's resources)."""
        return (float(self.vcpus), float(self.memory_mb),
                float(self.disk_gb))

    @property
    def vector(self) -> model.Vector:
        """The request in the order of :data:`~.model.RESOURCE_NAMES`
        (PCPU included)."""
        return (float(self.vcpus), float(self.memory_mb),
                float(self.disk_gb), float(self.pcpus))

    @classmethod
    def from_flavor(cls, flavor: model.Flavor, count: int) -> RoomTarget:
        return cls(flavor.name, flavor.vcpus, flavor.memory_mb,
                   flavor.disk_gb, count, flavor.pcpus)

    @classmethod
    def from_shape(cls, text: str, count: int) -> RoomTarget:
        """A ``large_slot_flavors`` item, ``VCPUS:MEMORY_MB``."""
        parts = str(text).strip().split(':')
        try:
            vcpus, memory_mb = (float(p) for p in parts)
        except ValueError:
            raise PlanError(f'room shape {text!r}: expected VCPUS:MEMORY_MB,'
                            ' for example 32:65536') from None
        return cls(str(text).strip(), vcpus, memory_mb, 0.0, count)


@dataclasses.dataclass(frozen=True)
class Goal:
    """``free-hosts`` (empty as many hosts as possible, or ``hosts`` of
    them) or ``room`` (each of ``room``'s targets fits)."""

    kind: str
    room: tuple[RoomTarget, ...] = ()
    hosts: int | None = None
    #: room: a target that cannot be restored in full moves nothing
    whole: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, 'room', tuple(self.room))
        if not isinstance(self.whole, bool):
            raise PlanError(f'goal: whole: expected true or false, got '
                            f'{self.whole!r}')
        if self.kind not in GOALS:
            raise PlanError(f"goal: kind: expected one of {', '.join(GOALS)}"
                            f', got {self.kind!r}')
        if self.kind == ROOM and not self.room:
            raise PlanError('goal room: no flavor to make room for (give '
                            'FLAVOR:N, or set large_slot_flavors)')
        if self.hosts is not None:
            _int('goal: hosts', self.hosts, 1)
        for target in self.room:
            if not isinstance(target, RoomTarget):
                raise PlanError(f'goal: room: expected RoomTarget, got '
                                f'{target!r}')

    @classmethod
    def free_hosts(cls, hosts: int | None = None,
                   room: Iterable[RoomTarget] = ()) -> Goal:
        """Empty hosts; with ``room``, no drain leaves a room target
        with fewer slots than it had or asks, whichever is less."""
        return cls(FREE_HOSTS, tuple(room), hosts)

    @classmethod
    def room_for(cls, targets: Iterable[RoomTarget],
                 whole: bool = False) -> Goal:
        return cls(ROOM, tuple(targets), whole=whole)

    @classmethod
    def parse(cls, words: Sequence[str], flavors: Iterable[model.Flavor] = (),
              default_shapes: Sequence[str] = (), default_count: int = 1
              ) -> Goal:
        """``['free-hosts']``, ``['free-hosts', 'K']``, ``['room']`` (the
        ``default_shapes``, e.g. ``large_slot_flavors``, ``default_count``
        each) or ``['room', 'FLAVOR:N', ...]`` (flavor names)."""
        if not words:
            raise PlanError('goal: expected free-hosts, room or isolate')
        kind, rest = words[0], list(words[1:])
        if kind == ISOLATE:
            if rest:
                raise PlanError('goal isolate: takes no argument')
            return cls(ISOLATE)
        if kind == FREE_HOSTS:
            if len(rest) > 1:
                raise PlanError('goal free-hosts: expected at most one '
                                'number of hosts')
            hosts = None
            if rest:
                try:
                    hosts = int(rest[0])
                except ValueError:
                    raise PlanError(f'goal free-hosts: {rest[0]!r}: '
                                    'expected a number of hosts') from None
            return cls.free_hosts(hosts)
        if kind != ROOM:
            raise PlanError(f'goal: {kind!r}: expected free-hosts, room or '
                            'isolate')
        if not rest:
            return cls.room_for(RoomTarget.from_shape(s, default_count)
                                for s in default_shapes)
        by_name = {f.name: f for f in flavors}
        targets = []
        for word in rest:
            name, sep, count = word.rpartition(':')
            if not sep:
                raise PlanError(f'goal room: {word!r}: expected FLAVOR:N')
            try:
                n = int(count)
            except ValueError:
                raise PlanError(f'goal room: {word!r}: N must be a whole '
                                'number') from None
            if name not in by_name:
                raise PlanError(f'goal room: flavor {name!r} is not known; '
                                f'expected one of {sorted(by_name)}')
            targets.append(RoomTarget.from_flavor(by_name[name], n))
        return cls.room_for(targets)

    def describe(self) -> str:
        if self.kind == ISOLATE:
            return ISOLATE
        if self.kind == FREE_HOSTS:
            return FREE_HOSTS + ('' if self.hosts is None
                                 else f' {self.hosts}') + (
                ' keeping room ' + ' '.join(f'{t.name}:{t.count}'
                                            for t in self.room)
                if self.room else '')
        return ROOM + ' ' + ' '.join(f'{t.name}:{t.count}'
                                     for t in self.room) + (
            ' (each in full or not at all)' if self.whole else '')

    def to_dict(self) -> dict[str, Any]:
        def target(t: RoomTarget) -> dict[str, Any]:
            out = dataclasses.asdict(t)
            if not t.pcpus:
                del out['pcpus']
            return out

        out = {'kind': self.kind, 'hosts': self.hosts,
               'room': [target(t) for t in self.room]}
        if self.whole:
            out['whole'] = True
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Goal:
        fields = _mapping('goal', data, cls)
        room = fields.get('room', [])
        if not isinstance(room, list):
            raise PlanError('goal.room: expected a list')
        fields['room'] = tuple(
            RoomTarget(**_mapping(f'goal.room[{k}]', t, RoomTarget))
            for k, t in enumerate(room))
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class Budget:
    """Limits of one plan (None: no limit)."""

    max_migrations: int | None = None
    max_memory_gib: float | None = None
    max_concurrent_per_host: int = 1

    def __post_init__(self) -> None:
        if self.max_migrations is not None:
            _int('budget: max_migrations', self.max_migrations, 0)
        if self.max_memory_gib is not None:
            _float('budget: max_memory_gib', self.max_memory_gib)
        _int('budget: max_concurrent_per_host',
             self.max_concurrent_per_host, 1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Budget:
        return cls(**_mapping('budget', data, cls))


@dataclasses.dataclass(frozen=True)
class Move:
    """One live migration."""

    instance: str
    source: str
    target: str
    step: int
    reason: str
    memory_mb: float

    def __post_init__(self) -> None:
        where = f'move of {self.instance!r}'
        for field in ('instance', 'source', 'target'):
            if not _str(f'{where}: {field}', getattr(self, field)):
                raise PlanError(f'{where}: {field}: expected a name')
        _int(f'{where}: step', self.step, 1)
        _str(f'{where}: reason', self.reason)
        _float(f'{where}: memory_mb', self.memory_mb)


@dataclasses.dataclass(frozen=True, eq=False)
class Plan:
    """What to move, in order, and what it buys."""

    goal: Goal
    budget: Budget
    policy: model.MovePolicy
    moves: tuple[Move, ...]
    reached: bool
    why: str
    hosts_freed: tuple[str, ...] = ()
    #: room target name -> instances of it that fit, before and after
    slots_before: Mapping[str, int] = dataclasses.field(default_factory=dict)
    slots_after: Mapping[str, int] = dataclasses.field(default_factory=dict)
    empty_before: int = 0
    empty_after: int = 0
    planning_s: float = 0.0
    #: what the plan could not check (the snapshot's warnings)
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, 'moves', tuple(self.moves))
        object.__setattr__(self, 'hosts_freed', tuple(self.hosts_freed))
        object.__setattr__(self, 'warnings', tuple(self.warnings))

    @property
    def migrations(self) -> int:
        return len(self.moves)

    @property
    def memory_gib(self) -> float:
        return sum(m.memory_mb for m in self.moves) / 1024.0

    @property
    def steps(self) -> int:
        return max((m.step for m in self.moves), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            'format': FORMAT, 'version': VERSION,
            'goal': self.goal.to_dict(), 'budget': self.budget.to_dict(),
            'policy': self.policy.to_dict(), 'reached': self.reached,
            'why': self.why,
            'moves': [dataclasses.asdict(m) for m in self.moves],
            'hosts_freed': list(self.hosts_freed),
            'slots_before': dict(self.slots_before),
            'slots_after': dict(self.slots_after),
            'empty_before': self.empty_before,
            'empty_after': self.empty_after,
            'planning_s': self.planning_s,
            'warnings': list(self.warnings),
            'used': {'migrations': self.migrations,
                     'memory_gib': self.memory_gib, 'steps': self.steps},
        }

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        fields = _mapping('plan', data, cls, ('format', 'version', 'used'))
        if fields.pop('format', FORMAT) != FORMAT:
            raise PlanError(f'plan: format: expected {FORMAT!r}')
        if fields.pop('version', VERSION) != VERSION:
            raise PlanError(f'plan: version: expected {VERSION}')
        fields.pop('used', None)
        for key in ('goal', 'budget', 'policy', 'moves', 'reached', 'why'):
            if key not in fields:
                raise PlanError(f'plan.{key}: missing')
        moves = fields['moves']
        if not isinstance(moves, list):
            raise PlanError('plan.moves: expected a list')
        out = []
        for k, move in enumerate(moves):
            try:
                out.append(Move(**_mapping(f'plan.moves[{k}]', move, Move)))
            except TypeError as exc:
                raise PlanError(f'plan.moves[{k}]: {exc}') from None
        fields['moves'] = tuple(out)
        fields['goal'] = Goal.from_dict(fields['goal'])
        fields['budget'] = Budget.from_dict(fields['budget'])
        try:
            fields['policy'] = model.MovePolicy.from_dict(fields['policy'])
        except (model.SnapshotError, TypeError) as exc:
            raise PlanError(str(exc)) from None
        if not isinstance(fields['reached'], bool):
            raise PlanError('plan.reached: expected true or false')
        _str('plan.why', fields['why'])
        for key in ('slots_before', 'slots_after'):
            value = fields.get(key, {})
            if not isinstance(value, Mapping) or not all(
                    isinstance(v, int) and not isinstance(v, bool)
                    for v in value.values()):
                raise PlanError(f'plan.{key}: expected a mapping of names '
                                'to whole numbers')
        hosts = fields.get('hosts_freed', [])
        if not isinstance(hosts, list) or not all(isinstance(h, str)
                                                  for h in hosts):
            raise PlanError('plan.hosts_freed: expected a list of names')
        for key in ('empty_before', 'empty_after'):
            _int(f'plan.{key}', fields.get(key, 0), 0)
        warnings = fields.get('warnings', [])
        if not isinstance(warnings, list) or not all(
                isinstance(w, str) for w in warnings):
            raise PlanError('plan.warnings: expected a list of strings')
        fields['warnings'] = tuple(warnings)
        _float('plan.planning_s', fields.get('planning_s', 0.0))
        return cls(**fields)

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def loads(cls, text: str) -> Plan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(f'plan: not JSON: {exc}') from None
        return cls.from_dict(data)
