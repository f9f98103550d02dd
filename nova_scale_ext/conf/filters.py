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
"""Options of the packing filters: ``[scale_ext_filters]``."""

from oslo_config import cfg

from nova_scale_ext.conf import opts

#: The largest share of a host ScaleExtHeadroomFilter keeps free.
MAX_HEADROOM = 0.99

GROUP = cfg.OptGroup(
    name='scale_ext_filters',
    title='nova-scale-ext scheduler filters',
    help="""
Options of the nova-scale-ext filters. Each threshold can be overridden per
host aggregate by aggregate metadata with the option's name as the key (for
example ``headroom_memory_ratio=0.2``); when a host is in several aggregates
that set it, the smallest value is used, as Nova's ``Aggregate*`` filters do.
""")


def _headroom_opt(name, resource, example):
    return opts.FloatOpt(name,
        default=0.0, min=0.0, max=MAX_HEADROOM,
        help=f"""
Share of each host's {resource} capacity that ``ScaleExtHeadroomFilter``
keeps free.

A host passes only if, once the instance is placed, at least this share
of its {resource} capacity (after the allocation ratio) is still
unallocated. Use it to keep room for failover, evacuation or bursting
while the weighers pack hosts tightly. A host that reports no {resource}
capacity is not judged on it.

Possible values:

* 0.0 (the default) keeps no headroom.
* A share between 0.0 and {MAX_HEADROOM}; for example {example} keeps
  {int(example * 100)}% free.

Related options:

* ``[filter_scheduler] enabled_filters``: must include
  ``ScaleExtHeadroomFilter``.
* Aggregate metadata key ``{name}`` overrides this value
  for the hosts of that aggregate.
""")


OPTS = [
    _headroom_opt('headroom_vcpu_ratio', 'vCPU', 0.1),
    _headroom_opt('headroom_memory_ratio', 'memory', 0.2),
    _headroom_opt('headroom_disk_ratio', 'disk', 0.1),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
