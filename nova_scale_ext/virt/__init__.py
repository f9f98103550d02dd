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
"""Libvirt tuning by policy: a thin compute driver over plain functions.

* :mod:`.tuning` edits a domain XML tree by policy (no Nova);
* :mod:`.schema` validates domain XML against libvirt's Relax-NG schema
  (no Nova);
* :mod:`.policy` reads the policy from ``[scale_ext_libvirt]`` and the
  flavor's ``scale_ext:`` extra specs;
* :mod:`.extra_specs` registers those extra specs with nova-api;
* :mod:`.driver` is the compute driver, ``ScaleExtLibvirtDriver``, that
  Nova loads as ``scale_ext.ScaleExtLibvirtDriver``.
"""
