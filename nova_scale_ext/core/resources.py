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
"""Resource vectors: the common language of the scoring core.

Every host is described by two vectors over the packed resources (vCPU,
memory in MiB, disk in GiB): its *capacity*, already multiplied by the
allocation ratio, and its *usage*, which includes what the host keeps
reserved for itself.  A request is one vector of the same shape.  Fleets
are ``(hosts, resources)`` arrays so that every score is computed for all
candidate hosts at once.

Nothing here imports Nova: the scheduler plugins and the simulator are thin
adapters that build these arrays from their own objects.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class Resource(enum.IntEnum):
    """Index of each packed resource in a vector (names as in placement)."""

    VCPU = 0
    MEMORY_MB = 1
    DISK_GB = 2


RESOURCES: tuple[Resource, ...] = tuple(Resource)
N_RESOURCES = len(RESOURCES)


def vector(vcpu: float = 0.0, memory_mb: float = 0.0,
           disk_gb: float = 0.0) -> FloatArray:
    """Return a resource vector in the order of :class:`Resource`."""
    return np.array([vcpu, memory_mb, disk_gb], dtype=np.float64)


def as_fleet(rows: Iterable[Iterable[float]]) -> FloatArray:
    """Stack per-host vectors into a ``(hosts, resources)`` array."""
    arr = np.array([list(r) for r in rows], dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, N_RESOURCES), dtype=np.float64)
    return arr.reshape(-1, N_RESOURCES)


def resource_weights(weights: Mapping[str, float] | None) -> FloatArray:
    """Turn ``{"VCPU": 1.0, ...}`` into a weight vector; missing names are 0.

    Unknown names, negative and non-finite values are ignored (weight 0):
    the configuration layer validates and reports them.
    """
    out = np.zeros(N_RESOURCES, dtype=np.float64)
    for name, value in (weights or {}).items():
        try:
            idx = Resource[str(name).strip().upper()]
            val = float(value)
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(val) and val > 0:
            out[idx] = val
    return out


def effective_capacity(total: npt.ArrayLike | None,
                       allocation_ratio: npt.ArrayLike | None,
                       reserved: npt.ArrayLike | None = 0.0
                       ) -> float | FloatArray:
    """Capacity placement offers: ``(total - reserved) * allocation_ratio``.

    Works on numbers or on arrays (element-wise). A missing, non-finite or
    non-positive allocation ratio counts as 1.0; a missing or non-finite
    total counts as 0.0; a negative reserved amount as 0.0. The result is
    never negative: 0.0 means the host does not offer the resource.
    """
    tot = _floats(total, 0.0)
    ratio = _floats(allocation_ratio, 1.0)
    ratio = np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0)
    res = np.maximum(_floats(reserved, 0.0), 0.0)
    with np.errstate(all='ignore'):
        cap = (tot - res) * ratio
    cap = np.where(np.isfinite(cap) & (cap > 0), cap, 0.0)
    return float(cap) if cap.ndim == 0 else cap


def _floats(value: npt.ArrayLike | None, default: float) -> FloatArray:
    """``value`` as a float array; None, NaN and garbage become ``default``
    (infinities stay, for the caller to judge)."""
    if value is None:
        return np.asarray(default, dtype=np.float64)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return np.asarray(default, dtype=np.float64)
    return np.where(np.isnan(arr), default, arr)


def finite(value, fill: float = 0.0) -> FloatArray:
    """A float copy of ``value`` with every NaN or infinity set to ``fill``
    (``np.nan_to_num(..., nan=fill, posinf=fill, neginf=fill)``, cheaper on
    the common all-finite input)."""
    arr = np.array(value, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        arr[bad] = fill
    return arr


def sanitize(capacity: FloatArray, used: FloatArray) -> tuple[FloatArray,
                                                              FloatArray]:
    """Replace non-finite entries: unknown capacity becomes 0 (not offered),
    unknown usage becomes 0.  Negative capacity becomes 0."""
    cap = np.maximum(finite(capacity), 0.0)
    use = finite(used)
    return cap, use
