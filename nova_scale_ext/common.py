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
"""What the scheduler plugins, the libvirt driver and the tools share.

* :func:`warn_once`: a problem is logged once per process, not at every
  scheduling decision or boot;
* :func:`config_value`: an option of ours as nova.conf sets it, or its
  default (logged once) when the value is invalid: nothing that runs inside
  a Nova service raises on a bad option;
* :func:`invalid_values`: every option of some groups whose value does not
  validate, for the tools that report them up front;
* :func:`resolve_plugins`: filters and weighers resolved by name exactly as
  nova-scheduler's ``HostManager`` does.

Importing this module does not import Nova.
"""

import threading

from oslo_config import cfg
from oslo_log import log as logging

from nova_scale_ext import conf as scale_conf

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


class Once:
    """Remembers which problems were already logged (bounded)."""

    def __init__(self, limit=4096):
        self._seen = set()
        self._limit = limit
        self._lock = threading.Lock()

    def first(self, key):
        """True the first time ``key`` is seen (again after a reset)."""
        with self._lock:
            if key in self._seen:
                return False
            if len(self._seen) >= self._limit:
                self._seen.clear()
            self._seen.add(key)
            return True

    def reset(self):
        with self._lock:
            self._seen.clear()


#: the problems this process has logged
once = Once()


def warn_once(key, msg, params, log=None):
    """Log a warning (on ``log``, else this module's logger) the first
    time ``key`` is seen in this process."""
    if once.first(key):
        (log or LOG).warning(msg, params)


def config_value(group, name):
    """Read ``[group] name`` from nova.conf; on an invalid value log once
    and return the option's default instead of raising into Nova."""
    try:
        return getattr(getattr(CONF, group), name)
    except (cfg.Error, ValueError) as exc:  # $name of no option too
        default = scale_conf.default_of(group, name)
        warn_once(('config', group, name),
                  "Invalid value for [%(group)s] %(name)s in the "
                  "configuration (%(error)s); using the default %(default)r.",
                  {'group': group, 'name': name, 'error': exc,
                   'default': default})
        return default


def invalid_values(groups, conf=None):
    """``(group, name, error)`` for each option of ``groups`` (names; a
    group not registered is skipped) whose value does not validate."""
    conf = conf if conf is not None else CONF
    out = []
    for group in groups:
        try:
            opts = getattr(conf, group)
        except cfg.NoSuchOptError:
            continue
        for name in opts:
            try:
                getattr(opts, name)
            except (cfg.Error, ValueError) as exc:  # $name of no option
                out.append((group, name, exc))
    return out


def resolve_plugins(conf=None):
    """Filters and weighers as nova-scheduler's ``HostManager`` resolves
    them from ``[filter_scheduler]``.

    Returns ``(available_filters, enabled_filters, weighers)`` as lists of
    classes; raises Nova's ``SchedulerHostFilterNotFound`` when
    ``enabled_filters`` names a filter that is not available, as
    nova-scheduler does at start.
    """
    from nova import exception
    from nova.scheduler import filters, weights

    conf = (conf if conf is not None else CONF).filter_scheduler
    available = filters.HostFilterHandler().get_matching_classes(
        conf.available_filters)
    by_name = {cls.__name__: cls for cls in available}
    missing = [name for name in conf.enabled_filters if name not in by_name]
    if missing:
        raise exception.SchedulerHostFilterNotFound(
            filter_name=', '.join(missing))
    enabled = [by_name[name] for name in conf.enabled_filters]
    weighers = weights.HostWeightHandler().get_matching_classes(
        conf.weight_classes)
    return available, enabled, weighers
