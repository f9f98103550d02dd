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
"""Scheduler filters of nova-scale-ext.

Name :func:`all_filters` in ``nova.conf``::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = nova_scale_ext.scheduler.filters.all_filters
"""

from nova.scheduler import filters as nova_filters

from nova_scale_ext.scheduler import loading


def all_filters():
    """Return the filter classes registered by nova-scale-ext."""
    return loading.load_classes(loading.FILTERS_NAMESPACE,
                                nova_filters.BaseHostFilter)
