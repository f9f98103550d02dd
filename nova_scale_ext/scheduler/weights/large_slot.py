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
"""Large-slot weigher: keep room for large flavors.

The options (``[scale_ext_weights] large_slot_*``) say what it does; the
arithmetic is :func:`nova_scale_ext.core.scores.large_slot_loss`.
"""

import functools

import numpy as np

from nova_scale_ext import common
from nova_scale_ext.core import resources, scores
from nova_scale_ext.scheduler.weights import base


def configured_shapes():
    """``large_slot_flavors`` as a (shapes, resources) array; unreadable
    items are logged once and skipped."""
    items = common.config_value(base.CONF_GROUP, 'large_slot_flavors') or []
    return _shapes(tuple(str(item) for item in items))


@functools.lru_cache(maxsize=8)
def _shapes(items):
    """:func:`configured_shapes` of the option's items (read-only: every
    weighing with the same option value shares it)."""
    shapes = []
    for item in items:
        parts = item.strip().split(':')
        try:
            vcpus, memory_mb = (float(p) for p in parts)
            if not (vcpus > 0 and memory_mb > 0 and np.isfinite(vcpus)
                    and np.isfinite(memory_mb)):
                raise ValueError(item)
        except ValueError:
            common.warn_once(
                ('config', base.CONF_GROUP, 'large_slot_flavors', item),
                "Ignoring %(item)r in [%(group)s] large_slot_flavors: "
                "expected VCPUS:MEMORY_MB with positive numbers, for "
                "example 32:65536.", {'item': item, 'group': base.CONF_GROUP})
            continue
        shapes.append(resources.vector(vcpus, memory_mb))
    out = resources.as_fleet(shapes)
    out.flags.writeable = False
    return out


def configured_spare_share():
    """``large_slot_spare_host_share`` (0.0 where unreadable)."""
    value = common.config_value(base.CONF_GROUP,
                                  'large_slot_spare_host_share')
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(max(value, 0.0), 1.0) if np.isfinite(value) else 0.0


class ScaleExtLargeSlotWeigher(base.PackingWeigher):
    """Prefer the host where the instance destroys the least room for the
    configured large flavors."""

    multiplier_option = 'large_slot_weight_multiplier'

    def score(self, hosts):
        return -scores.large_slot_loss(hosts.capacity, hosts.used,
                                       hosts.request, configured_shapes(),
                                       hosts.empty(),
                                       configured_spare_share())

    def score_fixed(self, fixed, hosts):
        if hosts.index is None or hosts.resource_weights is not fixed.weights:
            return self.score(hosts)
        shapes, spare_share = fixed.memo(type(self), lambda: (
            configured_shapes(), configured_spare_share()))
        return -fixed.large_slot_loss(hosts.index, hosts.used, hosts.request,
                                      shapes, hosts.empty(), spare_share)

    def counts_empty_hosts(self):
        return configured_spare_share() > 0.0
