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
"""Options of the packing weighers: [scale_ext_weights]."""

from oslo_config import cfg, types

from nova_scale_ext.conf import opts

GROUP = cfg.OptGroup(
    name='scale_ext_weights',
    title='nova-scale-ext packing weighers',
    help="""
Options of the nova-scale-ext weighers. Each multiplier can be overridden
per host aggregate by aggregate metadata with the option's name as the key
(for example ``best_fit_weight_multiplier=2.0``); when a host is in
several aggregates that set it, the smallest value is used, as Nova does
for its own weighers.
""")

DEFAULT_RESOURCE_WEIGHTS = {'VCPU': 1.0, 'MEMORY_MB': 1.0, 'DISK_GB': 1.0}

OPTS = [
    opts.FloatOpt('best_fit_weight_multiplier',
        default=1.0,
        help="""
Multiplier of the capacity-normalised best-fit weigher.

``ScaleExtBestFitWeigher`` prefers the host that will be the fullest after
the instance is placed, measured as the share of *that host's own*
capacity in use (after allocation ratios; reserved memory and disk count
as used), averaged over the resources of ``packing_resource_weights``.
Unlike Nova's RAM, CPU and disk weighers with negative multipliers, which
compare absolute free amounts, it packs heterogeneous fleets correctly: a
small host that the instance fills wins over a big host it barely touches.

Possible values:

* A positive number packs (higher means stronger relative to other
  weighers).
* 0.0 disables the weigher's effect.
* A negative number spreads by fill ratio instead of packing.

Related options:

* ``[filter_scheduler] weight_classes``: must include
  ``nova_scale_ext.scheduler.weights.all_weighers`` (or the class).
* ``[filter_scheduler] ram_weight_multiplier``, ``cpu_weight_multiplier``,
  ``disk_weight_multiplier``: set them to 0.0 so that Nova's spreading
  does not pull against packing.
* ``packing_resource_weights``
"""),
    opts.FloatOpt('stranded_capacity_weight_multiplier',
        default=1.0,
        help="""
Multiplier of the stranded-capacity weigher.

``ScaleExtStrandedCapacityWeigher`` penalises placements that leave a host
with capacity that the requested flavor shape cannot use: once the
instance is placed, the host is imagined filled with more instances of the
same shape, and whatever stays free beyond that (for example idle vCPUs on
a host whose RAM is exhausted) is stranded. The raw weight is minus the
stranded share of the host's capacity, so the host left with the least
stranded capacity wins.

Possible values:

* A positive number penalises stranding (higher means stronger).
* 0.0 disables the weigher's effect.
* A negative number prefers stranding and is not useful in practice.

Related options:

* ``best_fit_weight_multiplier``: the two are designed to be used
  together.
* ``packing_resource_weights``
"""),
    opts.FloatOpt('large_slot_weight_multiplier',
        default=1.0,
        help="""
Multiplier of the large-slot weigher.

``ScaleExtLargeSlotWeigher`` keeps room for large flavors. For each flavor
shape of ``large_slot_flavors`` it counts how many instances of that shape
each host can still take, before and after the instance is placed; the raw
weight is minus the number of such slots the placement would destroy
(weighted by the shape's vCPUs). The instance then goes where it fits into
slack that no large flavor could use, and large instances keep finding
room after a long churn of small ones. Raw weights are normalised over the
candidate hosts like those of Nova's weighers.

Possible values:

* A positive number protects large-flavor slots (the recommended
  configuration uses 3.0 with ``best_fit_weight_multiplier`` 1.0: slot
  protection mostly wins, best fit decides among equal losses).
* 0.0 disables the weigher's effect.

Related options:

* ``large_slot_flavors``: without it the weigher has no effect.
* ``best_fit_weight_multiplier``
"""),
    cfg.ListOpt('large_slot_flavors',
        default=[],
        help="""
Flavor shapes whose room ``ScaleExtLargeSlotWeigher`` protects.

A comma-separated list of ``VCPUS:MEMORY_MB`` items, normally your largest
flavors (those whose instances fail first when a fleet is fragmented). An
item that cannot be read is ignored with a warning.

Possible values:

* For example ``32:65536,32:131072,64:131072`` for flavors of 32 vCPUs
  with 64 GiB or 128 GiB and of 64 vCPUs with 128 GiB.
* Empty (the default): no shape is protected.

Related options:

* ``large_slot_weight_multiplier``
"""),
    opts.FloatOpt('large_slot_spare_host_share',
        default=0.0,
        min=0.0,
        max=1.0,
        help="""
Share of empty hosts at which the fleet has hosts to spare.

Large-flavor slots only need protecting while they are scarce. While at
least this share of the candidate hosts is empty, the empty hosts hold
plenty of them: ``ScaleExtLargeSlotWeigher`` is then neutral and best fit
alone packs, so that hosts in use fill and drain and idle hosts stay idle
(they can be powered down). Below this share the fleet is running near its
size: the weigher protects large slots, and an empty host counts as the
free room it is (placing a small instance there destroys no large slot),
so an instance opens an empty host rather than destroy a large slot on a
host in use. That keeps room for bursts of large instances on the fewest
hosts.

Possible values:

* 0.0 (the default): no share; the weigher always protects large slots
  and keeps empty hosts for last (an empty host is opened only when no host
  in use would lose less room for large flavors).
* A share in (0, 1), for example 0.55 (the recommended configuration):
  neutral while at least 55% of the candidate hosts are empty, protecting
  below. The share is taken over the candidates, the hosts with room for
  the instance: near a peak the full hosts drop out, and the share
  overstates what the fleet has to spare (6 empty hosts of 12 candidates
  may be 6 of 47 hosts). Keep it above one half.
* 1.0: always protect, with empty hosts as free room (fewest hosts needed,
  most hosts in use on a fleet larger than its load).

Related options:

* ``large_slot_weight_multiplier``
* ``large_slot_flavors``
"""),
    cfg.Opt('packing_resource_weights',
        type=types.Dict(value_type=opts.FiniteFloat(min=0.0)),
        default=DEFAULT_RESOURCE_WEIGHTS,
        help="""
Weight of each resource in the packing weighers' scores.

A comma-separated list of ``RESOURCE:WEIGHT`` pairs with placement's
resource class names ``VCPU``, ``MEMORY_MB`` and ``DISK_GB``. A resource
that is left out, or weighted 0, is ignored. Drop ``DISK_GB`` where
instance disks live on shared storage, so that the reported local disk
does not count.

Possible values:

* For example ``VCPU:1.0,MEMORY_MB:1.0,DISK_GB:1.0`` (the default) or
  ``VCPU:1.0,MEMORY_MB:1.0``. Weights must be zero or positive; an unknown
  resource name is ignored with a warning.

Related options:

* ``best_fit_weight_multiplier``
* ``stranded_capacity_weight_multiplier``
"""),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
