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
"""What our weighers share: scoring all candidate hosts at once, safely.

Nova's ``BaseWeigher.weigh_objects`` calls ``_weigh_object`` once per host;
ours build the fleet's capacity and usage arrays once per request and score
every host with one vectorised call into the scoring core.  Any unexpected
error is logged once and turns into neutral weights (0.0 for every host),
so a weigher can never make Nova's scheduling fail.
"""

import math

import numpy as np
from nova.scheduler import weights
from oslo_log import log as logging

from nova_scale_ext import common
from nova_scale_ext.conf import weights as weights_conf
from nova_scale_ext.core import candidates, resources
from nova_scale_ext.scheduler import adapters

LOG = logging.getLogger(__name__)

CONF_GROUP = weights_conf.GROUP.name


def configured_resource_weights():
    """``[scale_ext_weights] packing_resource_weights`` as a vector."""
    raw = common.config_value(CONF_GROUP, 'packing_resource_weights') or {}
    for name in raw:
        if str(name).strip().upper() not in resources.Resource.__members__:
            common.warn_once(
                ('config', CONF_GROUP, 'resource', name),
                "Unknown resource %(name)r in [%(group)s] "
                "packing_resource_weights ignored; known resources are "
                "%(known)s.",
                {'name': name, 'group': CONF_GROUP,
                 'known': ', '.join(resources.Resource.__members__)})
    return resources.resource_weights(raw)


def _num_instances(host_state):
    """Instances on a host; unreadable counts as in use (1)."""
    try:
        count = float(host_state.num_instances)
    except Exception:
        return 1.0
    return count if math.isfinite(count) else 1.0


class PackingWeigher(weights.BaseHostWeigher, candidates.Scorer):
    """Base of our weighers: subclasses define
    :meth:`~nova_scale_ext.core.candidates.Scorer.score` and the option."""

    #: Name of the multiplier option in [scale_ext_weights], which is also
    #: the aggregate metadata key that overrides it.
    multiplier_option = None

    #: The configured multiplier, read once per request in weigh_objects
    #: (Nova calls weight_multiplier() once per host right after it).
    _configured_multiplier = None

    def configured_multiplier(self):
        return common.config_value(CONF_GROUP, self.multiplier_option)

    def weight_multiplier(self, host_state):
        default = self._configured_multiplier
        if default is None:
            default = self.configured_multiplier()
        if not getattr(host_state, 'aggregates', None):
            return default
        return adapters.aggregate_float(host_state, self.multiplier_option,
                                        default)

    def weigh_objects(self, weighed_obj_list, weight_properties):
        hosts = [weighed.obj for weighed in weighed_obj_list]
        try:
            self._configured_multiplier = self.configured_multiplier()
            if self._configured_multiplier == 0.0 and not any(
                    getattr(h, 'aggregates', None) for h in hosts):
                # every host's multiplier is 0.0: the weights add nothing
                return [0.0] * len(hosts)
            capacity, used = adapters.fleet_vectors(hosts)
            raw = self.score(candidates.Candidates(
                capacity, used, adapters.request_vector(weight_properties),
                configured_resource_weights(),
                np.array([_num_instances(h) for h in hosts])))
            raw = resources.finite(raw)
            return [float(x) for x in raw]
        except Exception:
            if common.once.first(('weigher-error', type(self).__name__)):
                LOG.exception("%s failed; hosts get neutral weights for this "
                              "request (logged once).", type(self).__name__)
            return [0.0] * len(hosts)

    def _weigh_object(self, host_state, weight_properties):
        wrapped = weights.WeighedHost(host_state, 0.0)
        return self.weigh_objects([wrapped], weight_properties)[0]
