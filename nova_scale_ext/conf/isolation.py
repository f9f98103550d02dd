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

import os

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


#: where the tools look for the policy when no --config-file is given
DEFAULT_CONFIG = '/etc/nova/nova.conf'


def config_files(given):
    """The nova.conf files to read the policy from: ``given``, else
    :data:`DEFAULT_CONFIG` when it exists, else none."""
    if given:
        return list(given)
    return [DEFAULT_CONFIG] if os.path.isfile(DEFAULT_CONFIG) else []


def read_policy(files):
    """The isolation policy of ``[scale_ext_isolation]`` in ``files`` (a
    :class:`nova_scale_ext.core.isolation.Policy`).

    :raises nova_scale_ext.core.isolation.PolicyError: naming the file or
        the value.
    """
    from nova_scale_ext.core import isolation
    for path in files:
        if not os.path.isfile(path):
            raise isolation.PolicyError(f'--config-file {path}: no such '
                                        'file')
    conf = cfg.ConfigOpts()
    register_opts(conf)
    try:
        conf([], project='nova', default_config_files=list(files),
             default_config_dirs=[], use_env=False)
        group = conf.scale_ext_isolation
        projects, groups = group.isolated_projects, group.isolation_groups
    except (cfg.Error, ValueError) as exc:
        raise isolation.PolicyError(
            f'{", ".join(files)}: {str(exc).splitlines()[0]}') from None
    finally:
        conf.reset()
    return isolation.Policy.from_options(projects, groups)


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
