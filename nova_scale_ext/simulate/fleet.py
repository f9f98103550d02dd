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
"""Fleets: the compute hosts a workload is replayed on.

A fleet is a list of host classes, each ``count`` identical hosts, plus the
host aggregates they belong to.  Hosts are numbered class after class in the
order of the file; that number is the host index used by the tie-break.

Identical hosts come from ``--hosts N --host-size 80c/180G[/DISK]``; mixed
fleets from a YAML file::

    host_classes:
      - name: small            # optional, default class-<n>
        count: 40
        vcpus: 64
        memory_mb: 262144
        disk_gb: 2000          # optional, default 0 (no local disk)
        cpu_allocation_ratio: 4.0     # optional, default 1.0
        ram_allocation_ratio: 1.0     # optional, default 1.0
        disk_allocation_ratio: 1.0    # optional, default 1.0
        reserved_vcpus: 0             # optional, default 0
        reserved_memory_mb: 4096      # optional, default 0
        reserved_disk_gb: 0           # optional, default 0
        aggregates: [overcommit]      # optional
    aggregates:                       # optional: name -> metadata
      overcommit:
        best_fit_weight_multiplier: 2.0

A snapshot of a cloud saved by ``nova-scale-ext snapshot`` (JSON) is a
fleet too (:func:`from_snapshot`): its enabled hosts, with their effective
capacity and aggregates, grouped into classes of identical hosts.

A fleet has at most :data:`MAX_HOSTS` hosts, each at most as large as the
largest VM a trace may give (:data:`.workload.MAX_VCPUS` and so on), with
allocation ratios of at most :data:`MAX_ALLOCATION_RATIO` (placement's);
names are at most :data:`MAX_NAME` characters, as in Nova.  YAML anchors
and aliases (``&``, ``*``, ``<<``) are refused: a few of them expand into
gigabytes; so are nesting deeper than :data:`MAX_DEPTH` and integers longer
than :data:`MAX_INTEGER_CHARS` characters.

Nothing here imports Nova.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from nova_scale_ext import model
from nova_scale_ext.core import resources
from nova_scale_ext.simulate.workload import (
    MAX_DISK_GB,
    MAX_MEMORY_MB,
    MAX_VCPUS,
    quoted,
    shortened,
)

#: Most hosts a fleet may have (well above any cloud's region).
MAX_HOSTS = 1_000_000
#: Longest host class or aggregate name (and aggregate metadata key or
#: value), as in Nova's database.
MAX_NAME = 255
#: Largest allocation ratio, as in placement.
MAX_ALLOCATION_RATIO = 3.40282e+38
#: Deepest nesting of a fleet file (it needs 4 levels; YAML is read with one
#: Python call per level) and longest integer in it (Python cannot print an
#: integer of more than 4,300 digits, which hexadecimal writes in fewer).
MAX_DEPTH = 32
MAX_INTEGER_CHARS = 100

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class FleetError(ValueError):
    """A fleet description that cannot be used, naming where and what was
    expected."""


@dataclasses.dataclass(frozen=True)
class HostClass:
    """``count`` identical hosts."""

    name: str
    count: int
    vcpus: int
    memory_mb: int
    disk_gb: int = 0
    cpu_allocation_ratio: float = 1.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_vcpus: int = 0
    reserved_memory_mb: int = 0
    reserved_disk_gb: int = 0
    aggregates: tuple[str, ...] = ()

    def size_text(self) -> str:
        mem = self.memory_mb / 1024
        text = f'{self.vcpus}c/{mem:g}G'
        if self.disk_gb:
            text += f'/{self.disk_gb}'
        return text


@dataclasses.dataclass(frozen=True, eq=False)
class Fleet:
    """Host classes and the metadata of the aggregates they belong to."""

    classes: tuple[HostClass, ...]
    aggregates: Mapping[str, Mapping[str, str]] = dataclasses.field(
        default_factory=dict)
    name: str = ''

    def __len__(self) -> int:
        return sum(c.count for c in self.classes)

    @functools.cached_property
    def class_of(self) -> IntArray:
        """Index of each host's class."""
        return np.repeat(np.arange(len(self.classes), dtype=np.int64),
                         [c.count for c in self.classes])

    def _per_host(self, fields: Sequence[str]) -> FloatArray:
        rows = np.array([[float(getattr(c, f)) for f in fields]
                         for c in self.classes], dtype=np.float64)
        if not len(self.classes):
            return np.zeros((0, len(fields)))
        return rows[self.class_of]

    @functools.cached_property
    def total(self) -> FloatArray:
        """``(hosts, 3)`` physical vCPU, memory MiB, disk GiB."""
        return self._per_host(('vcpus', 'memory_mb', 'disk_gb'))

    @functools.cached_property
    def reserved(self) -> FloatArray:
        return self._per_host(('reserved_vcpus', 'reserved_memory_mb',
                               'reserved_disk_gb'))

    @functools.cached_property
    def ratio(self) -> FloatArray:
        return self._per_host(('cpu_allocation_ratio', 'ram_allocation_ratio',
                               'disk_allocation_ratio'))

    @functools.cached_property
    def capacity(self) -> FloatArray:
        """What placement offers
        (:func:`nova_scale_ext.core.resources.effective_capacity`)."""
        return resources.effective_capacity(self.total, self.ratio,
                                            self.reserved)

    @functools.cached_property
    def host_names(self) -> list[str]:
        return [f'{c.name}-{i:04d}' for c in self.classes
                for i in range(c.count)]

    @property
    def offers_disk(self) -> bool:
        """Whether any host has local disk to place instance disks on."""
        return any(c.disk_gb > 0 for c in self.classes)

    def head(self, n: int) -> Fleet:
        """The first ``n`` hosts (whole classes, then part of the next)."""
        out: list[HostClass] = []
        left = n
        for cls in self.classes:
            if left <= 0:
                break
            take = min(cls.count, left)
            out.append(dataclasses.replace(cls, count=take))
            left -= take
        return Fleet(tuple(out), self.aggregates, self.name)

    def resized(self, n: int) -> Fleet:
        """The same single class with ``n`` hosts."""
        if len(self.classes) != 1:
            raise FleetError('only a fleet of one host class can be resized')
        return Fleet((dataclasses.replace(self.classes[0], count=n),),
                     self.aggregates, self.name)

    def describe(self) -> str:
        parts = []
        for c in self.classes:
            text = f'{c.count} x {c.size_text()}'
            extra = []
            if c.cpu_allocation_ratio != 1.0:
                extra.append(f'cpu {c.cpu_allocation_ratio:g}:1')
            if c.ram_allocation_ratio != 1.0:
                extra.append(f'ram {c.ram_allocation_ratio:g}:1')
            if c.disk_allocation_ratio != 1.0:
                extra.append(f'disk {c.disk_allocation_ratio:g}:1')
            if c.aggregates:
                extra.append('aggregates ' + ','.join(c.aggregates))
            if extra:
                text += f" ({'; '.join(extra)})"
            parts.append(text)
        return ' + '.join(parts) if parts else 'no hosts'


_SIZE = re.compile(
    r'^\s*(?P<cpu>\d+)\s*c\s*/\s*(?P<mem>\d+(?:\.\d+)?)\s*(?P<mu>[GM])i?B?'
    r'(?:\s*/\s*(?P<disk>\d+(?:\.\d+)?)\s*(?P<du>[GT])?i?B?)?\s*$',
    re.IGNORECASE)


def parse_host_size(text: str, name: str = 'host') -> HostClass:
    """``80c/180G`` or ``96c/384G/2000`` (disk in GiB, or ``2T``) as a host
    class of count 0.  Without a disk the hosts have no local disk."""
    match = _SIZE.match(text or '')
    if not match:
        raise FleetError(f'invalid host size {quoted(text)}: expected '
                         'VCPUSc/MEMG'
                         '[/DISK], for example 80c/180G or 96c/384G/2000')
    cpu = float(match['cpu'])
    mem = float(match['mem']) * (1024 if match['mu'].upper() == 'G' else 1)
    disk = 0.0
    if match['disk']:
        disk = float(match['disk']) * (
            1024 if (match['du'] or '').upper() == 'T' else 1)
    if cpu < 1 or mem < 1:
        raise FleetError(f'invalid host size {quoted(text)}: vCPUs and '
                         'memory must be positive')
    if cpu > MAX_VCPUS or mem > MAX_MEMORY_MB or disk > MAX_DISK_GB:
        raise FleetError(f'invalid host size {quoted(text)}: at most '
                         f'{MAX_VCPUS:,} vCPUs, {MAX_MEMORY_MB // 1024:,}G '
                         f'(4 PiB) and {MAX_DISK_GB:,} GiB of disk')
    if mem != int(mem) or disk != int(disk):
        raise FleetError(f'invalid host size {quoted(text)}: memory must be '
                         'a whole number of MiB and disk of GiB')
    return HostClass(name=name, count=0, vcpus=int(cpu), memory_mb=int(mem),
                     disk_gb=int(disk))


def identical(count: int, size: HostClass | str) -> Fleet:
    """``count`` identical hosts of ``size``."""
    cls = parse_host_size(size) if isinstance(size, str) else size
    if count < 0:
        raise FleetError('the number of hosts must be >= 0')
    if count > MAX_HOSTS:
        raise FleetError(f'the number of hosts must be at most '
                         f'{MAX_HOSTS:,}, not {count:,}')
    cls = dataclasses.replace(cls, count=count)
    return Fleet((cls,), {}, f'{count} x {cls.size_text()}')


# --- YAML fleet files --------------------------------------------------------

_CLASS_KEYS: dict[str, tuple[type, float, str, float]] = {
    'count': (int, 1, 'a positive integer', MAX_HOSTS),
    'vcpus': (int, 1, 'a positive integer', MAX_VCPUS),
    'memory_mb': (int, 1, 'a positive integer (MiB)', MAX_MEMORY_MB),
    'disk_gb': (int, 0, 'a non-negative integer (GiB)', MAX_DISK_GB),
    'cpu_allocation_ratio': (float, 0, 'a positive number',
                             MAX_ALLOCATION_RATIO),
    'ram_allocation_ratio': (float, 0, 'a positive number',
                             MAX_ALLOCATION_RATIO),
    'disk_allocation_ratio': (float, 0, 'a positive number',
                              MAX_ALLOCATION_RATIO),
    'reserved_vcpus': (int, 0, 'a non-negative integer', MAX_VCPUS),
    'reserved_memory_mb': (int, 0, 'a non-negative integer (MiB)',
                           MAX_MEMORY_MB),
    'reserved_disk_gb': (int, 0, 'a non-negative integer (GiB)',
                         MAX_DISK_GB),
}
_REQUIRED = ('count', 'vcpus', 'memory_mb')


def _number(path: str, key: str, value: Any, kind: type, minimum: float,
            what: str, maximum: float) -> int | float:
    bad = FleetError(f'{path}: {key}: expected {what}, got {quoted(value)}')
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad
    if isinstance(value, float) and not np.isfinite(value):
        raise bad
    if value > maximum:
        raise FleetError(f'{path}: {key}: expected at most {maximum:,}, got '
                         f'{quoted(value)}')
    if kind is int:
        if value != int(value) or value < minimum:
            raise bad
        return int(value)
    number = float(value)
    if number <= minimum:
        raise bad
    return number


def _name(path: str, key: str, value: Any) -> str:
    """An aggregate name, metadata key or value: a scalar of at most
    :data:`MAX_NAME` characters, as a string."""
    if value is None or isinstance(value, (dict, list, tuple, set)):
        raise FleetError(f'{path}: {key}: expected a string, got '
                         f'{quoted(value)}')
    text = str(value)
    if not text or len(text) > MAX_NAME:
        raise FleetError(f'{path}: {key}: expected 1 to {MAX_NAME} '
                         f'characters, got {quoted(text)}')
    return text


def _shown(name: str) -> str:
    """A name in an error message: cut, and as ``repr`` shows it if it has
    a line break or another character that cannot be printed."""
    return shortened(name) if name.isprintable() else quoted(name)


def _loader(path: str) -> type:
    """yaml's safe loader, refusing anchors and aliases (a few of them
    expand into gigabytes), nesting deeper than :data:`MAX_DEPTH`, integers
    longer than :data:`MAX_INTEGER_CHARS` and values its constructors
    cannot read (``!!bool maybe`` raises a KeyError in PyYAML)."""
    import yaml

    class NoAliases(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            event = self.peek_event()
            line = event.start_mark.line + 1
            if (isinstance(event, yaml.AliasEvent)
                    or getattr(event, 'anchor', None) is not None):
                raise FleetError(
                    f'{path}, line {line}: YAML '
                    'anchors and aliases (&, *) are not allowed in a fleet '
                    'file; write each value out')
            if self.depth >= MAX_DEPTH:
                raise FleetError(f'{path}, line {line}: not a usable YAML '
                                 f'file: nested more than {MAX_DEPTH} '
                                 'levels deep')
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_object(self, node, deep=False):
            where = f'{path}, line {node.start_mark.line + 1}'
            if (node.tag == 'tag:yaml.org,2002:int'
                    and isinstance(node, yaml.ScalarNode)
                    and len(node.value) > MAX_INTEGER_CHARS):
                raise FleetError(f'{where}: not a usable YAML file: an '
                                 f'integer of more than {MAX_INTEGER_CHARS} '
                                 'characters')
            try:
                return super().construct_object(node, deep)
            except FleetError:
                raise
            except (ValueError, LookupError, AttributeError, TypeError):
                value = (quoted(node.value) if isinstance(
                    node, yaml.ScalarNode) else f'a {node.id}')
                raise FleetError(f'{where}: not a usable YAML file: cannot '
                                 f'read {value} as {shortened(node.tag)}'
                                 ) from None

    return NoAliases


def _whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def from_snapshot(snap: model.Snapshot, name: str = '') -> Fleet:
    """The enabled hosts of ``snap`` as a fleet: hosts of the same
    effective capacity (VCPU, MEMORY_MB, DISK_GB; placement already
    applied allocation ratios and reserved amounts) and aggregates form a
    class, in the order their first host appears; the aggregates keep
    their metadata. Dedicated CPUs (PCPU) and other resource classes are
    not replayed."""
    groups: dict[tuple[Any, ...], list[model.Host]] = {}
    for host in snap.hosts:
        if not host.enabled:
            continue
        size = tuple(_whole(host.capacity.get(rc, 0.0))
                     for rc in ('VCPU', 'MEMORY_MB', 'DISK_GB'))
        groups.setdefault(size + (host.aggregates,), []).append(host)
    if not groups:
        raise FleetError(f'{name or "snapshot"}: no enabled host to replay '
                         'on')
    classes = []
    for i, ((vcpus, memory_mb, disk_gb, aggs), hosts) in enumerate(
            groups.items()):
        classes.append(HostClass(f'class-{i}', len(hosts), vcpus,
                                 memory_mb, disk_gb, aggregates=aggs))
    used = {a for c in classes for a in c.aggregates}
    return Fleet(tuple(classes),
                 {a.name: dict(a.metadata) for a in snap.aggregates
                  if a.name in used},
                 name or snap.source or 'snapshot')


def _is_json(path: str) -> bool:
    try:
        with open(path, 'rb') as stream:
            head = stream.read(64).lstrip(b'\xef\xbb\xbf \t\r\n')
    except OSError:
        return False
    return head.startswith(b'{')


def load_fleet(path: str) -> Fleet:
    """Read a YAML fleet file (format in the module docstring), or a
    snapshot of a cloud (JSON; :func:`from_snapshot`)."""
    if _is_json(path):
        try:
            data = model.read_json(path)
            if not (isinstance(data, dict) and 'host_classes' in data):
                return from_snapshot(model.Snapshot.from_dict(data), path)
        except model.SnapshotError as exc:
            raise FleetError(str(exc) if str(exc).startswith(path)
                             else f'{path}: {exc}') from None
    import yaml
    try:
        with open(path, encoding='utf-8') as handle:
            doc = yaml.load(handle, Loader=_loader(path))
    except OSError as exc:
        raise FleetError(f'{path}: cannot open: {exc.strerror}') from None
    except UnicodeDecodeError:
        raise FleetError(f'{path}: not a text file') from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f', line {mark.line + 1}' if mark is not None else ''
        problem = getattr(exc, 'problem', None) or str(exc).partition('\n')[0]
        raise FleetError(f'{path}{where}: not valid YAML: '
                         f'{shortened(problem, 100)}') from None
    except FleetError:
        raise
    except ValueError as exc:       # what the loader's checks let through
        raise FleetError(f'{path}: not a usable YAML file: '
                         f"{shortened(str(exc).split(';')[0], 100)}"
                         ) from None
    if not isinstance(doc, dict):
        raise FleetError(f'{path}: expected a mapping with the key '
                         "'host_classes' (a list of host classes)")
    unknown = set(doc) - {'host_classes', 'aggregates', 'name'}
    if unknown:
        first = _shown(sorted(map(str, unknown))[0])
        raise FleetError(f'{path}: {first}: unknown '
                         "key; expected 'host_classes', 'aggregates' and "
                         "optionally 'name'")
    aggregates: dict[str, dict[str, str]] = {}
    raw_aggs = doc.get('aggregates') or {}
    if not isinstance(raw_aggs, dict):
        raise FleetError(f'{path}: aggregates: expected a mapping of '
                         'aggregate name to its metadata (a mapping)')
    for agg, meta in raw_aggs.items():
        agg = _name(path, 'aggregates', agg)
        meta = {} if meta is None else meta
        where = f'aggregates.{_shown(agg)}'
        if not isinstance(meta, dict):
            raise FleetError(f'{path}: {where}: expected a mapping of '
                             'metadata keys to values')
        aggregates[agg] = {}
        for key, value in meta.items():
            key = _name(path, f'{where} key', key)
            if isinstance(value, (dict, list)) or value is None:
                raise FleetError(f'{path}: {where}.{_shown(key)}: '
                                 'expected a scalar metadata value, got '
                                 f'{quoted(value)}')
            aggregates[agg][key] = _name(path, f'{where}.{_shown(key)}',
                                         value)
    classes_doc = doc.get('host_classes')
    if not isinstance(classes_doc, list) or not classes_doc:
        raise FleetError(f'{path}: host_classes: expected a non-empty list '
                         'of host classes')
    classes: list[HostClass] = []
    names: set[str] = set()
    for i, entry in enumerate(classes_doc):
        where = f'host_classes[{i}]'
        if not isinstance(entry, dict):
            raise FleetError(f'{path}: {where}: expected a mapping with '
                             f"{', '.join(_REQUIRED)}")
        for key in entry:
            if key not in _CLASS_KEYS and key not in ('name', 'aggregates'):
                raise FleetError(
                    f'{path}: {where}.{_shown(str(key))}: unknown key; '
                    f"expected name, aggregates, {', '.join(_CLASS_KEYS)}")
        for key in _REQUIRED:
            if key not in entry:
                raise FleetError(f'{path}: {where}.{key}: missing; expected '
                                 f'{_CLASS_KEYS[key][2]}')
        values: dict[str, Any] = {}
        for key, (kind, minimum, what, maximum) in _CLASS_KEYS.items():
            if key in entry:
                values[key] = _number(path, f'{where}.{key}', entry[key],
                                      kind, minimum, what, maximum)
        name = str(entry.get('name') or f'class-{i}')
        if (not re.fullmatch(r'[A-Za-z0-9_.-]+', name) or name in names
                or len(name) > MAX_NAME):
            raise FleetError(f'{path}: {where}.name: expected a unique name '
                             f'of at most {MAX_NAME} letters, digits, ".", '
                             f'"_" or "-", got {quoted(name)}')
        names.add(name)
        aggs = entry.get('aggregates') or []
        if isinstance(aggs, str):
            aggs = [aggs]
        if not isinstance(aggs, list):
            raise FleetError(f'{path}: {where}.aggregates: expected a list '
                             'of aggregate names')
        aggs = [_name(path, f'{where}.aggregates', agg) for agg in aggs]
        for agg in aggs:
            if agg not in aggregates:
                aggregates[agg] = {}
        for res in ('vcpus', 'memory_mb', 'disk_gb'):
            reserved = values.get(f'reserved_{res}', 0)
            if reserved and reserved >= values.get(res, 0):
                raise FleetError(f'{path}: {where}.reserved_{res}: expected '
                                 f'less than {res} ({values.get(res, 0)})')
        classes.append(HostClass(name=name, aggregates=tuple(aggs),
                                 **values))
    hosts = sum(c.count for c in classes)
    if hosts > MAX_HOSTS:
        raise FleetError(f'{path}: host_classes: expected at most '
                         f'{MAX_HOSTS:,} hosts in all, got {hosts:,}')
    name = doc.get('name')
    return Fleet(tuple(classes), aggregates,
                 path if name in (None, '') else _name(path, 'name', name))
