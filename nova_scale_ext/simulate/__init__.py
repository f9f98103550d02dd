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
"""The packing simulator: replay VM workloads through Nova's scheduler code.

* :mod:`.workload`: traces and the synthetic workload;
* :mod:`.fleet`: hosts, host classes and aggregates;
* :mod:`.policy`: policies as nova.conf files;
* :mod:`.model`: placement's pre-filter, the allocation ledger, the
  tie-break;
* :mod:`.engine_nova`: the reference engine (Nova's own objects);
* :mod:`.engine_fast`: the same decisions, vectorised over hosts;
* :mod:`.replay`, :mod:`.metrics`, :mod:`.compact`, :mod:`.runner`,
  :mod:`.report`: the replay loop, what it measures, the hosts-needed search,
  running policies side by side, and the outputs.

Run it as ``nova-scale-ext simulate`` or ``python -m nova_scale_ext.simulate``.
"""
