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
"""Stranded-capacity weigher: avoid leaving capacity the requested shape
cannot use.

The options (``[scale_ext_weights] stranded_capacity_weight_multiplier``)
say what it does; the arithmetic is
:func:`nova_scale_ext.core.scores.shape_stranded`.
"""

from nova_scale_ext.core import scores
from nova_scale_ext.scheduler.weights import base


class ScaleExtStrandedCapacityWeigher(base.PackingWeigher):
    """Prefer the host left with the least capacity the requested shape
    cannot use."""

    multiplier_option = 'stranded_capacity_weight_multiplier'

    def score(self, hosts):
        return -scores.shape_stranded(hosts.capacity, hosts.used,
                                      hosts.request, hosts.resource_weights)
