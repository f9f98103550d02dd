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
"""A scripted sequence of boots and deletes, and what the simulator
predicts for it on the fleet of the end-to-end cloud.

A sequence is a list of ``('boot', NAME, VCPUS, MEMORY_MB)`` and
``('delete', NAME)`` steps, run one after the other. For the simulator it
becomes a workload whose step ``k`` happens at second ``k``.
"""

import math

import numpy as np

from nova_scale_ext.simulate import engine_nova, model
from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import policy as policy_mod
from nova_scale_ext.simulate import workload as wl_mod
from nova_scale_ext.simulate.replay import replay

#: Boots of four flavor sizes with a delete in between, on the fleet of
#: tests.e2e.cloud.FLEET. At every decision the best host leads the next by
#: a clear margin under both Nova's defaults and the recommended
#: configuration (Nova breaks ties by placement's order, the simulator by
#: host index), and the two configurations place it differently: once the
#: large host has less free memory than the medium one, Nova's defaults
#: spread ``d`` and ``e`` to the medium host, the recommended configuration
#: keeps filling the large host it has in use.
SEQUENCE = (
    ('boot', 'a', 2, 8192),
    ('boot', 'b', 2, 8192),
    ('boot', 'c', 4, 8192),
    ('boot', 'd', 1, 2048),
    ('boot', 'e', 1, 2048),
    ('delete', 'c'),
    ('boot', 'f', 2, 4096),
    ('boot', 'g', 2, 4096),
    ('boot', 'h', 1, 2048),
    ('boot', 'i', 4, 8192),
)


def fleet_of(hosts):
    """A simulator fleet of one class per host: ``{name: (vcpus,
    memory_mb, disk_gb)}``."""
    return fleet_mod.Fleet(tuple(
        fleet_mod.HostClass(name, 1, vcpus, memory_mb, disk_gb=disk_gb)
        for name, (vcpus, memory_mb, disk_gb) in hosts.items()),
        {}, 'e2e')


def workload_of(sequence):
    names, vcpus, memory, start, end = [], [], [], [], []
    for k, step in enumerate(sequence):
        if step[0] == 'boot':
            names.append(step[1])
            vcpus.append(step[2])
            memory.append(step[3])
            start.append(float(k))
            end.append(math.inf)
        else:
            end[names.index(step[1])] = float(k)
    return wl_mod.Workload(
        'e2e', names, np.array(vcpus, dtype=np.int64),
        np.array(memory, dtype=np.int64), np.zeros(len(names), np.int64),
        np.array(start), np.array(end))


def scheduler_sections(conf_text):
    """The sections of a nova.conf that nova-scheduler's choices depend
    on (the simulator takes sizes and allocation ratios from the fleet)."""
    out, keep = [], False
    for line in conf_text.splitlines():
        stripped = line.strip()
        if stripped.startswith('[') and stripped.endswith(']'):
            keep = stripped[1:-1] in policy_mod.CHECKED_GROUPS
        if keep:
            out.append(line)
    return '\n'.join(out) + '\n'


def predict(hosts, sequence, conf_text, name='policy'):
    """``{server name: host name or None}`` as the simulator places the
    sequence with the scheduler options of ``conf_text``."""
    fleet = fleet_of(hosts)
    workload = workload_of(sequence)
    requests = workload.requests(fleet.offers_disk)
    shapes, shape_of = model.shapes_of(requests)
    policy = policy_mod.Policy(name, scheduler_sections(conf_text))
    placed = {}

    def observe(pos, vm, host):
        placed[workload.ids[vm]] = (
            fleet.classes[int(fleet.class_of[host])].name if host >= 0
            else None)
        return False

    with policy_mod.loaded(policy) as loaded:
        engine = engine_nova.ReferenceEngine(loaded, workload, shapes,
                                             shape_of, fleet.offers_disk)
        ledger = model.Ledger(fleet, len(workload))
        replay(workload, ledger, engine.chooser(ledger), requests,
               observer=observe)
    return placed
