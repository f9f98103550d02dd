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
"""Stranded-capacity weigher.

Penalises placements that leave a host with free capacity that instances of
the requested shape cannot use, such as idle vCPUs on a host whose memory is
exhausted. Once the instance is placed, the host is imagined filled with more
instances of the same flavor shape; what stays free beyond that is stranded
(see :func:`nova_scale_ext.core.scores.stranded`).

The raw weight is minus the stranded share of the host's capacity, in
[-1, 0], min-max normalised over the candidate hosts. A positive
``[scale_ext_weights] stranded_capacity_weight_multiplier`` prefers the host
left with the least stranded capacity; 0.0 disables it. Aggregate metadata
``stranded_capacity_weight_multiplier`` overrides it per aggregate.
"""

from nova_scale_ext.core import scores
from nova_scale_ext.scheduler.weights import base


class ScaleExtStrandedCapacityWeigher(base.PackingWeigher):
    """Prefer the host left with the least capacity the requested shape
    cannot use."""

    multiplier_option = 'stranded_capacity_weight_multiplier'

    def score(self, hosts):
        return -scores.stranded(hosts.capacity, hosts.used, hosts.request,
                                hosts.resource_weights)
