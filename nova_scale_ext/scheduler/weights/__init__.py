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
"""Scheduler weighers of nova-scale-ext.

Name :func:`all_weighers` in ``nova.conf``::

    [filter_scheduler]
    weight_classes = nova.scheduler.weights.all_weighers
    weight_classes = nova_scale_ext.scheduler.weights.all_weighers
"""

from nova.scheduler import weights as nova_weights

from nova_scale_ext.scheduler import loading


def all_weighers():
    """Return the weigher classes registered by nova-scale-ext."""
    return loading.load_classes(loading.WEIGHERS_NAMESPACE,
                                nova_weights.BaseHostWeigher)
