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
"""Commands of nova-scale-ext for OpenStackClient: ``openstack scale-ext
...``.

:mod:`.plugin` is the plugin OpenStackClient loads. The commands are those
of ``nova-scale-ext`` (:mod:`nova_scale_ext.cmd`), built on cliff with its
standard output formatters (``-f table|json|yaml|csv|value``, ``-c
COLUMN``).
"""
