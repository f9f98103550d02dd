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
"""Best-fit weigher: the host fullest after placement, as a share of its own
capacity.

The options (``[scale_ext_weights] best_fit_weight_multiplier``,
``packing_resource_weights``) say what it does; the arithmetic is
:func:`nova_scale_ext.core.scores.best_fit`.
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

    def score_fixed(self, fixed, hosts):
        if hosts.index is None or hosts.resource_weights is not fixed.weights:
            return self.score(hosts)
        return fixed.best_fit(hosts.index, hosts.used, hosts.request,
                              hosts.empty())
