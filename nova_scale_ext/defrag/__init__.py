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
"""Consolidation by live migration: plan which few instances to move.

Nova-free, on the scoring core. A :class:`Snapshot` (from a cloud, the
simulator or a file) and a :class:`Goal` within a :class:`Budget` give a
:class:`Plan`; :func:`verify` replays a plan on a snapshot and names the
first move that no longer holds.
"""

from nova_scale_ext.defrag.planner import plan
from nova_scale_ext.defrag.plans import (
    DRAIN_PART,
    Budget,
    Goal,
    Move,
    Plan,
    PlanError,
    RoomTarget,
    parse_share,
    parse_spare,
    per_boot_left,
    spare_short,
)
from nova_scale_ext.defrag.verify import Verdict, verify
from nova_scale_ext.model import (
    Aggregate,
    Flavor,
    Host,
    Instance,
    MovePolicy,
    ServerGroup,
    Snapshot,
    SnapshotError,
)

__all__ = [
    'DRAIN_PART', 'Aggregate', 'Budget', 'Flavor', 'Goal', 'Host',
    'Instance', 'Move', 'MovePolicy', 'Plan', 'PlanError', 'RoomTarget',
    'ServerGroup', 'Snapshot', 'SnapshotError', 'Verdict', 'parse_share',
    'parse_spare', 'per_boot_left', 'plan', 'spare_short', 'verify',
]
