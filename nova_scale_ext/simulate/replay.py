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
"""The replay loop both engines run under.

Events are taken in the order of :attr:`Workload.events`.  A departure frees
what its VM used (a rejected VM has nothing to free); an arrival asks the
engine's chooser for a host (-1: rejected) and allocates the VM there.  The
chooser is told after every change of a host so that it can refresh its own
view (the reference engine rebuilds that host's ``HostState``).

With a consolidation mode (``defrag``, see :mod:`nova_scale_ext.defrag.
simulate`), the mode gets a ``tick`` before each event and a chance to make
room by migration for an arrival no host takes; it reports the hosts its
moves change to the chooser and the recorder itself.

Nothing here imports Nova.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from nova_scale_ext.simulate.metrics import Recorder
from nova_scale_ext.simulate.model import Ledger
from nova_scale_ext.simulate.workload import Workload

FloatArray = npt.NDArray[np.float64]

#: ``observer(position, vm, host)`` is called for each arrival after the
#: decision and before the allocation; returning True stops the replay.
Observer = Callable[[int, int, int], bool]
Progress = Callable[[int, int], None]

PROGRESS_EVERY = 4096


class Consolidation(Protocol):
    """What a consolidation mode gives the replay loop."""

    def tick(self, now: float) -> None:
        """Called before each event at trace time ``now``."""

    def rejected(self, vm: int) -> int:
        """A host for ``vm`` after making room (-1: none)."""


class Chooser(Protocol):
    """What an engine gives the replay loop (and consolidation) for one
    fleet; both engines' choosers are one."""

    #: per host, the VCPU/MEMORY_MB/DISK_GB shares the policy's headroom
    #: filter keeps free (an ``(n_hosts, 3)`` array, aggregate overrides
    #: applied), or None when the policy keeps none: a migration the
    #: simulator makes keeps them as a boot does
    headroom: FloatArray | None

    def select(self, vm: int) -> int:
        """Host index for ``vm``, or -1 when no host passes."""

    def changed(self, host: int) -> None:
        """``host``'s allocations changed."""


@dataclasses.dataclass
class Outcome:
    decisions: int = 0
    rejections: int = 0
    #: event position of the first rejection (None: none)
    first_rejection: int | None = None
    #: True when the replay ran to the last event
    completed: bool = False
    stopped_at: int = 0
    wall_s: float = 0.0


def replay(workload: Workload, ledger: Ledger, chooser: Chooser,
           requests: FloatArray, *, start: int = 0,
           stop_at_first_rejection: bool = False,
           recorder: Recorder | None = None,
           observer: Observer | None = None,
           progress: Progress | None = None,
           defrag: Consolidation | None = None) -> Outcome:
    """Replay the events of ``workload`` from position ``start``."""
    order, times = workload.events
    order_l = order.tolist()
    timed = recorder is not None or defrag is not None
    times_l = times.tolist() if timed else None
    tick = defrag.tick if defrag is not None else None
    total = len(order_l)
    out = Outcome()
    began = time.perf_counter()
    select = chooser.select
    changed = chooser.changed
    place = ledger.place
    remove = ledger.remove
    pos = start
    for pos in range(start, total):
        code = order_l[pos]
        if recorder is not None:
            recorder.advance(times_l[pos])
        if tick is not None:
            tick(times_l[pos])
        if progress is not None and pos % PROGRESS_EVERY == 0:
            progress(pos, total)
        if code < 0:
            vm = ~code
            host = remove(vm, requests[vm])
            if host >= 0:
                changed(host)
                if recorder is not None:
                    recorder.host_changed(host)
            continue
        host = select(code)
        if host < 0 and defrag is not None:
            host = defrag.rejected(code)
        out.decisions += 1
        if observer is not None and observer(pos, code, host):
            out.stopped_at = pos
            out.wall_s = time.perf_counter() - began
            return out
        if host < 0:
            out.rejections += 1
            if out.first_rejection is None:
                out.first_rejection = pos
            if stop_at_first_rejection:
                out.stopped_at = pos
                out.wall_s = time.perf_counter() - began
                return out
            continue
        place(code, host, requests[code])
        changed(host)
        if recorder is not None:
            recorder.host_changed(host)
    out.completed = True
    out.stopped_at = total
    out.wall_s = time.perf_counter() - began
    if progress is not None:
        progress(total, total)
    return out
