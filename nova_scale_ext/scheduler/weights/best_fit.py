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
"""Capacity-normalised best-fit weigher.

Prefers the host that will be the fullest once the instance is placed,
measured as the share of *that host's own* capacity in use (after allocation
ratios; reserved memory and disk count as used), averaged over vCPU, memory
and disk with the weights of ``[scale_ext_weights] packing_resource_weights``.

Nova's RAM, CPU and disk weighers score absolute free amounts, one resource at
a time: with negative multipliers they stack onto whichever host has the
fewest free MiB whatever its size. Measuring fractions instead packs
heterogeneous fleets correctly and drains hosts so that they can be freed.

The raw weight is the fill share in [0, 1], min-max normalised over the
candidate hosts like the raw weights of Nova's own weighers. A positive
``[scale_ext_weights] best_fit_weight_multiplier``
packs, 0.0 disables it, a negative value spreads by fill share. Aggregate
metadata ``best_fit_weight_multiplier`` overrides it per aggregate.
"""

from nova_scale_ext.core import scores
from nova_scale_ext.scheduler.weights import base


class ScaleExtBestFitWeigher(base.PackingWeigher):
    """Prefer the host that is fullest, as a share of its own capacity,
    after placement."""

    multiplier_option = 'best_fit_weight_multiplier'

    def score(self, hosts):
        return scores.best_fit(hosts.capacity, hosts.used, hosts.request,
                               hosts.resource_weights, hosts.empty())
