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
"""Headroom filter: keep a share of every host free.

The options (``[scale_ext_filters] headroom_*_ratio``) say what it does;
the arithmetic is :func:`nova_scale_ext.core.scores.headroom_fits`.
"""

import numpy as np
from oslo_log import log as logging

from nova_scale_ext import common
from nova_scale_ext.conf import filters as filters_conf
from nova_scale_ext.core import scores
from nova_scale_ext.scheduler import adapters
from nova_scale_ext.scheduler.filters import base

LOG = logging.getLogger(__name__)

CONF_GROUP = filters_conf.GROUP.name
HEADROOM_OPTIONS = ('headroom_vcpu_ratio', 'headroom_memory_ratio',
                    'headroom_disk_ratio')
MAX_HEADROOM = filters_conf.MAX_HEADROOM


class ScaleExtHeadroomFilter(base.ScaleExtFilter):
    """Pass hosts that keep the configured share of each resource free
    after placement."""

    def host_headroom(self, host_state, defaults):
        """Headroom shares of one host: aggregate metadata over config."""
        if not getattr(host_state, 'aggregates', None):
            return defaults
        return [adapters.aggregate_float(host_state, name, default,
                                         minimum=0.0, maximum=MAX_HEADROOM)
                for name, default in zip(HEADROOM_OPTIONS, defaults)]

    def passing(self, hosts, spec_obj):
        defaults = [common.config_value(CONF_GROUP, name)
                    for name in HEADROOM_OPTIONS]
        headroom = np.array([self.host_headroom(h, defaults)
                             for h in hosts], dtype=np.float64)
        if not headroom.any():
            return hosts
        capacity, used = adapters.fleet_vectors(hosts)
        request = adapters.request_vector(spec_obj)
        passes = scores.headroom_fits(capacity, used, request, headroom)
        for host, ok, room in zip(hosts, passes, headroom):
            if not ok:
                LOG.debug("%(host)s fails headroom: placing the instance "
                          "would leave less than %(room)s of vCPU/memory/disk "
                          "free.", {'host': host, 'room': room.tolist()})
        return [host for host, ok in zip(hosts, passes) if ok]
