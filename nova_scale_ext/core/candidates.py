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
"""The one interface between a packing weigher and whoever weighs with it.

Inside nova-scheduler, ``PackingWeigher.weigh_objects`` turns Nova's
``HostState`` objects into :class:`Candidates`; the packing simulator's fast
engine builds the same :class:`Candidates` from its own ledger. Both call
:meth:`Scorer.score` and read back one raw weight per candidate (Nova then
normalises the weights and applies the multiplier). Nothing else passes
between a weigher and its caller: a weigher that needs to know more about the
hosts adds a field here, for both callers at once.
"""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import numpy.typing as npt

if typing.TYPE_CHECKING:
    from nova_scale_ext.core.scores import FixedCapacity

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclasses.dataclass(frozen=True)
class Candidates:
    """What a weigher sees of the candidate hosts of one request."""

    #: (hosts, 3): VCPU, MEMORY_MB, DISK_GB each host offers, after
    #: allocation ratios and reserved amounts
    capacity: FloatArray
    #: (hosts, 3): what is allocated on each host, in the same units
    used: FloatArray
    #: (3,): what the instance being placed asks for
    request: FloatArray
    #: (3,): how much each resource counts in packing scores
    #: (``packing_resource_weights``)
    resource_weights: FloatArray
    #: (hosts,): instances on each host (NaN or None: not known)
    instances: FloatArray | None = None
    #: (hosts,): where the candidates are in a fixed set of hosts (see
    #: :meth:`Scorer.score_fixed`; None: not drawn from one)
    index: npt.NDArray[np.int64] | None = None

    def empty(self) -> BoolArray | None:
        """Flags of the hosts holding no instance (None when the counts are
        not known); a host whose count is not known is in use."""
        if self.instances is None:
            return None
        known = self.__dict__.get('_empty')
        if known is not None:
            return known
        counts = np.asarray(self.instances, dtype=np.float64).reshape(-1)
        if counts.shape[0] != np.shape(self.capacity)[0]:
            return None
        flags = counts <= 0         # NaN compares False: in use
        flags.flags.writeable = False
        self.__dict__['_empty'] = flags     # the same for every weigher
        return flags


class Scorer:
    """A packing score over all candidates at once."""

    def score(self, hosts: Candidates) -> FloatArray:
        """One raw weight per candidate, higher is better. Values that are
        not finite are the caller's to clean (they become neutral)."""
        raise NotImplementedError()

    def score_fixed(self, fixed: FixedCapacity, hosts: Candidates
                    ) -> FloatArray:
        """:meth:`score` of candidates drawn from hosts whose capacities
        never change (``fixed``, a
        :class:`nova_scale_ext.core.scores.FixedCapacity` of them and of
        ``hosts.resource_weights``; ``hosts.index`` their positions in it):
        the same values, which a scorer may compute faster from what
        ``fixed`` holds. The simulator's fast engine calls this, with one
        configuration loaded while ``fixed`` is in use."""
        return self.score(hosts)

    def counts_empty_hosts(self) -> bool:
        """Whether a candidate's weight depends on how many of the
        candidates are empty, not only on the candidate itself (a caller
        that reuses weights across fleet sizes must not, then)."""
        return False
