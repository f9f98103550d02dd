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
"""Packing scores over a fleet, all hosts at once.

Every function takes ``capacity`` and ``used`` as ``(hosts, resources)``
arrays (see :mod:`nova_scale_ext.core.resources`), a ``request`` vector and,
where it matters, per-resource ``weights``.  A resource a host does not offer
(capacity 0) is left out of that host's score instead of dividing by zero.
All results are plain numbers in documented ranges; none of these functions
raises on zero, negative or overcommitted values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from nova_scale_ext.core import resources
from nova_scale_ext.core.resources import BoolArray, FloatArray, sanitize

#: Slack for comparisons of sums of floats against capacities.
EPSILON = 1e-9

_F = TypeVar('_F', bound=Callable[..., object])


def _quiet(func: _F) -> _F:
    """Overflow or 0/0 on absurd inputs is handled by the code (clipping,
    masks), not reported as a numpy warning."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np.errstate(all='ignore'):
            return func(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def _weights(capacity: FloatArray, weights: FloatArray) -> FloatArray:
    """Per-host weights: the configured weight where the host offers it."""
    return np.where(capacity > 0, weights, 0.0)


def _weighted_mean(w: FloatArray, values: FloatArray) -> FloatArray:
    """Per host, the mean of ``values`` weighted by ``w`` (0 where all
    weights are 0)."""
    return _mean_of(w, _row_sums(w), values)


def _row_sums(values: FloatArray) -> FloatArray:
    """``values.sum(axis=1)`` of a ``(hosts, resources)`` array, a column
    at a time (the same sums in the same order; on a few columns much
    cheaper than numpy's reduction)."""
    if values.shape[1] == 0:
        return np.zeros(values.shape[0], dtype=np.float64)
    total = values[:, 0] + 0.0      # as the reduction, 0.0 + the first
    for col in range(1, values.shape[1]):
        total += values[:, col]
    return total


def _mean_of(w: FloatArray, total: FloatArray, values: FloatArray
             ) -> FloatArray:
    """:func:`_weighted_mean` with the weights' row sums ``total`` given."""
    score = _row_sums(w * values)
    return np.divide(score, total, out=np.zeros_like(score), where=total > 0)


@_quiet
def fill_after(capacity: FloatArray, used: FloatArray,
               request: FloatArray) -> FloatArray:
    """Share of each resource in use once ``request`` is placed, in [0, 1].

    Hosts already overcommitted (usage above capacity, e.g. after an
    allocation ratio was lowered) count as full (1.0); resources a host does
    not offer count as 0.0.
    """
    cap, use = sanitize(capacity, used)
    return _fill_after(cap, use, request)


def _fill_after(cap: FloatArray, use: FloatArray,
                request: FloatArray) -> FloatArray:
    """:func:`fill_after` of sanitized arrays."""
    safe = np.where(cap > 0, cap, 1.0)
    fill = np.where(cap > 0, (use + request) / safe, 0.0)
    return np.clip(fill, 0.0, 1.0)


@_quiet
def best_fit(capacity: FloatArray, used: FloatArray, request: FloatArray,
             weights: FloatArray, empty: BoolArray | None = None
             ) -> FloatArray:
    """How full each host would be after placement, in [0, 1].

    The weighted mean, over the resources the host offers, of the share of
    the host's *own* capacity in use once the request is placed.  Higher
    means a tighter fit; an empty host scores least.  Because it compares
    fractions and not absolute free amounts, a small host that the request
    fills scores above a big host it barely touches, and a host whose usage
    matches its shape scores above one with the same free amounts left in the
    wrong proportions.

    ``empty`` (optional, one flag per host) marks the hosts that hold no
    instance.  Those are ranked below every host in use, and among
    themselves by size, the biggest first: each scores its
    :func:`relative_size` minus 1, in (-1, 0] (a host offering nothing
    keeps its neutral 0).  Measured as a share of its
    own capacity, a big empty host would otherwise always lose to a small
    one; on a fleet of mixed sizes the small hosts would be opened first
    and the same load would keep more hosts in use.  On identical hosts
    this changes no ranking.
    """
    cap, use = sanitize(capacity, used)
    w = _weights(cap, weights)
    total = _row_sums(w)
    score = _mean_of(w, total, _fill_after(cap, use, request))
    return _rank_empty(score, empty, total,
                       lambda: _relative_size(cap, weights) - 1.0)


def _flags(flags: BoolArray | None, shape: tuple[int, ...]
           ) -> BoolArray | None:
    """One flag per host, from a flag per host or one for all."""
    if flags is None or (type(flags) is np.ndarray and flags.dtype == bool
                         and flags.shape == shape):
        return flags
    return np.broadcast_to(np.asarray(flags, dtype=bool).reshape(-1), shape)


def _rank_empty(score: FloatArray, empty: BoolArray | None,
                total: FloatArray, lowered: Callable[[], FloatArray]
                ) -> FloatArray:
    """The empty-host rule of :func:`best_fit` (``total``: the row sums of
    the hosts' weights; ``lowered``: their relative sizes minus 1, on
    demand)."""
    empty = _flags(empty, score.shape)
    if empty is None or not empty.any():
        return score
    return np.where(empty & (total > 0), lowered(), score)


@_quiet
def relative_size(capacity: FloatArray, weights: FloatArray) -> FloatArray:
    """Each host's size against the largest of the fleet, in [0, 1].

    The weighted mean, over the resources the host offers, of its capacity
    divided by the largest capacity of that resource among the hosts.
    """
    cap, _ = sanitize(capacity, capacity)
    return _relative_size(cap, weights)


def _relative_size(cap: FloatArray, weights: FloatArray) -> FloatArray:
    """:func:`relative_size` of a sanitized capacity."""
    if cap.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    top = cap.max(axis=0)
    share = np.where(top > 0, cap / np.where(top > 0, top, 1.0), 0.0)
    return _weighted_mean(_weights(cap, weights), share)


@_quiet
def free_after(capacity: FloatArray, used: FloatArray,
               request: FloatArray) -> FloatArray:
    """Share of each resource still free after placement, in [0, 1]."""
    cap, _ = sanitize(capacity, used)
    return np.where(cap > 0, 1.0 - fill_after(capacity, used, request), 0.0)


@_quiet
def shape_stranded(capacity: FloatArray, used: FloatArray,
                   request: FloatArray, weights: FloatArray) -> FloatArray:
    """Capacity left unusable by the requested shape after placement, [0, 1]
    (*shape-stranded*; the simulator's and the capacity report's stranded
    capacity are other measures: see doc/source/scheduler.rst).

    Once the request is placed, count how many more instances of the same
    shape the host could still take (``k``, limited by its scarcest resource
    relative to that shape); whatever stays free beyond ``k`` copies is
    stranded: free, but only usable by flavors of a different shape.  The
    result is the weighted mean of the stranded share of each resource the
    request uses.  0 means the host's free capacity is in the proportions of
    the request (or the host is full in every dimension); a host with RAM
    exhausted and half of its CPUs idle scores about 0.5.

    Resources the request does not use (e.g. disk for a volume-backed
    instance) are left out: they are not stranded by this shape.
    """
    cap, _ = sanitize(capacity, used)
    req = np.maximum(np.nan_to_num(np.asarray(request, dtype=np.float64)),
                     0.0)
    free = free_after(capacity, used, request)
    safe = np.where(cap > 0, cap, 1.0)
    share = np.where(cap > 0, req / safe, 0.0)          # request / capacity
    uses = share > 0
    ratio = np.where(uses, free / np.where(uses, share, 1.0), np.inf)
    k = np.floor(ratio.min(axis=1) + EPSILON)
    k = np.where(np.isfinite(k), k, 0.0)
    left = np.clip(free - k[:, None] * share, 0.0, 1.0)
    return _weighted_mean(np.where(uses, _weights(cap, weights), 0.0), left)


@_quiet
def slot_counts(free: FloatArray, shapes: FloatArray) -> FloatArray:
    """How many instances of each shape fit in each host's free capacity.

    ``free`` is ``(hosts, resources)`` in absolute units, ``shapes`` is
    ``(shapes, resources)``; the result is ``(hosts, shapes)``, whole
    numbers >= 0. A resource a shape does not use does not limit it; a shape
    that uses nothing counts 0 slots.
    """
    free = resources.finite(free)
    shapes = np.asarray(shapes, dtype=np.float64).reshape(-1, free.shape[1])
    return _slot_counts(free, shapes)


def _slot_counts(free: FloatArray, shapes: FloatArray) -> FloatArray:
    """:func:`slot_counts` of a finite ``free`` (or one whose only
    non-finite values are negative infinities) and a ``shapes`` of the
    right shape."""
    return _counts(free, _SlotShapes(shapes))


class _SlotShapes:
    """Shapes (``(shapes, resources)``) with what :func:`_counts` derives
    from them."""

    def __init__(self, shapes: FloatArray) -> None:
        uses = shapes > 0
        safe = np.where(uses, shapes, 1.0)
        self.count = shapes.shape[0]
        #: per resource that some shape uses: its column, the shapes'
        #: divisors and +inf for the shapes that do not use it (None: all do)
        self.columns = [
            (r, safe[:, r].copy(),
             None if uses[:, r].all() else np.where(uses[:, r], 0.0, np.inf))
            for r in range(shapes.shape[1]) if uses[:, r].any()]
        #: each shape's vCPUs, the weight of one of its slots
        self.size = np.where(shapes[:, 0] > 0, shapes[:, 0], 1.0)


def _counts(free: FloatArray, shapes: _SlotShapes) -> FloatArray:
    """:func:`_slot_counts` of ``free`` (``(..., resources)``; the result is
    ``(..., shapes)``), one resource at a time."""
    free = np.maximum(free, 0.0)
    counts = None
    for r, divisor, unused in shapes.columns:
        per_resource = free[..., r, None] / divisor
        if unused is not None:
            per_resource += unused
        if counts is None:
            counts = per_resource
        else:
            np.minimum(counts, per_resource, out=counts)
    if counts is None:
        return np.zeros(free.shape[:-1] + (shapes.count,))
    counts += EPSILON
    np.floor(counts, out=counts)
    if not np.isfinite(np.add.reduce(counts, axis=None)):
        counts[~np.isfinite(counts)] = 0.0
    return counts


@_quiet
def large_slot_loss(capacity: FloatArray, used: FloatArray,
                    request: FloatArray, shapes: FloatArray,
                    empty: BoolArray | None = None,
                    spare_share: float = 0.0) -> FloatArray:
    """Large-flavor capacity each host would lose by taking the request.

    For every protected shape (a large flavor, in absolute units), count how
    many instances of it the host can still take before and after the
    request is placed; the loss is the number of such slots destroyed,
    weighted by the shape's vCPUs (so losing one 64-vCPU slot counts as much
    as two 32-vCPU slots), summed over shapes. 0 means the request fits in
    slack that no protected flavor could use anyway.

    ``empty`` (optional, one flag per host) marks the hosts that hold no
    instance.  Opening an empty host is never counted as cheaper than the
    worst loss among the hosts that are already in use: an empty host's
    loss is raised to that worst loss (it keeps its own loss if that is
    higher).  Without this, a small instance that would cut a slot on every
    used host lands on an empty host, which loses no slot, and on a fleet
    with spare hosts every host ends up in use, none can be powered down.
    Raising it only to the worst loss, not above, leaves the scale of the
    losses of the used hosts, and so their ranking against best fit,
    unchanged; on a tie the fuller (used) host wins any best-fit weigher.

    ``spare_share`` (in [0, 1]) says when the fleet has hosts to spare.
    Above 0.0 it replaces the raise by two regimes:

    * while at least that share of the hosts is empty, large slots are
      plentiful (every empty host holds them) and protecting them on the
      hosts in use would only keep those hosts from filling and draining:
      every loss is 0 (no preference; best fit alone packs);
    * below it, the fleet runs near its size: losses are counted as they
      are, and an empty host is the free room it is, so an instance opens
      one (losing no slot) rather than cut a large slot on a host in use.

    0.0 (the default) always raises; 1.0 always counts plain losses.
    """
    cap, use = sanitize(capacity, used)
    shapes = np.asarray(shapes, dtype=np.float64).reshape(-1, cap.shape[1])
    if shapes.shape[0] == 0 or cap.shape[0] == 0:
        return np.zeros(cap.shape[0], dtype=np.float64)
    empty = _flags(empty, cap.shape[:1])
    if _spare(empty, spare_share):
        return np.zeros(cap.shape[0], dtype=np.float64)
    req = np.maximum(resources.finite(request), 0.0)
    loss = _slot_loss(resources.finite(cap - use), req, _SlotShapes(shapes))
    return _raise_empty(loss, empty, spare_share)


def _slot_loss(free: FloatArray, req: FloatArray,
               shapes: _SlotShapes) -> FloatArray:
    """Per host, the vCPU-weighted protected slots lost by placing the
    sanitized ``req`` in the finite ``free`` capacity."""
    both = np.empty((2,) + free.shape, dtype=np.float64)
    both[0] = free
    np.subtract(free, req, out=both[1])
    before, after = _counts(both, shapes)
    return np.maximum(before - after, 0.0) @ shapes.size


def _spare(empty: BoolArray | None, spare_share: float) -> bool:
    """Whether the hosts have hosts to spare, all losses then 0 (see
    :func:`large_slot_loss`)."""
    return (empty is not None and spare_share > 0.0
            and not empty.mean() < spare_share)


def _raise_empty(loss: FloatArray, empty: BoolArray | None,
                 spare_share: float) -> FloatArray:
    """The empty-host rule of :func:`large_slot_loss` for the hosts that
    have none to spare (see :func:`_spare`)."""
    if empty is None or spare_share > 0.0:
        return loss
    in_use = ~empty
    if not in_use.any() or not empty.any():
        return loss
    return np.where(empty, np.maximum(loss, loss[in_use].max()), loss)


class FixedCapacity:
    """The scores of candidates drawn from hosts whose capacities never
    change (the simulator's fleet), with what depends on capacity alone
    computed once.

    Each method takes the candidates' positions ``idx`` in ``capacity``,
    their ``used`` rows and the ``request``, all finite, and returns exactly
    (bit for bit) what the function of the same name returns for
    ``capacity[idx]`` and the ``weights`` given here.
    """

    def __init__(self, capacity: FloatArray, weights: FloatArray) -> None:
        cap, _ = sanitize(capacity, capacity)
        self.capacity = cap
        self.weights = weights
        w = _weights(cap, weights)
        total = _row_sums(w)
        #: the resources some host gives a weight: the others add exactly
        #: 0.0 to every weighted sum and are left out
        cols = np.flatnonzero((w != 0).any(axis=0)) if cap.shape[0] else []
        self._cols = None if len(cols) == cap.shape[1] else cols
        self._safe = np.where(cap > 0, cap, 1.0)[:, cols]
        self._w = w[:, cols]
        self._total = total
        self._all_weighted = bool((total > 0).all())
        with np.errstate(all='ignore'):
            self._lowered = _relative_size(cap, weights) - 1.0
        #: the hosts as large as the largest of every resource: while one
        #: is a candidate, the candidates' relative sizes are the fleet's
        self._largest = (cap == cap.max(axis=0)).all(axis=1) \
            if cap.shape[0] else np.zeros(0, dtype=bool)
        self._shapes: tuple[FloatArray, _SlotShapes] | None = None
        self._memo: dict[object, object] = {}

    def memo(self, key: object, compute: Callable[[], object]) -> object:
        """``compute()``, called once per ``key`` for these hosts: a scorer
        keeps what it reads of its configuration here (the configuration
        does not change while a FixedCapacity is in use)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute()
            return value

    def _lowered_of(self, idx: npt.NDArray[np.int64]) -> FloatArray:
        """:func:`relative_size` of the candidates, minus 1."""
        if self._largest.take(idx).any():
            return self._lowered.take(idx)
        return _relative_size(self.capacity.take(idx, axis=0),
                              self.weights) - 1.0

    @_quiet
    def best_fit(self, idx: npt.NDArray[np.int64], used: FloatArray,
                 request: FloatArray, empty: BoolArray | None = None
                 ) -> FloatArray:
        """:func:`best_fit` of the candidates.

        The fill of a resource a host does not offer is not set to 0.0 as
        :func:`fill_after` sets it: it is in [0, 1] and its weight is 0.0,
        so it adds the same 0.0 to the weighted sum.
        """
        if self._cols is not None:
            used = used.take(self._cols, axis=1)
            request = request[self._cols]
        fill = np.clip((used + request) / self._safe.take(idx, axis=0),
                       0.0, 1.0)
        score = _row_sums(self._w.take(idx, axis=0) * fill)
        total = self._total.take(idx)
        if self._all_weighted:
            score /= total
        else:
            score = np.divide(score, total, out=np.zeros_like(score),
                              where=total > 0)
        return _rank_empty(score, empty, total,
                           lambda: self._lowered_of(idx))

    @_quiet
    def large_slot_loss(self, idx: npt.NDArray[np.int64], used: FloatArray,
                        request: FloatArray, shapes: FloatArray,
                        empty: BoolArray | None = None,
                        spare_share: float = 0.0) -> FloatArray:
        """:func:`large_slot_loss` of the candidates."""
        if self._shapes is None or self._shapes[0] is not shapes:
            prepared = np.asarray(shapes, dtype=np.float64).reshape(
                -1, self.capacity.shape[1])
            self._shapes = (shapes, _SlotShapes(prepared))
        slot_shapes = self._shapes[1]
        empty = _flags(empty, idx.shape)
        if slot_shapes.count == 0 or idx.shape[0] == 0 or _spare(
                empty, spare_share):
            return np.zeros(idx.shape[0], dtype=np.float64)
        req = np.maximum(resources.finite(request), 0.0)
        loss = _slot_loss(self.capacity.take(idx, axis=0) - used, req,
                          slot_shapes)
        return _raise_empty(loss, empty, spare_share)


@_quiet
def headroom_fits(capacity: FloatArray, used: FloatArray, request: FloatArray,
                  headroom: FloatArray) -> BoolArray:
    """Whether each host keeps ``headroom`` of every resource free.

    ``headroom`` holds, per host and resource (or broadcast), the share of
    capacity that must stay free after placement, in [0, 1).  A resource the
    host does not offer, or with no headroom asked, never fails the check.
    """
    cap, use = sanitize(capacity, used)
    room = np.clip(np.broadcast_to(headroom, cap.shape), 0.0, 1.0)
    limit = cap * (1.0 - room)
    after = use + request
    ok = (cap <= 0) | (room <= 0) | (after <= limit + EPSILON * np.maximum(
        cap, 1.0))
    return ok.all(axis=1)
