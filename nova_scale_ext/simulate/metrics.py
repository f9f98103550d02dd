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
"""What a replay measured, integrated over simulated time.

The fleet's state is constant between two events, so every time average is
an exact integral over the replay, from the first arrival to the last event:

* active hosts: hosts with at least one instance; peak and time average;
* utilisation of resource R: allocated R over the R capacity of the active
  hosts, ``integral(used) / integral(capacity of active hosts)``;
* stranded R: R left free on active hosts where *another* resource is
  exhausted (less of it free than the smallest amount any VM of the workload
  asks), as a share of the R capacity of the active hosts, integrated in the
  same way.  It is capacity that is paid for and cannot be sold.

Capacities are placement's: ``(total - reserved) * allocation_ratio``.
Nothing here imports Nova.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from nova_scale_ext.simulate.model import Ledger

FloatArray = npt.NDArray[np.float64]

RESOURCE_NAMES = ('VCPU', 'MEMORY_MB', 'DISK_GB')


@dataclasses.dataclass
class Metrics:
    peak_active_hosts: int
    mean_active_hosts: float
    utilisation: dict[str, float]
    stranded: dict[str, float]
    #: (time, active hosts) at every change, for plots
    active_series: tuple[list[float], list[int]]


class Recorder:
    """Integrates the ledger's state over time; call :meth:`advance` before
    applying the events of a new time, :meth:`host_changed` after changing a
    host, :meth:`finish` at the end."""

    def __init__(self, ledger: Ledger, min_request: FloatArray,
                 resources: tuple[bool, bool, bool] = (True, True, True)
                 ) -> None:
        self.ledger = ledger
        self.capacity = ledger.capacity.tolist()
        # a resource nobody asks for is never "exhausted"
        self.min_request = [float(x) if np.isfinite(x) and x > 0 else None
                            for x in min_request]
        self.resources = resources
        hosts = len(ledger)
        self._contrib: list[tuple[float, float, float, float, float, float,
                                  float, float, float, int]] = [
            (0.0,) * 9 + (0,)] * hosts
        # running sums: active capacity (3), used (3), stranded (3), active
        self._sums = [0.0] * 9
        self._active = 0
        self._t: float | None = None
        self._t0: float | None = None
        self._integrals = [0.0] * 10
        self.peak = 0
        self.series_t: list[float] = []
        self.series_n: list[int] = []
        for host in range(hosts):
            self.host_changed(host)

    def _host(self, host: int) -> tuple[float, float, float, float, float,
                                        float, float, float, float, int]:
        if self.ledger.count[host] <= 0:
            return (0.0,) * 9 + (0,)
        cap = self.capacity[host]
        used = self.ledger.used[host].tolist()
        free = [c - u for c, u in zip(cap, used)]
        exhausted = [m is not None and f < m
                     for f, m in zip(free, self.min_request)]
        stranded = [max(free[r], 0.0)
                    if any(exhausted[s] for s in range(3) if s != r) else 0.0
                    for r in range(3)]
        return (cap[0], cap[1], cap[2], used[0], used[1], used[2],
                stranded[0], stranded[1], stranded[2], 1)

    def host_changed(self, host: int) -> None:
        old = self._contrib[host]
        new = self._host(host)
        if old == new:
            return
        for k in range(9):
            self._sums[k] += new[k] - old[k]
        self._contrib[host] = new
        if new[9] != old[9]:
            self._active += new[9] - old[9]
            if self._active > self.peak:
                self.peak = self._active
            if self._t is not None:
                if self.series_t and self.series_t[-1] == self._t:
                    self.series_n[-1] = self._active
                else:
                    self.series_t.append(self._t)
                    self.series_n.append(self._active)

    def advance(self, t: float) -> None:
        if self._t is None:
            self._t = self._t0 = t
            self.series_t.append(t)
            self.series_n.append(self._active)
            return
        dt = t - self._t
        if dt > 0:
            sums = self._sums
            integ = self._integrals
            for k in range(9):
                integ[k] += sums[k] * dt
            integ[9] += self._active * dt
            self._t = t

    def finish(self) -> Metrics:
        integ = self._integrals
        span = (self._t - self._t0) if self._t is not None else 0.0
        util: dict[str, float] = {}
        stranded: dict[str, float] = {}
        for r, name in enumerate(RESOURCE_NAMES):
            if not self.resources[r]:
                continue
            if span > 0 and integ[r] > 0:
                util[name] = integ[3 + r] / integ[r]
                stranded[name] = integ[6 + r] / integ[r]
            elif self._sums[r] > 0:      # no time passed: the final state
                util[name] = self._sums[3 + r] / self._sums[r]
                stranded[name] = self._sums[6 + r] / self._sums[r]
            else:
                util[name] = 0.0
                stranded[name] = 0.0
        mean = integ[9] / span if span > 0 else float(self._active)
        if self._t is not None and (not self.series_t
                                    or self.series_t[-1] != self._t):
            self.series_t.append(self._t)
            self.series_n.append(self._active)
        return Metrics(self.peak, mean, util, stranded,
                       (self.series_t, self.series_n))
