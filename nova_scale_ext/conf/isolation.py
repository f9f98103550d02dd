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
"""Options of tenant isolation: ``[scale_ext_isolation]``."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    name='scale_ext_isolation',
    title='nova-scale-ext tenant isolation',
    help="""
Which projects ``ScaleExtTenantIsolationFilter`` isolates. An isolated
project's instances only go to hosts that are empty or hold nothing but
instances of its own isolation group, and no other instance goes to a host
that holds one of them: the group takes hosts from the common pool as it
needs them and gives each back when its last instance on it is gone. No
aggregate has to be carved out or sized by hand.

The scheduler reads each host's projects from the instance counts the
compute service reports for it (``num_proj_*``). A value of these options
that cannot be read makes the filter isolate every project from every
other (each host then holds one project's instances), logged as an error:
the safe side of isolation is to refuse a shared host, never to allow one.
""")

OPTS = [
    cfg.ListOpt('isolated_projects',
        default=[],
        help="""
Project IDs isolated each on its own: no other project's instance shares a
host with one of theirs.

Example::

    isolated_projects = 3f1c0a8e6b6d4a0e9f7f2c1d5b9a7e10,8c2d...

Related options:

* ``isolation_groups``: several projects that may share hosts with each
  other, and with no one else.
* ``[filter_scheduler] enabled_filters`` must include
  ``ScaleExtTenantIsolationFilter``.
"""),
    cfg.MultiStrOpt('isolation_groups',
        default=[],
        help="""
Isolation groups of several projects (one trust domain, e.g. the projects
of one customer), one per line, as ``NAME:PROJECT[,PROJECT...]``. The
projects of a group may share hosts with each other and with no one else.
NAME (letters, digits, ``_``, ``.``, ``-``) names the group in logs and in
``nova-scale-ext audit``. A project may be in one group only, and a name
used once.

Example::

    isolation_groups = bank:3f1c0a8e6b6d4a0e9f7f2c1d5b9a7e10,5d0b...
    isolation_groups = lab:9a1e...
"""),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
