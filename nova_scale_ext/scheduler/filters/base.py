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
"""What our filters share: all the candidate hosts judged at once, rebuilds
not judged, and nothing raised into Nova."""

from nova.scheduler import filters
from nova.scheduler import utils as nova_utils
from oslo_log import log as logging

from nova_scale_ext import common

LOG = logging.getLogger(__name__)


class ScaleExtFilter(filters.BaseHostFilter):
    """A filter that judges the candidates of a request together
    (:meth:`passing`); a failure of its own gives :meth:`on_error`'s hosts
    and is logged once."""

    # Usage changes with every instance of a multi-create request.
    run_filter_once_per_request = False
    RUN_ON_REBUILD = False
    #: what a failure leads to, for the log
    ON_ERROR = 'it passes every host for this request'

    def passing(self, hosts, spec_obj):
        """The hosts of ``hosts`` that pass (in order)."""
        raise NotImplementedError

    def on_error(self, hosts):
        """The hosts passed when :meth:`passing` fails."""
        return hosts

    def filter_all(self, filter_obj_list, spec_obj):
        hosts = list(filter_obj_list)
        if not hosts:
            return hosts
        try:
            if nova_utils.request_is_rebuild(spec_obj):
                return hosts
            return self.passing(hosts, spec_obj)
        except Exception:
            name = type(self).__name__
            if common.once.first(('filter-error', name)):
                LOG.exception("%(name)s failed; %(outcome)s (logged once).",
                              {'name': name, 'outcome': self.ON_ERROR})
            return self.on_error(hosts)

    def host_passes(self, host_state, spec_obj):
        return bool(self.filter_all([host_state], spec_obj))
