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
"""The model of a cloud: a :class:`Snapshot`.

Plain, validated data with a JSON form, filled the same way from a live
cloud (placement inventories and usages, servers, server groups,
aggregates: :func:`nova_scale_ext.cloud.snapshot`), from a moment of a
simulator replay (:meth:`nova_scale_ext.simulate.model.Ledger.snapshot`) or
from a saved file (``nova-scale-ext snapshot``). The capacity report, the
consolidation planner and the simulator's fleets
(:func:`nova_scale_ext.simulate.fleet.from_snapshot`) read it.

* Host capacity is *effective*: ``(total - reserved) * allocation_ratio``
  (:func:`nova_scale_ext.core.resources.effective_capacity`). ``used`` is
  placement's usage; what it holds beyond the listed instances (other
  consumers) stays on the host. Left out, it is the instances' sum.
* A host's availability zone is its own ``availability_zone`` or else the
  ``availability_zone`` metadata of its aggregates, else ``nova`` (Nova's
  default zone). Tenancy is Nova's ``AggregateMultiTenancyIsolation``: the
  comma-separated values of every ``filter_tenant_id*`` key of all of a
  host's aggregates are the only projects it admits.
* Server-group members not in the snapshot (other cells, other
  aggregates) are allowed: they are on hosts the planner does not use.
* Which instances may move is the operator's :class:`MovePolicy`, applied
  to the raw flags an instance carries.
* Resources are placement's ``VCPU``, ``MEMORY_MB`` and ``DISK_GB`` and
  ``PCPU`` (dedicated CPUs of ``hw:cpu_policy=dedicated`` flavors, an
  inventory of its own). A resource left out is 0. Other resource classes
  (``VGPU``, ``CUSTOM_*``) may be listed too: the capacity report counts
  them, the planner leaves an instance holding them where it is. A host's
  ``max_unit`` is placement's largest amount one instance may take of a
  class (left out: no limit).
* An instance's ``different_host`` and ``same_host`` are the instance ids
  of the scheduler hints it was booted with (Nova's DifferentHostFilter
  and SameHostFilter); ids not in the snapshot are allowed. ``warnings``
  say what the snapshot could not see (for example hints, on a compute
  API before 2.100).

Every error names the object (host, instance, group, aggregate, flavor)
and the field, and says what was expected.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from nova_scale_ext.conf import filters as filters_conf
from nova_scale_ext.core import scores

FORMAT = 'nova-scale-ext-snapshot'
VERSION = 1

#: Resource classes of a snapshot: the scoring core's three, then PCPU.
RESOURCE_NAMES: tuple[str, ...] = ('VCPU', 'MEMORY_MB', 'DISK_GB', 'PCPU')
#: Index of PCPU in a resource vector.
PCPU = 3

#: Values beyond these are refused as absurd (per host or instance).
LIMITS = {'VCPU': 1e7, 'MEMORY_MB': 1e10, 'DISK_GB': 1e9, 'PCPU': 1e7}

#: ScaleExtHeadroomFilter's largest share.
MAX_HEADROOM = filters_conf.MAX_HEADROOM

ACTIVE = 'ACTIVE'
DEFAULT_ZONE = 'nova'
AZ_KEY = 'availability_zone'
TENANT_PREFIX = 'filter_tenant_id'

#: A saved snapshot larger than this is refused (30,000 instances take
#: about 15 MiB).
MAX_FILE_BYTES = 1 << 30

#: Any other resource class placement knows (``VGPU``, ``CUSTOM_GPU``).
OTHER_CLASS = re.compile(r'[A-Z][A-Z0-9_]{0,254}')
#: Largest amount of such a class per host or instance.
OTHER_LIMIT = 1e9

POLICIES = ('anti-affinity', 'affinity', 'soft-anti-affinity',
            'soft-affinity')


class SnapshotError(ValueError):
    """A snapshot that cannot be used; the message says where and why."""


def _fail(where: str, message: str) -> SnapshotError:
    return SnapshotError(f'{where}: {message}')


def _name(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f'expected a non-empty string, got {value!r}')
    return value


def _number(where: str, value: Any, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f'expected a number, got {value!r}')
    number = float(value)
    if not math.isfinite(number) or number < 0 or number > limit:
        raise _fail(where, f'expected a finite number from 0 to {limit:g}, '
                    f'got {value!r}')
    return number


def _resources(where: str, value: Any, *,
               ratios: bool = False) -> dict[str, float]:
    """A ``{RESOURCE_CLASS: amount}`` mapping (or of headroom shares)."""
    if not isinstance(value, Mapping):
        raise _fail(where, 'expected a mapping of resource class '
                    f"({', '.join(RESOURCE_NAMES)}) to a number, "
                    f'got {value!r}')
    out = {}
    for key, amount in value.items():
        known = key in LIMITS
        if not known and (ratios or not isinstance(key, str)
                          or not OTHER_CLASS.fullmatch(key)):
            raise _fail(f'{where}.{key}', 'unknown resource class; expected '
                        f"one of {', '.join(RESOURCE_NAMES)}" +
                        ('' if ratios else ' or another of placement\'s '
                         'classes (VGPU, CUSTOM_NAME)'))
        limit = MAX_HEADROOM if ratios else LIMITS.get(key, OTHER_LIMIT)
        out[key] = _number(f'{where}.{key}', amount, limit)
    return out


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f'expected true or false, got {value!r}')
    return value


def _names(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _fail(where, f'expected a list of names, got {value!r}')
    return tuple(_name(f'{where}[{i}]', v) for i, v in enumerate(value))


Vector = tuple[float, float, float, float]


def vector_of(amounts: Mapping[str, float]) -> Vector:
    """``amounts`` in the order of :data:`RESOURCE_NAMES` (missing: 0)."""
    return (float(amounts.get('VCPU', 0.0)),
            float(amounts.get('MEMORY_MB', 0.0)),
            float(amounts.get('DISK_GB', 0.0)),
            float(amounts.get('PCPU', 0.0)))


@dataclasses.dataclass(frozen=True)
class Flavor:
    """A flavor's request (disk: root + ephemeral + swap, in GiB;
    ``pcpus``: dedicated CPUs, which a ``hw:cpu_policy=dedicated`` flavor
    asks for instead of ``vcpus``)."""

    name: str
    vcpus: float
    memory_mb: float
    disk_gb: float = 0.0
    pcpus: float = 0.0
    #: other resource classes it asks for (``resources:CLASS=N``)
    other: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f'flavor {self.name!r}'
        _name(f'{where}: name', self.name)
        for field, name in (('vcpus', 'VCPU'), ('memory_mb', 'MEMORY_MB'),
                            ('disk_gb', 'DISK_GB'), ('pcpus', 'PCPU')):
            _number(f'{where}: {field}', getattr(self, field), LIMITS[name])
        other = _resources(f'{where}: other', self.other)
        known = sorted(set(other) & set(RESOURCE_NAMES))
        if known:
            raise _fail(f'{where}: other.{known[0]}', 'expected only '
                        'classes without a field of their own')
        object.__setattr__(self, 'other', other)
        if not self.vcpus and not self.pcpus and not self.memory_mb:
            raise _fail(where, 'expected vcpus, pcpus or memory_mb above 0')

    @property
    def resources(self) -> dict[str, float]:
        out = {'VCPU': float(self.vcpus),
               'MEMORY_MB': float(self.memory_mb),
               'DISK_GB': float(self.disk_gb)}
        if self.pcpus:
            out['PCPU'] = float(self.pcpus)
        out.update(self.other)
        return out


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """A host aggregate and its metadata (strings, as Nova keeps them)."""

    name: str
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f'aggregate {self.name!r}'
        _name(f'{where}: name', self.name)
        if not isinstance(self.metadata, Mapping):
            raise _fail(f'{where}: metadata', 'expected a mapping of '
                        f'strings, got {self.metadata!r}')
        for key, value in self.metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise _fail(f'{where}: metadata.{key}', 'expected a string '
                            f'value, got {value!r}')

    @property
    def zone(self) -> str | None:
        value = self.metadata.get(AZ_KEY, '').strip()
        return value or None

    @property
    def tenants(self) -> frozenset[str] | None:
        """Projects admitted (None: the aggregate does not isolate)."""
        keys = [k for k in self.metadata if k.startswith(TENANT_PREFIX)]
        if not keys:
            return None
        return frozenset(t.strip() for k in keys
                         for t in self.metadata[k].split(',') if t.strip())


@dataclasses.dataclass(frozen=True)
class Host:
    """A compute node as placement and Nova see it."""

    name: str
    capacity: Mapping[str, float]
    used: Mapping[str, float] | None = None
    availability_zone: str | None = None
    aggregates: tuple[str, ...] = ()
    enabled: bool = True
    headroom: Mapping[str, float] = dataclasses.field(default_factory=dict)
    #: most of a class one instance may take (placement's ``max_unit``)
    max_unit: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f'host {self.name!r}'
        object.__setattr__(self, 'max_unit', _resources(
            f'{where}: max_unit', self.max_unit))
        _name(f'{where}: name', self.name)
        set_ = object.__setattr__
        set_(self, 'capacity', _resources(f'{where}: capacity',
                                          self.capacity))
        if self.used is not None:
            set_(self, 'used', _resources(f'{where}: used', self.used))
        if self.availability_zone is not None:
            _name(f'{where}: availability_zone', self.availability_zone)
        set_(self, 'aggregates', _names(f'{where}: aggregates',
                                        self.aggregates))
        _bool(f'{where}: enabled', self.enabled)
        set_(self, 'headroom', _resources(f'{where}: headroom',
                                          self.headroom, ratios=True))


@dataclasses.dataclass(frozen=True)
class Instance:
    """A server: where it runs, what it holds and what may keep it there.

    ``resources`` are its allocations; left empty they are its flavor's.
    ``pinned``, ``hugepages``, ``pci`` and ``local_disk`` are facts about
    the instance; :class:`MovePolicy` decides what they mean.
    ``different_host`` and ``same_host`` are the instance ids of its
    scheduler hints: it may never share a host with the first, and must
    share one with at least one of the second.
    """

    id: str
    host: str
    resources: Mapping[str, float] = dataclasses.field(default_factory=dict)
    project: str = ''
    flavor: str = ''
    state: str = ACTIVE
    server_group: str | None = None
    pinned: bool = False
    hugepages: bool = False
    pci: bool = False
    local_disk: bool = False
    different_host: tuple[str, ...] = ()
    same_host: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f'instance {self.id!r}'
        _name(f'{where}: id', self.id)
        _name(f'{where}: host', self.host)
        object.__setattr__(self, 'resources', _resources(
            f'{where}: resources', self.resources))
        for field in ('project', 'flavor', 'state'):
            if not isinstance(getattr(self, field), str):
                raise _fail(f'{where}: {field}', 'expected a string, got '
                            f'{getattr(self, field)!r}')
        if self.server_group is not None:
            _name(f'{where}: server_group', self.server_group)
        for field in ('pinned', 'hugepages', 'pci', 'local_disk'):
            _bool(f'{where}: {field}', getattr(self, field))
        for field in ('different_host', 'same_host'):
            object.__setattr__(self, field, _names(
                f'{where}: {field}', getattr(self, field)))


@dataclasses.dataclass(frozen=True)
class ServerGroup:
    """A server group; ``max_server_per_host`` is the anti-affinity rule
    (Nova's default 1)."""

    id: str
    policy: str
    members: tuple[str, ...] = ()
    max_server_per_host: int = 1

    def __post_init__(self) -> None:
        where = f'server group {self.id!r}'
        _name(f'{where}: id', self.id)
        if self.policy not in POLICIES:
            raise _fail(f'{where}: policy', f"expected one of "
                        f"{', '.join(POLICIES)}, got {self.policy!r}")
        object.__setattr__(self, 'members', _names(f'{where}: members',
                                                   self.members))
        value = self.max_server_per_host
        if (isinstance(value, bool) or not isinstance(value, int)
                or not 1 <= value <= 10**6):
            raise _fail(f'{where}: max_server_per_host', 'expected a '
                        f'positive integer, got {value!r}')


@dataclasses.dataclass(frozen=True)
class MovePolicy:
    """Which instances the operator lets the planner live-migrate.

    Each flag says whether an instance *with* that property may move:
    pinned CPUs, huge pages and PCI devices stay by default (their target
    needs the same NUMA resources, which the planner does not model);
    local disks move by block migration. Hard-affinity groups stay by
    default: Nova's ``ServerGroupAffinityFilter`` admits only hosts that
    already hold a member, so a live migration of a member cannot pass the
    scheduler. With ``affinity_groups`` a whole group may move to one host
    at once (for clouds without that filter, and for the simulator).
    """

    pinned: bool = False
    hugepages: bool = False
    pci: bool = False
    local_disk: bool = True
    affinity_groups: bool = False

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _bool(f'policy: {field.name}', getattr(self, field.name))

    def why_immovable(self, instance: Instance) -> str | None:
        """Why ``instance`` must stay where it is (None: it may move)."""
        if instance.state != ACTIVE:
            return (f'state {instance.state}: only ACTIVE instances are '
                    'live-migrated')
        for flag, what in (('pinned', 'pinned CPUs'),
                           ('hugepages', 'huge pages'),
                           ('pci', 'PCI devices'),
                           ('local_disk', 'local disk')):
            if getattr(instance, flag) and not getattr(self, flag):
                return f'{what} (the move policy keeps them in place)'
        return None

    def to_dict(self) -> dict[str, bool]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> MovePolicy:
        return cls(**_fields('policy', data, cls))


def _fields(where: str, data: Any, cls: type) -> dict[str, Any]:
    """``data``'s keys checked against the fields of ``cls``."""
    if not isinstance(data, Mapping):
        raise _fail(where, f'expected a mapping, got {data!r}')
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise _fail(f'{where}.{key}', 'unknown field; expected '
                        f"{', '.join(sorted(known))}")
    return dict(data)


@dataclasses.dataclass(frozen=True, eq=False)
class Snapshot:
    """Hosts, instances, server groups, aggregates and flavors of a cloud
    (or of a part of it) at one moment."""

    hosts: tuple[Host, ...]
    instances: tuple[Instance, ...] = ()
    server_groups: tuple[ServerGroup, ...] = ()
    aggregates: tuple[Aggregate, ...] = ()
    flavors: tuple[Flavor, ...] = ()
    #: where it came from (free text: a cloud name, "simulator", a file)
    source: str = ''
    #: what the snapshot could not see, for the plan to repeat
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for field in ('hosts', 'instances', 'server_groups', 'aggregates',
                      'flavors'):
            set_(self, field, tuple(getattr(self, field)))
        if isinstance(self.warnings, str) or not all(
                isinstance(w, str) for w in self.warnings):
            raise SnapshotError('snapshot: warnings: expected a list of '
                                f'strings, got {self.warnings!r}')
        set_(self, 'warnings', tuple(self.warnings))
        self._check()

    # --- lookups -----------------------------------------------------------

    @functools.cached_property
    def host_by_name(self) -> dict[str, Host]:
        return {h.name: h for h in self.hosts}

    @functools.cached_property
    def flavor_by_name(self) -> dict[str, Flavor]:
        return {f.name: f for f in self.flavors}

    @functools.cached_property
    def group_by_id(self) -> dict[str, ServerGroup]:
        return {g.id: g for g in self.server_groups}

    @functools.cached_property
    def aggregate_by_name(self) -> dict[str, Aggregate]:
        return {a.name: a for a in self.aggregates}

    def request_of(self, instance: Instance) -> Vector:
        """What ``instance`` holds, as a resource vector."""
        if instance.resources:
            return vector_of(instance.resources)
        return vector_of(self.flavor_by_name[instance.flavor].resources)

    def resources_of(self, instance: Instance) -> dict[str, float]:
        """What ``instance`` holds, by resource class (all classes)."""
        if instance.resources:
            return dict(instance.resources)
        return self.flavor_by_name[instance.flavor].resources

    def used_of(self, host: Host) -> dict[str, float]:
        """``host``'s usage by resource class: its ``used``, or what its
        instances hold when that is left out."""
        if host.used is not None:
            return dict(host.used)
        out: dict[str, float] = {}
        for inst in self._instances_on.get(host.name, ()):
            for rc, amount in self.resources_of(inst).items():
                out[rc] = out.get(rc, 0.0) + amount
        return out

    @functools.cached_property
    def _instances_on(self) -> dict[str, list[Instance]]:
        out: dict[str, list[Instance]] = {}
        for inst in self.instances:
            out.setdefault(inst.host, []).append(inst)
        return out

    def slots(self, request: Mapping[str, float]) -> dict[str, int]:
        """How many more instances asking for ``request`` (amounts by
        resource class) fit on each host, each host on its own
        (:func:`nova_scale_ext.core.scores.slot_counts`); none where a
        class is missing or asked beyond the host's ``max_unit``."""
        asked = {rc: float(a) for rc, a in request.items() if a > 0}
        names = [h.name for h in self.hosts]
        if not asked or not names:
            return dict.fromkeys(names, 0)
        classes = sorted(asked)
        free = np.zeros((len(names), len(classes)))
        allowed = np.ones(len(names), dtype=bool)
        for k, host in enumerate(self.hosts):
            used = self.used_of(host)
            for r, rc in enumerate(classes):
                if rc not in host.capacity or \
                        asked[rc] > host.max_unit.get(rc, math.inf):
                    allowed[k] = False
                free[k, r] = host.capacity.get(rc, 0.0) - used.get(rc, 0.0)
        counts = scores.slot_counts(
            free, np.array([[asked[rc] for rc in classes]]))[:, 0]
        return {name: int(n) if ok else 0
                for name, n, ok in zip(names, counts, allowed)}

    def zone_of(self, host: Host) -> str:
        if host.availability_zone:
            return host.availability_zone
        aggs = self.aggregate_by_name
        zones = {aggs[a].zone for a in host.aggregates} - {None}
        return zones.pop() if zones else DEFAULT_ZONE

    def tenants_of(self, host: Host) -> frozenset[str] | None:
        """Projects ``host`` admits (None: any)."""
        aggs = self.aggregate_by_name
        sets = [aggs[a].tenants for a in host.aggregates]
        sets = [s for s in sets if s is not None]
        if not sets:
            return None
        return frozenset().union(*sets)

    def scoped(self, aggregate: str) -> Snapshot:
        """The hosts of ``aggregate`` and their instances (server groups
        and flavors kept whole)."""
        if aggregate not in {a.name for a in self.aggregates}:
            raise SnapshotError(f'aggregate {aggregate!r}: not in the '
                                'snapshot')
        hosts = tuple(h for h in self.hosts if aggregate in h.aggregates)
        names = {h.name for h in hosts}
        return dataclasses.replace(
            self, hosts=hosts,
            instances=tuple(i for i in self.instances if i.host in names),
            source=f'{self.source} (aggregate {aggregate})'.strip())

    # --- validation --------------------------------------------------------

    def _check(self) -> None:
        def unique(items: Iterable[Any], key: str, what: str) -> None:
            seen: set[str] = set()
            for item in items:
                value = getattr(item, key)
                if value in seen:
                    raise SnapshotError(f'{what} {value!r}: listed twice')
                seen.add(value)

        for items, kind, what in (
                (self.hosts, Host, 'host'),
                (self.instances, Instance, 'instance'),
                (self.server_groups, ServerGroup, 'server group'),
                (self.aggregates, Aggregate, 'aggregate'),
                (self.flavors, Flavor, 'flavor')):
            for i, item in enumerate(items):
                if not isinstance(item, kind):
                    raise SnapshotError(f'{what}s[{i}]: expected a '
                                        f'{kind.__name__}, got {item!r}')
        unique(self.hosts, 'name', 'host')
        unique(self.instances, 'id', 'instance')
        unique(self.server_groups, 'id', 'server group')
        unique(self.aggregates, 'name', 'aggregate')
        unique(self.flavors, 'name', 'flavor')
        aggs = {a.name: a for a in self.aggregates}
        for host in self.hosts:
            where = f'host {host.name!r}'
            for agg in host.aggregates:
                if agg not in aggs:
                    raise SnapshotError(f'{where}: aggregates: {agg!r} is '
                                        'not in the aggregates')
            zones = {aggs[a].zone for a in host.aggregates} - {None}
            if len(zones) > 1:
                raise SnapshotError(f'{where}: its aggregates put it in '
                                    f'several zones: {sorted(zones)}')
            if host.availability_zone and zones and \
                    zones != {host.availability_zone}:
                raise SnapshotError(
                    f'{where}: availability_zone '
                    f'{host.availability_zone!r} differs from its '
                    f'aggregates\' zone {zones.pop()!r}')
        flavors = self.flavor_by_name
        hosts = self.host_by_name
        groups = self.group_by_id
        member_of: dict[str, str] = {}
        for group in self.server_groups:
            for member in group.members:
                if member in member_of:
                    raise SnapshotError(
                        f'instance {member!r}: member of server groups '
                        f'{member_of[member]!r} and {group.id!r}')
                member_of[member] = group.id
        sums: dict[str, list[float]] = {h: [0.0] * len(RESOURCE_NAMES)
                                        for h in hosts}
        for inst in self.instances:
            where = f'instance {inst.id!r}'
            if inst.host not in hosts:
                raise SnapshotError(f'{where}: host {inst.host!r} is not in '
                                    'the hosts')
            if not inst.resources:
                if not inst.flavor:
                    raise SnapshotError(f'{where}: resources: missing, and '
                                        'no flavor to take them from')
                if inst.flavor not in flavors:
                    raise SnapshotError(
                        f'{where}: resources: missing, and flavor '
                        f'{inst.flavor!r} is not in the flavors')
            if inst.server_group is not None:
                if inst.server_group not in groups:
                    raise SnapshotError(
                        f'{where}: server_group {inst.server_group!r} is '
                        'not in the server groups')
                if member_of.get(inst.id) != inst.server_group:
                    raise SnapshotError(
                        f'{where}: server_group {inst.server_group!r} does '
                        'not list it among its members')
            elif inst.id in member_of:
                raise SnapshotError(
                    f'{where}: server_group: missing, but server group '
                    f'{member_of[inst.id]!r} lists it as a member')
            acc = sums[inst.host]
            for r, amount in enumerate(self.request_of(inst)):
                acc[r] += amount
        for host in self.hosts:
            if host.used is None:
                continue
            for r, name in enumerate(RESOURCE_NAMES):
                used = host.used.get(name, 0.0)
                held = sums[host.name][r]
                if used + 1e-6 * max(held, 1.0) < held:
                    raise SnapshotError(
                        f'host {host.name!r}: used.{name}: {used:g} is less '
                        f'than its instances hold ({held:g})')

    # --- JSON --------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        def host(h: Host) -> dict[str, Any]:
            out: dict[str, Any] = {'name': h.name,
                                   'capacity': dict(h.capacity)}
            if h.used is not None:
                out['used'] = dict(h.used)
            if h.availability_zone is not None:
                out['availability_zone'] = h.availability_zone
            out['aggregates'] = list(h.aggregates)
            out['enabled'] = h.enabled
            if h.headroom:
                out['headroom'] = dict(h.headroom)
            if h.max_unit:
                out['max_unit'] = dict(h.max_unit)
            return out

        def flavor(f: Flavor) -> dict[str, Any]:
            out = dataclasses.asdict(f)
            if not f.pcpus:
                del out['pcpus']
            if f.other:
                out['other'] = dict(f.other)
            else:
                del out['other']
            return out

        def instance(i: Instance) -> dict[str, Any]:
            out = dataclasses.asdict(i)
            out['resources'] = dict(i.resources)
            if i.server_group is None:
                del out['server_group']
            for field in ('different_host', 'same_host'):
                if out[field]:
                    out[field] = list(out[field])
                else:
                    del out[field]
            return out

        return {
            'format': FORMAT, 'version': VERSION, 'source': self.source,
            'hosts': [host(h) for h in self.hosts],
            'instances': [instance(i) for i in self.instances],
            'server_groups': [
                {'id': g.id, 'policy': g.policy, 'members': list(g.members),
                 'max_server_per_host': g.max_server_per_host}
                for g in self.server_groups],
            'aggregates': [{'name': a.name, 'metadata': dict(a.metadata)}
                           for a in self.aggregates],
            'flavors': [flavor(f) for f in self.flavors],
            **({'warnings': list(self.warnings)} if self.warnings else {}),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot:
        if not isinstance(data, Mapping):
            raise SnapshotError('snapshot: expected a JSON object')
        if data.get('format', FORMAT) != FORMAT:
            raise SnapshotError(f"snapshot: format: expected {FORMAT!r}, "
                                f"got {data.get('format')!r}")
        if data.get('version', VERSION) != VERSION:
            raise SnapshotError(f'snapshot: version: expected {VERSION}, '
                                f"got {data.get('version')!r}")
        known = {'format', 'version', 'source', 'hosts', 'instances',
                 'server_groups', 'aggregates', 'flavors', 'warnings'}
        for key in data:
            if key not in known:
                raise SnapshotError(f'snapshot.{key}: unknown field; '
                                    f"expected {', '.join(sorted(known))}")

        def items(key: str, kind: type, id_key: str) -> list[Any]:
            raw = data.get(key, [])
            if not isinstance(raw, list):
                raise SnapshotError(f'snapshot.{key}: expected a list')
            out = []
            for i, entry in enumerate(raw):
                label = (entry.get(id_key) if isinstance(entry, Mapping)
                         else None)
                where = f'{key}[{i}]' + (f' ({label!r})' if label else '')
                fields = _fields(where, entry, kind)
                for name in ('aggregates', 'members', 'different_host',
                             'same_host'):
                    if name in fields and isinstance(fields[name], list):
                        fields[name] = tuple(fields[name])
                try:
                    out.append(kind(**fields))
                except TypeError as exc:
                    raise SnapshotError(f'{where}: {exc}') from None
            return out

        source = data.get('source', '')
        if not isinstance(source, str):
            raise SnapshotError('snapshot.source: expected a string')
        warnings = data.get('warnings', [])
        if not isinstance(warnings, list):
            raise SnapshotError('snapshot.warnings: expected a list')
        return cls(hosts=tuple(items('hosts', Host, 'name')),
                   instances=tuple(items('instances', Instance, 'id')),
                   server_groups=tuple(items('server_groups', ServerGroup,
                                             'id')),
                   aggregates=tuple(items('aggregates', Aggregate, 'name')),
                   flavors=tuple(items('flavors', Flavor, 'name')),
                   source=source, warnings=tuple(warnings))

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    @classmethod
    def load(cls, path: str) -> Snapshot:
        """A snapshot saved to ``path`` (``nova-scale-ext snapshot``).

        :raises SnapshotError: naming the file and what is wrong.
        """
        data = read_json(path)
        try:
            return cls.from_dict(data)
        except SnapshotError as exc:
            raise SnapshotError(f'{path}: {exc}') from None

    @classmethod
    def loads(cls, text: str) -> Snapshot:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise SnapshotError(f'snapshot: not JSON: {exc}') from None
        return cls.from_dict(data)


def read_json(path: str) -> Any:
    """The JSON document of file ``path`` (at most :data:`MAX_FILE_BYTES`).

    :raises SnapshotError: naming the file and what is wrong.
    """
    try:
        with open(path, 'rb') as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SnapshotError(f'{path}: {exc.strerror or exc}') from None
    if len(raw) > MAX_FILE_BYTES:
        raise SnapshotError(f'{path}: larger than {MAX_FILE_BYTES >> 20} '
                            'MiB; not a snapshot')
    try:
        return json.loads(raw.decode('utf-8-sig'))
    except UnicodeDecodeError:
        raise SnapshotError(f'{path}: not UTF-8 text') from None
    except (ValueError, RecursionError) as exc:
        raise SnapshotError(f'{path}: not JSON: {exc}') from None
