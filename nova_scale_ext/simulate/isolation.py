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
"""Tenant isolation in the simulator (``simulate --isolate SHARE`` or
``--isolate-projects FILE``).

Which tenants are isolated: with ``--isolate SHARE``, the largest tenants
(by their own peak of vCPUs alive at once) that together hold at most
``SHARE`` of the workload's peak vCPUs, taken from the largest down (a
tenant larger than what is left of the share is passed over); with
``--isolate-projects``, those of a file (one project ID a line, ``#``
comments). Each isolated tenant is a group of its own.

Each policy then gets a row ``POLICY+isolated``: the same replay with
tenant isolation as ``ScaleExtTenantIsolationFilter`` decides it
(:class:`~.model.Isolation`). With ``--compact`` the row also says what
Nova's way costs: each isolated tenant on an aggregate of its own
(``AggregateMultiTenancyIsolation`` and ``[scheduler]
limit_tenants_to_placement_aggregate``), each aggregate as small as that
tenant's own workload allows under the policy (searched like the hosts
needed), the other tenants on the rest: the sum of those fleets.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import numpy.typing as npt

from nova_scale_ext.core import isolation as core
from nova_scale_ext.simulate.workload import Workload

IntArray = npt.NDArray[np.int64]

#: a project list larger than this is refused
MAX_PROJECTS_FILE_BYTES = 16 * 1024 * 1024
#: the row suffix of a policy with tenant isolation
SUFFIX = 'isolated'


class IsolationError(ValueError):
    """An ``--isolate`` setting or project file that cannot be used."""


@dataclasses.dataclass(frozen=True)
class Setting:
    """The isolated tenants of one workload."""

    #: isolated project IDs, largest first
    projects: tuple[str, ...]
    #: per VM, its group: 0 shared, k the k-th project of ``projects``
    groups: IntArray
    #: what the isolated tenants hold of the workload's peak vCPUs (the sum
    #: of their own peaks)
    share: float
    #: how they were chosen (``--isolate 0.1``, ``--isolate-projects F``)
    text: str

    def describe(self) -> str:
        return (f'{len(self.projects):,} isolated tenants ({self.text}; '
                f'{self.share:.1%} of the peak vCPUs)')


def _project_codes(workload: Workload) -> tuple[list[str], IntArray]:
    if not workload.projects:
        raise IsolationError('the workload names no project (a trace needs '
                             'a project column to isolate tenants)')
    names, codes = np.unique(np.asarray(workload.projects, dtype=object),
                             return_inverse=True)
    return [str(n) for n in names], codes.reshape(-1).astype(np.int64)


def project_peaks(workload: Workload) -> dict[str, float]:
    """Each project's own peak of vCPUs alive at once."""
    names, codes = _project_codes(workload)
    order, _ = workload.events
    if order.size == 0:
        return {}
    vm = np.where(order >= 0, order, ~order)
    delta = np.where(order >= 0, 1.0, -1.0) * workload.vcpus[vm]
    proj = codes[vm]
    idx = np.argsort(proj, kind='stable')
    proj, delta = proj[idx], delta[idx]
    starts = np.flatnonzero(np.r_[True, proj[1:] != proj[:-1]])
    total = np.cumsum(delta)
    before = np.r_[0.0, total][starts]
    alive = total - np.repeat(before, np.diff(np.r_[starts, proj.size]))
    peaks = np.maximum.reduceat(alive, starts)
    return {names[p]: float(v) for p, v in zip(proj[starts].tolist(),
                                              peaks.tolist())}


def _peak_vcpus(workload: Workload) -> float:
    return float(workload.alive_peak(workload.requests(False))[0])


def by_share(workload: Workload, share: float) -> Setting:
    """The largest tenants holding together at most ``share`` of the peak
    vCPUs (see the module docstring)."""
    if not (0.0 < share <= 1.0):
        raise IsolationError(f'--isolate: expected a share above 0 and at '
                             f'most 1, got {share!r}')
    peaks = project_peaks(workload)
    top = _peak_vcpus(workload)
    left = share * top
    chosen = []
    for project, peak in sorted(peaks.items(), key=lambda kv: (-kv[1],
                                                               kv[0])):
        if 0 < peak <= left + 1e-9:
            chosen.append(project)
            left -= peak
    if not chosen:
        raise IsolationError(f'--isolate {share:g}: no tenant is small '
                             f'enough to fit within {share:.1%} of the peak '
                             'vCPUs')
    return _setting(workload, chosen, peaks, top, f'--isolate {share:g}')


def from_file(workload: Workload, path: str) -> Setting:
    """The tenants listed in ``path`` (those of the workload)."""
    where = f'--isolate-projects {path}'
    try:
        size = os.path.getsize(path)
        if size > MAX_PROJECTS_FILE_BYTES:
            raise IsolationError(f'{where}: {size:,} bytes; at most '
                                 f'{MAX_PROJECTS_FILE_BYTES:,}')
        with open(path, encoding='utf-8') as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise IsolationError(f'{where}: cannot read: {exc.strerror}'
                             ) from None
    except UnicodeDecodeError:
        raise IsolationError(f'{where}: not a UTF-8 text file') from None
    listed = []
    for number, line in enumerate(lines, 1):
        text = line.split('#', 1)[0].strip()
        if not text:
            continue
        if not core.PROJECT_ID.fullmatch(text):
            raise IsolationError(f'{where}, line {number}: {text[:80]!r} is '
                                 'not a project ID')
        listed.append(text)
    if not listed:
        raise IsolationError(f'{where}: lists no project')
    peaks = project_peaks(workload)
    known = [p for p in dict.fromkeys(listed) if p in peaks]
    if not known:
        raise IsolationError(f'{where}: none of its {len(listed)} projects '
                             'has a VM in the workload')
    known.sort(key=lambda p: (-peaks[p], p))
    return _setting(workload, known, peaks, _peak_vcpus(workload),
                    f'--isolate-projects {os.path.basename(path)}')


def _setting(workload: Workload, chosen: list[str],
             peaks: dict[str, float], top: float, text: str) -> Setting:
    number = {p: k for k, p in enumerate(chosen, 1)}
    groups = np.array([number.get(p, core.SHARED_CODE)
                       for p in workload.projects], dtype=np.int64)
    share = sum(peaks[p] for p in chosen) / top if top else 0.0
    return Setting(tuple(chosen), groups, share, text)


def subset(workload: Workload, vms: IntArray, name: str) -> Workload:
    """The VMs ``vms`` of ``workload`` (in their order) as a workload."""
    pick = vms.tolist()

    def take(seq):
        return None if seq is None else [seq[i] for i in pick]

    return Workload(name, take(workload.ids), workload.vcpus[vms],
                    workload.memory_mb[vms], workload.disk_gb[vms],
                    workload.start[vms], workload.end[vms],
                    take(workload.flavors), take(workload.projects))


def partitions(workload: Workload, setting: Setting
               ) -> list[tuple[str, Workload]]:
    """``(name, workload)`` of each isolated tenant's own VMs, then of the
    others' (Nova's way: an aggregate each)."""
    out = []
    for k, project in enumerate(setting.projects, 1):
        out.append((project, subset(workload,
                                    np.flatnonzero(setting.groups == k),
                                    f'{workload.name} [{project}]')))
    rest = np.flatnonzero(setting.groups == core.SHARED_CODE)
    if rest.size:
        out.append(('shared', subset(workload, rest,
                                     f'{workload.name} [shared]')))
    return out
