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
"""The parts of the model both engines share: the allocation ledger,
placement's pre-filter and the tie-break.

Placement
    A request asks for VCPU, MEMORY_MB and (unless the instance boots from
    volume) DISK_GB; a resource it asks 0 of is not requested, as Nova does.
    A host is an allocation candidate when, for every requested resource,
    ``used + amount <= (total - reserved) * allocation_ratio`` and
    ``amount <= total`` (the ``max_unit`` Nova's drivers report), exactly
    placement's capacity check.  Candidates are returned in host-index order,
    at most ``[scheduler] max_placement_results`` of them: the first ones.

Tie-break
    After the weighers, the host with the highest weight wins.  Weights are
    first rounded to :data:`TIE_DECIMALS` decimal places
    (``numpy.rint(weight * 10**9)``), so that weights that differ only by
    floating-point error are equal; among the hosts with the highest rounded
    weight the lowest host index wins.  Both engines call :func:`choose`.

Nothing here imports Nova.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from nova_scale_ext import model as cloud_model
from nova_scale_ext.simulate.fleet import Fleet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

TIE_DECIMALS = 9
_TIE_SCALE = 10.0 ** TIE_DECIMALS


def choose(weights: FloatArray) -> int:
    """Position of the winning weight (see the module docstring).

    ``weights`` are in host-index order; returns -1 for an empty array.
    """
    if weights.size == 0:
        return -1
    keys = np.rint(np.asarray(weights, dtype=np.float64) * _TIE_SCALE)
    return int(np.argmax(keys == keys.max()))


class Ledger:
    """Allocations of the replayed instances on each host.

    ``used`` holds what instances were allocated (reserved amounts are not
    in it); ``count`` the number of instances per host; ``host_of`` where
    each VM of the workload is (-1: not placed, rejected or gone).
    """

    def __init__(self, fleet: Fleet, n_vms: int) -> None:
        self.fleet = fleet
        self.capacity = fleet.capacity
        self.max_unit = fleet.total
        hosts = len(fleet)
        self.used = np.zeros((hosts, 3), dtype=np.float64)
        self.count = np.zeros(hosts, dtype=np.int64)
        self.host_of = np.full(n_vms, -1, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.count.shape[0])

    def place(self, vm: int, host: int, request: FloatArray) -> None:
        self.used[host] += request
        self.count[host] += 1
        self.host_of[vm] = host

    def remove(self, vm: int, request: FloatArray) -> int:
        """Free what ``vm`` used; returns its host (-1 if not placed)."""
        host = int(self.host_of[vm])
        if host >= 0:
            self.used[host] -= request
            self.count[host] -= 1
            self.host_of[vm] = -1
        return host

    def head(self, n: int) -> Ledger:
        """A copy restricted to the first ``n`` hosts (which must hold every
        placed VM)."""
        out = Ledger.__new__(Ledger)
        out.fleet = self.fleet.head(n)
        out.capacity = out.fleet.capacity
        out.max_unit = out.fleet.total
        out.used = self.used[:n].copy()
        out.count = self.count[:n].copy()
        out.host_of = self.host_of.copy()
        if (out.host_of >= n).any():
            raise ValueError('VMs are placed beyond the first %d hosts' % n)
        return out

    def active_hosts(self) -> int:
        return int(np.count_nonzero(self.count))

    def snapshot(self, ids: Sequence[str], requests: FloatArray,
                 source: str = 'simulator') -> cloud_model.Snapshot:
        """This moment of the replay as the model of a cloud
        (:class:`nova_scale_ext.model.Snapshot`: what the capacity report
        and the planner read): the hosts with their capacity, usage,
        ``max_unit`` and aggregates, the placed VMs (``ids``: each VM's
        name; ``requests``: what each asks, ``(vms, 3)``)."""
        names = self.fleet.host_names
        classes = self.fleet.classes
        kinds = ('VCPU', 'MEMORY_MB', 'DISK_GB')
        hosts = tuple(
            cloud_model.Host(
                names[h],
                dict(zip(kinds, map(float, self.capacity[h]))),
                dict(zip(kinds, map(float, self.used[h]))),
                aggregates=classes[c].aggregates,
                max_unit={k: float(v) for k, v in zip(kinds, self.max_unit[h])
                          if v > 0})
            for h, c in enumerate(self.fleet.class_of.tolist()))
        placed = np.flatnonzero(self.host_of >= 0)
        instances = tuple(
            cloud_model.Instance(
                str(ids[v]), names[int(self.host_of[v])],
                dict(zip(kinds, map(float, requests[v]))))
            for v in placed.tolist())
        used = {a for c in classes for a in c.aggregates}
        aggregates = tuple(
            cloud_model.Aggregate(name, {k: str(v) for k, v in meta.items()})
            for name, meta in self.fleet.aggregates.items() if name in used)
        return cloud_model.Snapshot(hosts, instances, aggregates=aggregates,
                                    source=source)

    def lowest_empty(self) -> int:
        """Index of the lowest empty host, or the number of hosts."""
        empty = self.count == 0
        pos = int(np.argmax(empty))
        return pos if empty[pos] else len(self)


class Placement:
    """Placement's allocation candidates for the distinct request shapes of
    a workload (``shapes``: ``(shapes, 3)`` requested amounts)."""

    def __init__(self, ledger: Ledger, shapes: FloatArray,
                 limit: int) -> None:
        self.ledger = ledger
        self.shapes = shapes
        self.limit = max(int(limit), 1)
        self._asked = shapes > 0
        # amount <= max_unit (the physical total) never changes
        self._unit_ok = np.array(
            [((ledger.max_unit >= s) | (s <= 0)).all(axis=1) for s in shapes]
        ).reshape(len(shapes), len(ledger))
        self._not_asked = ~self._asked

    def candidates(self, shape: int) -> IntArray:
        """Host indices with room for one instance of ``shape``, in index
        order, at most ``limit``."""
        led = self.ledger
        fits = led.used + self.shapes[shape] <= led.capacity
        fits |= self._not_asked[shape]
        ok = fits.all(axis=1)
        ok &= self._unit_ok[shape]
        idx = np.flatnonzero(ok)
        if idx.size > self.limit:
            idx = idx[:self.limit]
        return idx

    def fits_empty_host(self, shape: int) -> BoolArray:
        """Per host, whether the shape fits it when it is empty."""
        cap = self.ledger.capacity
        s = self.shapes[shape]
        return (((s <= cap) | (s <= 0)).all(axis=1)
                & self._unit_ok[shape])


def shapes_of(requests: FloatArray) -> tuple[FloatArray, IntArray]:
    """Distinct request rows and, per VM, the index of its row."""
    if requests.shape[0] == 0:
        return np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    shapes, inverse = np.unique(requests, axis=0, return_inverse=True)
    return shapes, inverse.reshape(-1).astype(np.int64)
