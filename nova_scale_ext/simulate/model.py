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

Random picks
    Nova's ``[filter_scheduler] shuffle_best_same_weighed_hosts`` (the hosts
    of the highest weight shuffled) and ``host_subset_size`` (the host
    picked at random among the first N) are modelled by :class:`Picker`
    with a generator seeded with :data:`PICK_SEED` for each replay, so
    that a replay stays repeatable; with Nova's defaults (no shuffle, a
    subset of 1) it is :func:`choose`.

Nothing here imports Nova.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from nova_scale_ext import model as cloud_model
from nova_scale_ext.core import isolation
from nova_scale_ext.simulate.fleet import Fleet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

TIE_DECIMALS = 9
_TIE_SCALE = 10.0 ** TIE_DECIMALS
#: the seed of every replay's random picks (:class:`Picker`)
PICK_SEED = 0


def choose(weights: FloatArray) -> int:
    """Position of the winning weight (see the module docstring).

    ``weights`` are in host-index order; returns -1 for an empty array.
    """
    if weights.size == 0:
        return -1
    keys = np.rint(np.asarray(weights, dtype=np.float64) * _TIE_SCALE)
    return int(np.argmax(keys == keys.max()))


class Picker:
    """The host nova-scheduler tries first, with its random picks: the
    weights sorted from the highest (equal rounded weights by host index,
    as :func:`choose`), the best ones shuffled with ``shuffle``, then one
    of the first ``subset_size`` drawn at random."""

    def __init__(self, subset_size: int = 1, shuffle: bool = False,
                 seed: int = PICK_SEED) -> None:
        self.subset_size = max(int(subset_size), 1)
        self.shuffle = bool(shuffle)
        self.rng = np.random.default_rng(seed)

    @property
    def random(self) -> bool:
        """Whether a pick may differ from :func:`choose`."""
        return self.shuffle or self.subset_size > 1

    def choose(self, weights: FloatArray) -> int:
        """Position of the picked weight (-1 for an empty array)."""
        if not self.random or weights.size <= 1:
            return choose(weights)
        keys = np.rint(np.asarray(weights, dtype=np.float64) * _TIE_SCALE)
        order = np.argsort(-keys, kind='stable')
        if self.shuffle:
            best = int(np.count_nonzero(keys == keys[order[0]]))
            if best > 1:
                order[:best] = self.rng.permutation(order[:best])
        span = min(self.subset_size, order.size)
        return int(order[int(self.rng.integers(span))] if span > 1
                   else order[0])


class Isolation:
    """Tenant isolation in a replay, as ``ScaleExtTenantIsolationFilter``
    decides it (:mod:`nova_scale_ext.core.isolation`): ``groups`` gives
    each VM its isolation group (0: the shared pool; 1, 2, ...: isolated
    groups); each host has an owner, the group of the instances it holds,
    set when a VM is placed on an empty host. A host passes a VM when it
    is empty or its owner is the VM's group. One per replay."""

    def __init__(self, groups: IntArray, hosts: int) -> None:
        self.groups = groups
        self.owner = np.full(hosts, isolation.EMPTY_CODE, dtype=np.int64)

    def allowed(self, idx: IntArray, vm: int, count: IntArray) -> IntArray:
        """The hosts of ``idx`` that pass ``vm`` (``count``: instances per
        host, the ledger's)."""
        group = self.groups[vm]
        ok = (count[idx] == 0) | (self.owner[idx] == group)
        return idx[ok]

    def placed(self, host: int, vm: int, count: IntArray) -> None:
        """``vm`` is about to go to ``host``, which holds ``count[host]``
        instances."""
        group = self.groups[vm]
        if count[host] == 0 or self.owner[host] == group:
            self.owner[host] = group
        else:
            self.owner[host] = isolation.MIXED_CODE


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
