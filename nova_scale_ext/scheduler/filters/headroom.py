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
from nova.scheduler import filters
from nova.scheduler import utils as nova_utils
from oslo_log import log as logging

from nova_scale_ext import common
from nova_scale_ext.conf import filters as filters_conf
from nova_scale_ext.core import scores
from nova_scale_ext.scheduler import adapters

LOG = logging.getLogger(__name__)

CONF_GROUP = filters_conf.GROUP.name
HEADROOM_OPTIONS = ('headroom_vcpu_ratio', 'headroom_memory_ratio',
                    'headroom_disk_ratio')
MAX_HEADROOM = filters_conf.MAX_HEADROOM


class ScaleExtHeadroomFilter(filters.BaseHostFilter):
    """Pass hosts that keep the configured share of each resource free
    after placement."""

    # Usage changes with every instance of a multi-create request.
    run_filter_once_per_request = False
    RUN_ON_REBUILD = False

    def host_headroom(self, host_state, defaults):
        """Headroom shares of one host: aggregate metadata over config."""
        if not getattr(host_state, 'aggregates', None):
            return defaults
        return [adapters.aggregate_float(host_state, name, default,
                                         minimum=0.0, maximum=MAX_HEADROOM)
                for name, default in zip(HEADROOM_OPTIONS, defaults)]

    def filter_all(self, filter_obj_list, spec_obj):
        hosts = list(filter_obj_list)
        if not hosts:
            return hosts
        try:
            if nova_utils.request_is_rebuild(spec_obj):
                return hosts
            defaults = [common.config_value(CONF_GROUP, name)
                        for name in HEADROOM_OPTIONS]
            headroom = np.array([self.host_headroom(h, defaults)
                                 for h in hosts], dtype=np.float64)
            if not headroom.any():
                return hosts
            capacity, used = adapters.fleet_vectors(hosts)
            request = adapters.request_vector(spec_obj)
            passes = scores.headroom_fits(capacity, used, request, headroom)
        except Exception:
            if common.once.first(('filter-error', type(self).__name__)):
                LOG.exception("ScaleExtHeadroomFilter failed; it passes every "
                              "host for this request (logged once).")
            return hosts
        for host, ok, room in zip(hosts, passes, headroom):
            if not ok:
                LOG.debug("%(host)s fails headroom: placing the instance "
                          "would leave less than %(room)s of vCPU/memory/disk "
                          "free.", {'host': host, 'room': room.tolist()})
        return [host for host, ok in zip(hosts, passes) if ok]

    def host_passes(self, host_state, spec_obj):
        return bool(self.filter_all([host_state], spec_obj))
