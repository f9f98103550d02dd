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
"""Entry point for ``[DEFAULT] compute_driver = scale_ext.<class>``.

Nova imports compute drivers from the ``nova.virt`` package only; this
package re-exports the nova-scale-ext drivers there. It is the only module
nova-scale-ext installs under ``nova/`` (no ``nova/__init__.py`` or
``nova/virt/__init__.py``: those belong to Nova).
"""

from nova_scale_ext.virt.driver import ScaleExtLibvirtDriver

__all__ = ['ScaleExtLibvirtDriver']
