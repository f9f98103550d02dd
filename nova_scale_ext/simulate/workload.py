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
"""Workloads: which VMs arrive when, how big they are and when they leave.

Three sources, all giving a :class:`Workload`:

* ``huawei-lt``: the public Huawei Cloud trace in arrival/lifetime form
  (``vmid,cpu,mem,at,lt``; ``mem`` in GiB, times in seconds).
* ``csv``: the simulator's own generic format, one VM a row, with a header::

      id,vcpus,memory_mb,disk_gb,start_s,end_s[,flavor][,project]

  ``vcpus`` and ``memory_mb`` are positive integers, ``disk_gb`` a
  non-negative integer (root plus ephemeral disk), ``start_s`` the arrival in
  seconds (any origin, >= 0) and ``end_s`` the departure (>= ``start_s``;
  empty means the VM never leaves).  Columns may come in any order; lines
  starting with ``#``, blank lines and a UTF-8 byte order mark are
  skipped.  Errors count lines as in the file (a quoted value may span
  lines).
* :func:`synthetic`: a seeded built-in workload shaped like a public cloud
  (general, compute and memory flavor families, small flavors dominating,
  diurnal arrivals with batches, heavy-tailed lifetimes).

Sizes and times beyond what any cloud has are refused as bad input (a unit
mistake, or garbage): at most :data:`MAX_VCPUS` vCPUs, :data:`MAX_MEMORY_MB`
MiB and :data:`MAX_DISK_GB` GiB of disk per VM, times and lifetimes of at
most :data:`MAX_TIME_S` seconds.

Nothing here imports Nova.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
import os
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

HUAWEI_COLUMNS = ('vmid', 'cpu', 'mem', 'at', 'lt')
CSV_REQUIRED = ('id', 'vcpus', 'memory_mb', 'disk_gb', 'start_s', 'end_s')
CSV_OPTIONAL = ('flavor', 'project')
FORMATS = ('huawei-lt', 'csv')

#: Largest VM, and latest time, a trace may give (see the module docstring).
MAX_VCPUS = 2 ** 20                 # 1,048,576 vCPUs
MAX_MEMORY_MB = 2 ** 32             # 4 PiB
MAX_DISK_GB = 2 ** 30               # 1 EiB
MAX_TIME_S = 10 ** 11               # about 3,170 years
#: Most VMs of :func:`synthetic`, and most days :func:`resample_days` lays
#: out (100 years).
MAX_SYNTHETIC_VMS = 10_000_000
MAX_RESAMPLE_DAYS = 36_525
#: Longest text of the input an error message quotes.
MAX_QUOTED = 60


def shortened(text: str, limit: int = MAX_QUOTED) -> str:
    """``text`` cut to ``limit`` characters, for an error message."""
    return text if len(text) <= limit else text[:limit - 3] + '...'


def quoted(value: object) -> str:
    """``repr(value)``, cut to :data:`MAX_QUOTED` characters."""
    return shortened(repr(value))


class WorkloadError(ValueError):
    """A workload file that cannot be read, naming the file, line and
    field."""

    def __init__(self, path: str, line: int | None, field: str | None,
                 message: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        where = path if line is None else f'{path}, line {line}'
        if field is not None:
            where += f', field {quoted(field)}'
        super().__init__(f'{where}: {message}')


@dataclasses.dataclass(frozen=True, eq=False)
class Workload:
    """VMs in arrival order (ties keep the order of the source)."""

    name: str
    ids: Sequence[str]
    vcpus: IntArray
    memory_mb: IntArray
    disk_gb: IntArray
    start: FloatArray
    end: FloatArray            # ``inf``: never leaves
    flavors: Sequence[str] | None = None
    projects: Sequence[str] | None = None

    def __len__(self) -> int:
        return int(self.vcpus.shape[0])

    def requests(self, with_disk: bool = True) -> FloatArray:
        """``(vms, 3)`` array of vCPU, memory MiB and disk GiB asked for;
        disk is 0 when ``with_disk`` is false (instances boot from volume)."""
        disk = self.disk_gb if with_disk else np.zeros_like(self.disk_gb)
        return np.stack([self.vcpus, self.memory_mb, disk],
                        axis=1).astype(np.float64)

    @functools.cached_property
    def events(self) -> tuple[IntArray, FloatArray]:
        """All arrivals and departures in replay order.

        Returns ``(order, times)``: ``order[k] >= 0`` is the arrival of VM
        ``order[k]``, ``order[k] < 0`` the departure of VM ``~order[k]``.
        Events are sorted by time; at equal times departures come first, then
        arrivals in source order, then the departures of VMs that leave the
        second they arrive.  VMs that never leave have no departure event.
        """
        n = len(self)
        vm = np.arange(n, dtype=np.int64)
        leaves = np.isfinite(self.end)
        dep_vm = vm[leaves]
        dep_t = self.end[leaves]
        instant = dep_t <= self.start[leaves]
        dep_t = np.where(instant, self.start[leaves], dep_t)
        kind = np.concatenate([np.ones(n, dtype=np.int64),
                               np.where(instant, 2, 0)])
        times = np.concatenate([self.start, dep_t])
        codes = np.concatenate([vm, ~dep_vm])
        seq = np.concatenate([vm, dep_vm])
        idx = np.lexsort((seq, kind, times))
        return codes[idx], times[idx]

    def alive_peak(self, requests: FloatArray) -> FloatArray:
        """Peak of the summed ``requests`` of the VMs alive at once, per
        column (in the replay order of :attr:`events`)."""
        order, _ = self.events
        if order.size == 0:
            return np.zeros(requests.shape[1])
        vm = np.where(order >= 0, order, ~order)
        sign = np.where(order >= 0, 1.0, -1.0)
        alive = np.cumsum(requests[vm] * sign[:, None], axis=0)
        return alive.max(axis=0)

    def peak_alive_vms(self) -> int:
        order, _ = self.events
        if order.size == 0:
            return 0
        return int(np.cumsum(np.where(order >= 0, 1, -1)).max())

    @property
    def duration(self) -> float:
        if not len(self):
            return 0.0
        _, times = self.events
        return float(times[-1] - times[0])

    def head(self, n: int) -> Workload:
        """The first ``n`` VMs (by arrival order of the source)."""
        def cut(seq: Sequence[str] | None) -> Sequence[str] | None:
            return None if seq is None else list(seq[:n])
        return Workload(f'{self.name}[:{n}]', list(self.ids[:n]),
                        self.vcpus[:n], self.memory_mb[:n], self.disk_gb[:n],
                        self.start[:n], self.end[:n], cut(self.flavors),
                        cut(self.projects))


# --- readers ---------------------------------------------------------------

def _rows(path: str) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with the line each starts on (a quoted field may span
    lines); a byte order mark is skipped."""
    try:
        handle = open(path, newline='', encoding='utf-8-sig')
    except OSError as exc:
        raise WorkloadError(path, None, None,
                            f'cannot open: {exc.strerror}') from None
    with handle:
        reader = csv.reader(handle)
        line = 0                # the last line of the previous row
        try:
            for row in reader:
                yield line + 1, row
                line = reader.line_num
        except csv.Error as exc:
            raise WorkloadError(path, line + 1, None,
                                f'not a CSV file: {exc}') from None
        except UnicodeDecodeError:
            raise WorkloadError(path, _undecodable_line(path), None,
                                'not a CSV file: not UTF-8 text') from None


def _undecodable_line(path: str) -> int | None:
    """The first line of ``path`` that is not UTF-8 (counted as
    :func:`_rows` counts them)."""
    line = 0
    try:
        with open(path, 'rb') as handle:
            for chunk in handle:
                for text in chunk.splitlines():
                    line += 1
                    try:
                        text.decode('utf-8')
                    except UnicodeDecodeError:
                        return line
    except OSError:
        pass
    return None


def _numbered(path: str) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with their line numbers, skipping blanks and comments."""
    for line, row in _rows(path):
        if not row or not ''.join(row).strip():
            continue
        if row[0].lstrip().startswith('#'):
            continue
        yield line, [cell.strip() for cell in row]


def _too_large(path: str, line: int, field: str, text: str,
               maximum: float, unit: str) -> WorkloadError:
    return WorkloadError(path, line, field,
                         f'expected at most {maximum:,.0f}{unit}, got '
                         f'{quoted(text)}')


def _int(path: str, line: int, field: str, text: str, minimum: int,
         what: str, maximum: int, unit: str) -> int:
    try:
        value = float(text)
        if not math.isfinite(value) or value != int(value):
            raise ValueError
    except ValueError:
        raise WorkloadError(path, line, field,
                            f'expected {what}, got {quoted(text)}') from None
    if value < minimum:
        raise WorkloadError(path, line, field,
                            f'expected {what}, got {quoted(text)}')
    if value > maximum:
        raise _too_large(path, line, field, text, maximum, unit)
    return int(value)


def _float(path: str, line: int, field: str, text: str, minimum: float,
           what: str, maximum: float = MAX_TIME_S,
           unit: str = ' s (about 3,170 years)') -> float:
    try:
        value = float(text)
    except ValueError:
        raise WorkloadError(path, line, field,
                            f'expected {what}, got {quoted(text)}') from None
    if not math.isfinite(value) or value < minimum:
        raise WorkloadError(path, line, field,
                            f'expected {what}, got {quoted(text)}')
    if value > maximum:
        raise _too_large(path, line, field, text, maximum, unit)
    return value


def _header(path: str, rows: Iterator[tuple[int, list[str]]]
            ) -> tuple[int, list[str]]:
    for line, row in rows:
        return line, [c.lower() for c in row]
    raise WorkloadError(path, None, None, 'the file is empty (no header)')


def detect_format(path: str) -> str:
    """``huawei-lt`` if the header is the Huawei trace's, else ``csv``."""
    try:
        _, header = _header(path, _numbered(path))
    except WorkloadError:
        return 'csv'
    return 'huawei-lt' if tuple(header) == HUAWEI_COLUMNS else 'csv'


def read_huawei_lt(path: str) -> Workload:
    """Read the Huawei trace (``vmid,cpu,mem,at,lt``; mem in GiB)."""
    rows = _numbered(path)
    line, header = _header(path, rows)
    if tuple(header) != HUAWEI_COLUMNS:
        raise WorkloadError(path, line, None,
                            f"expected the header {','.join(HUAWEI_COLUMNS)}"
                            f", got {quoted(','.join(header))}")
    ids: list[str] = []
    cpu: list[int] = []
    mem: list[int] = []
    start: list[float] = []
    end: list[float] = []
    for line, row in rows:
        if len(row) != len(HUAWEI_COLUMNS):
            raise WorkloadError(path, line, None,
                                f'expected {len(HUAWEI_COLUMNS)} fields, '
                                f'got {len(row)}')
        vmid, c, m, at, lt = row
        ids.append(vmid)
        cpu.append(_int(path, line, 'cpu', c, 1, 'a positive integer',
                        MAX_VCPUS, ' vCPUs'))
        gib = _float(path, line, 'mem', m, 0.0, 'a positive number of GiB',
                     MAX_MEMORY_MB // 1024, ' GiB (4 PiB)')
        mib = round(gib * 1024)
        if mib < 1:
            raise WorkloadError(path, line, 'mem',
                                f'expected a positive number of GiB, got '
                                f'{quoted(m)}')
        mem.append(mib)
        t = _float(path, line, 'at', at, 0.0,
                   'an arrival time in seconds (>= 0)')
        start.append(t)
        end.append(t + _float(path, line, 'lt', lt, 0.0,
                              'a lifetime in seconds (>= 0)'))
    n = len(ids)
    return Workload(os.path.basename(path), ids,
                    np.array(cpu, dtype=np.int64), np.array(mem, np.int64),
                    np.zeros(n, dtype=np.int64), np.array(start, np.float64),
                    np.array(end, np.float64))


def read_csv(path: str) -> Workload:
    """Read the generic CSV format (see the module docstring)."""
    rows = _numbered(path)
    line, header = _header(path, rows)
    known = CSV_REQUIRED + CSV_OPTIONAL
    unknown = [c for c in header if c not in known]
    if unknown:
        raise WorkloadError(path, line, shortened(unknown[0]),
                            f"unknown column; expected {','.join(known)}")
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise WorkloadError(path, line, missing[0],
                            'missing column; the header must name '
                            f"{','.join(CSV_REQUIRED)} (flavor and project "
                            'are optional)')
    if len(set(header)) != len(header):
        raise WorkloadError(path, line, None, 'a column is named twice')
    col = {name: i for i, name in enumerate(header)}
    ids: list[str] = []
    cpu: list[int] = []
    mem: list[int] = []
    disk: list[int] = []
    start: list[float] = []
    end: list[float] = []
    flavors: list[str] = []
    projects: list[str] = []
    for line, row in rows:
        if len(row) != len(header):
            raise WorkloadError(path, line, None,
                                f'expected {len(header)} fields, got '
                                f'{len(row)}')
        ids.append(row[col['id']])
        cpu.append(_int(path, line, 'vcpus', row[col['vcpus']], 1,
                        'a positive integer', MAX_VCPUS, ' vCPUs'))
        mem.append(_int(path, line, 'memory_mb', row[col['memory_mb']], 1,
                        'a positive integer (MiB)', MAX_MEMORY_MB,
                        ' MiB (4 PiB)'))
        disk.append(_int(path, line, 'disk_gb', row[col['disk_gb']], 0,
                         'a non-negative integer (GiB)', MAX_DISK_GB,
                         ' GiB (1 EiB)'))
        t0 = _float(path, line, 'start_s', row[col['start_s']], 0.0,
                    'a time in seconds (>= 0)')
        start.append(t0)
        raw_end = row[col['end_s']]
        if raw_end == '':
            end.append(math.inf)
        else:
            end.append(_float(path, line, 'end_s', raw_end, t0,
                              'a time in seconds, not before start_s, or '
                              'empty (never leaves)'))
        flavors.append(row[col['flavor']] if 'flavor' in col else '')
        projects.append(row[col['project']] if 'project' in col else '')
    return Workload(os.path.basename(path), ids,
                    np.array(cpu, dtype=np.int64), np.array(mem, np.int64),
                    np.array(disk, dtype=np.int64),
                    np.array(start, np.float64), np.array(end, np.float64),
                    flavors if 'flavor' in col else None,
                    projects if 'project' in col else None)


def read(path: str, fmt: str | None = None) -> Workload:
    """Read ``path`` in ``fmt`` (detected from the header when None)."""
    fmt = fmt or detect_format(path)
    if fmt == 'huawei-lt':
        return read_huawei_lt(path)
    if fmt == 'csv':
        return read_csv(path)
    raise ValueError(f'unknown trace format {fmt!r}; expected one of '
                     f"{', '.join(FORMATS)}")


def write_csv(workload: Workload, path: str) -> None:
    """Write ``workload`` in the generic CSV format."""
    with open(path, 'w', newline='', encoding='utf-8') as handle:
        out = csv.writer(handle)
        out.writerow(CSV_REQUIRED + CSV_OPTIONAL)
        for i in range(len(workload)):
            end = workload.end[i]
            out.writerow([
                workload.ids[i], int(workload.vcpus[i]),
                int(workload.memory_mb[i]), int(workload.disk_gb[i]),
                repr(float(workload.start[i])),
                '' if not math.isfinite(end) else repr(float(end)),
                workload.flavors[i] if workload.flavors else '',
                workload.projects[i] if workload.projects else ''])


# --- synthetic workload ----------------------------------------------------

#: (name, vCPUs, GiB, root disk GiB, share of arrivals): general purpose
#: (1:2), compute (1:1) and memory (1:4) families, small flavors dominating
#: as in public clouds.
SYNTHETIC_FLAVORS: tuple[tuple[str, int, int, int, float], ...] = (
    ('g.1c2g', 1, 2, 20, 0.30),
    ('g.2c4g', 2, 4, 40, 0.18),
    ('g.4c8g', 4, 8, 40, 0.12),
    ('g.8c16g', 8, 16, 80, 0.06),
    ('g.16c32g', 16, 32, 160, 0.03),
    ('g.32c64g', 32, 64, 160, 0.01),
    ('c.1c1g', 1, 1, 20, 0.10),
    ('c.2c2g', 2, 2, 20, 0.03),
    ('c.4c4g', 4, 4, 40, 0.02),
    ('m.1c4g', 1, 4, 20, 0.03),
    ('m.2c8g', 2, 8, 40, 0.04),
    ('m.4c16g', 4, 16, 40, 0.04),
    ('m.8c32g', 8, 32, 80, 0.025),
    ('m.16c64g', 16, 64, 160, 0.01),
    ('m.32c128g', 32, 128, 160, 0.005),
)

#: Lifetime mixture: (share, median seconds, sigma of the log): short-lived
#: test and batch VMs, day-long jobs, long-running services.
SYNTHETIC_LIFETIMES: tuple[tuple[float, float, float], ...] = (
    (0.60, 20 * 60.0, 1.2),
    (0.30, 6 * 3600.0, 1.0),
    (0.10, 5 * 86400.0, 0.8),
)

#: VMs alive at once in steady state (about 35 hosts of 80c/180G).
SYNTHETIC_ALIVE = 1200
#: Tenants (projects) of the synthetic workload and the skew of their
#: sizes: each request's project is drawn with weight ``1 / rank **
#: SKEW`` (a Zipf law), so that, as in public clouds, a few tenants hold
#: much of the load and most hold a VM or two (the default 20,000 VMs:
#: 1,346 tenants, the largest with 18% of the VMs, more than half of them
#: with one or two).
SYNTHETIC_PROJECTS = 2500
SYNTHETIC_PROJECT_SKEW = 1.1
DEFAULT_SYNTHETIC_VMS = 20000
DEFAULT_SEED = 1


def synthetic(n: int = DEFAULT_SYNTHETIC_VMS, seed: int = DEFAULT_SEED,
              alive: int = SYNTHETIC_ALIVE) -> Workload:
    """A seeded public-cloud-like workload of ``n`` VMs.

    Requests arrive as a Poisson process whose rate follows the day (half
    again as many at the daily peak as on average, half as many at night);
    15% of requests are batches of 2-16 identical VMs (same flavor, project,
    second and lifetime, as when a user scales a group).  Flavors follow
    :data:`SYNTHETIC_FLAVORS`, projects a Zipf law over
    :data:`SYNTHETIC_PROJECTS` tenants, lifetimes the
    log-normal mixture :data:`SYNTHETIC_LIFETIMES` (median about half an
    hour, a long tail of multi-day VMs).  The arrival rate is set so that
    about ``alive`` VMs are alive at once in steady state.  The same ``n``
    and ``seed`` always give the same workload.
    """
    if n < 0:
        raise ValueError('the number of VMs must be >= 0')
    if n > MAX_SYNTHETIC_VMS:
        raise ValueError(f'the number of VMs must be at most '
                         f'{MAX_SYNTHETIC_VMS:,}')
    rng = np.random.default_rng(seed)
    shares = np.array([f[4] for f in SYNTHETIC_FLAVORS])
    shares /= shares.sum()
    mix = np.array([m[0] for m in SYNTHETIC_LIFETIMES])
    medians = np.array([m[1] for m in SYNTHETIC_LIFETIMES])
    sigmas = np.array([m[2] for m in SYNTHETIC_LIFETIMES])
    mean_life = float((mix * medians * np.exp(sigmas ** 2 / 2)).sum())
    batch_p, batch_max = 0.15, 16
    mean_batch = (1 - batch_p) + batch_p * (2 + batch_max) / 2
    vm_rate = alive / mean_life                      # VMs per second
    req_rate = vm_rate / mean_batch
    day = 86400.0
    proj_w = 1.0 / np.arange(1, SYNTHETIC_PROJECTS + 1) ** \
        SYNTHETIC_PROJECT_SKEW
    proj_w /= proj_w.sum()

    flavor_idx = np.empty(n, dtype=np.int64)
    start = np.empty(n, dtype=np.float64)
    life = np.empty(n, dtype=np.float64)
    project = np.empty(n, dtype=np.int64)
    t = 0.0
    i = 0
    while i < n:
        # thinning: candidate rate 1.5x the mean, diurnal acceptance
        t += rng.exponential(1.0 / (1.5 * req_rate))
        accept = (1.0 + 0.5 * math.sin(2 * math.pi * t / day)) / 1.5
        if rng.random() >= accept:
            continue
        size = 1
        if rng.random() < batch_p:
            size = int(rng.integers(2, batch_max + 1))
        size = min(size, n - i)
        comp = rng.choice(len(mix), p=mix)
        lifetime = float(rng.lognormal(math.log(medians[comp]),
                                       sigmas[comp]))
        flavor_idx[i:i + size] = rng.choice(len(shares), p=shares)
        project[i:i + size] = rng.choice(SYNTHETIC_PROJECTS, p=proj_w)
        start[i:i + size] = math.floor(t)
        life[i:i + size] = max(1.0, round(lifetime))
        i += size
    flav = SYNTHETIC_FLAVORS
    return Workload(
        f'synthetic(n={n}, seed={seed})', [f'vm-{k}' for k in range(n)],
        np.array([flav[k][1] for k in flavor_idx], dtype=np.int64),
        np.array([flav[k][2] * 1024 for k in flavor_idx], dtype=np.int64),
        np.array([flav[k][3] for k in flavor_idx], dtype=np.int64),
        start, start + life, [flav[k][0] for k in flavor_idx],
        [f'project-{k}' for k in project])


DAY_S = 86400.0


def resample_days(workload: Workload, seed: int) -> Workload:
    """A day-bootstrapped resample of ``workload``.

    The workload is cut into days by arrival time (from its first arrival);
    as many days are drawn at random, with replacement, and laid end to end:
    each drawn day's VMs arrive at the same time of day as in the original,
    in the slot of the new sequence, and keep their lifetimes (so long-lived
    VMs overlap later days as they did).  The result has the flavor mix,
    daily rhythm and lifetimes of the original, but bursts and quiet days in
    other orders and numbers: a workload the policies were not tuned on.
    The same ``seed`` always gives the same resample.  A workload spanning
    more than :data:`MAX_RESAMPLE_DAYS` days is refused.
    """
    n = len(workload)
    if n == 0:
        return workload
    t0 = float(workload.start.min())
    days = int((float(workload.start.max()) - t0) // DAY_S) + 1
    if days > MAX_RESAMPLE_DAYS:
        raise WorkloadError(workload.name, None, None,
                            f'its arrivals span {days:,} days; a day '
                            f'resample lays out at most '
                            f'{MAX_RESAMPLE_DAYS:,} (100 years)')
    day_of = np.floor((workload.start - t0) / DAY_S).astype(np.int64)
    days = int(day_of.max()) + 1
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, days, size=days)
    by_day = np.argsort(day_of, kind='stable')
    cuts = np.searchsorted(day_of[by_day], np.arange(days + 1))
    members = [by_day[cuts[d]:cuts[d + 1]] for d in range(days)]
    parts = []
    shifts = []
    for slot, day in enumerate(drawn.tolist()):
        idx = members[day]
        parts.append(idx)
        shifts.append(np.full(idx.size, (slot - day) * DAY_S))
    pick = np.concatenate(parts)
    shift = np.concatenate(shifts)
    start = workload.start[pick] + shift
    end = workload.end[pick] + shift
    order = np.argsort(start, kind='stable')
    pick, start, end = pick[order], start[order], end[order]

    def _take(seq):
        return None if seq is None else [seq[i] for i in pick.tolist()]

    ids = [f'{workload.ids[i]}@{k}' for k, i in enumerate(pick.tolist())]
    return Workload(f'{workload.name} (days resampled, seed {seed})', ids,
                    workload.vcpus[pick], workload.memory_mb[pick],
                    workload.disk_gb[pick], start, end,
                    _take(workload.flavors), _take(workload.projects))
