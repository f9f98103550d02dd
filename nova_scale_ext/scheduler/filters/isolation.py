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
"""Tenant isolation filter: isolated projects get hosts of their own.

The policy is ``[scale_ext_isolation]`` (:mod:`nova_scale_ext.conf.
isolation`); the rule is :mod:`nova_scale_ext.core.isolation`. A host's
projects are read from what Nova's resource tracker reports for it, the
``num_proj_<project>`` counts of the compute node's stats, and from the
instances Nova's host manager holds for it where their project is loaded
(never a database query per request). A host with instances none of whose
projects is known (an instance in flight that only the scheduler's own
count has, or stats a driver does not report) passes no isolated group
and no one else either.
"""

import threading

from oslo_log import log as logging

from nova_scale_ext import common
from nova_scale_ext.conf import isolation as isolation_conf
from nova_scale_ext.core import isolation
from nova_scale_ext.scheduler.filters import base

LOG = logging.getLogger(__name__)

CONF_GROUP = isolation_conf.GROUP.name
_PROJECT_STAT = 'num_proj_'


def host_projects(host_state):
    """The projects of a host's instances, or None when the host holds
    instances of which no project is known."""
    projects = set()
    stats = getattr(host_state, 'stats', None) or {}
    for key, value in stats.items():
        if not str(key).startswith(_PROJECT_STAT):
            continue
        try:
            count = int(value)
        except (TypeError, ValueError):
            return None             # a count we cannot read: not known
        if count > 0:
            projects.add(str(key)[len(_PROJECT_STAT):])
    for instance in (getattr(host_state, 'instances', None) or {}).values():
        try:
            if instance.obj_attr_is_set('project_id') and \
                    instance.project_id:
                projects.add(instance.project_id)
        except Exception:           # not a Nova object: ignore it
            continue
    held = max(int(getattr(host_state, 'num_instances', 0) or 0),
               len(getattr(host_state, 'instances', None) or {}))
    if held > 0 and not projects:
        return None
    return projects


class _Configured:
    """The policy of ``[scale_ext_isolation]``, read again when the
    options change; :data:`~nova_scale_ext.core.isolation.EVERYONE` (and
    an error logged once) when they cannot be read."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key = None
        self._policy = isolation.Policy()

    def policy(self):
        problem = None
        try:
            key = (tuple(common.config_value(CONF_GROUP,
                                             'isolated_projects') or ()),
                   tuple(common.config_value(CONF_GROUP,
                                             'isolation_groups') or ()))
        except Exception as exc:  # what oslo.config may raise here
            problem = f'cannot read the options: {exc}'
        if problem:
            return self._fallback(problem)
        with self._lock:
            if key == self._key:
                return self._policy
        try:
            policy = isolation.Policy.from_options(*key)
        except isolation.PolicyError as exc:
            problem = str(exc)
        if problem:
            return self._fallback(problem)
        with self._lock:
            self._key, self._policy = key, policy
        return policy

    @staticmethod
    def _fallback(why):
        if common.once.first(('isolation-policy', why)):
            LOG.error("[%(group)s] is invalid (%(why)s): every project is "
                      "isolated from every other until it is fixed.",
                      {'group': CONF_GROUP, 'why': why})
        return isolation.EVERYONE


configured = _Configured()


class ScaleExtTenantIsolationFilter(base.ScaleExtFilter):
    """Pass an isolated project's instance only to hosts that are empty or
    its isolation group's own, and any other instance only to hosts that
    hold no instance of an isolated group."""

    # the safe side: no host that holds anything
    ON_ERROR = 'it passes only empty hosts for this request'

    def on_error(self, hosts):
        return [h for h in hosts if host_projects(h) == set()]

    def passing(self, hosts, spec_obj):
        policy = configured.policy()
        if not policy.active:
            return hosts
        group = policy.group_of(getattr(spec_obj, 'project_id', None))
        passed = []
        for host in hosts:
            owner = policy.owner(host_projects(host))
            if isolation.passes(owner, group):
                passed.append(host)
            else:
                LOG.debug("%(host)s fails tenant isolation: it is "
                          "%(owner)s, the instance's group is %(group)s.",
                          {'host': host, 'owner': owner, 'group': group})
        return passed
