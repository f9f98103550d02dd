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
"""Policies are ``nova.conf`` files.

``nova-default`` is an empty file (Nova's defaults), ``nova-stack`` sets
Nova's RAM, CPU and disk weigher multipliers to -1.0, ``scale-ext`` is
:data:`nova_scale_ext.recommended.NOVA_CONF` as it is when the simulator runs,
and every ``--config FILE`` is a policy named after the file.  Each is parsed
by oslo.config into Nova's global ``CONF`` with Nova's and our options
registered, exactly as nova-scheduler reads its configuration (no other
configuration files or directories, no environment variables), and its
filters and weighers are resolved as nova-scheduler's ``HostManager`` does:
``get_matching_classes([filter_scheduler] available_filters)``, the classes
named by ``enabled_filters`` in that order, and
``get_matching_classes(weight_classes)``.  Policies are loaded one at a time;
the previous state of ``CONF`` is restored afterwards.
"""

import contextlib
import dataclasses
import os
import tempfile

from oslo_config import cfg

from nova_scale_ext import common, recommended
from nova_scale_ext.conf import filters as filters_conf
from nova_scale_ext.conf import weights as weights_conf

NOVA_STACK_CONF = """\
[filter_scheduler]
ram_weight_multiplier = -1.0
cpu_weight_multiplier = -1.0
disk_weight_multiplier = -1.0
"""

BUILTIN = ('nova-default', 'nova-stack', 'scale-ext')


class PolicyError(ValueError):
    """A policy that nova-scheduler could not start with."""


@dataclasses.dataclass(frozen=True)
class Policy:
    name: str
    conf_text: str
    #: where it came from: 'built-in' or the file's path
    origin: str = 'built-in'


@dataclasses.dataclass
class LoadedPolicy:
    """A policy parsed into ``CONF``, with the plugin classes resolved."""

    policy: Policy
    filter_classes: list
    weigher_classes: list

    def new_filters(self):
        """Filter objects, in ``enabled_filters`` order (as HostManager)."""
        return [cls() for cls in self.filter_classes]

    def new_weighers(self):
        return [cls() for cls in self.weigher_classes]


def builtin(name):
    """The built-in policy ``name`` (``scale-ext`` read now)."""
    if name == 'nova-default':
        return Policy(name, '')
    if name == 'nova-stack':
        return Policy(name, NOVA_STACK_CONF)
    if name == 'scale-ext':
        return Policy(name, recommended.NOVA_CONF)
    raise PolicyError(f'unknown policy {name!r}; built-in policies are '
                      f"{', '.join(BUILTIN)} (use --config for a nova.conf)")


def from_file(path, taken=()):
    """A policy read from a nova.conf, named after the file."""
    try:
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
    except OSError as exc:
        raise PolicyError(f'{path}: cannot read: {exc.strerror}') from None
    except UnicodeDecodeError:
        raise PolicyError(f'{path}: not a text file') from None
    base = os.path.splitext(os.path.basename(path))[0] or 'config'
    name, n = base, 2
    while name in taken:
        name = f'{base}-{n}'
        n += 1
    return Policy(name, text, path)


def _register_options():
    import nova.conf  # noqa: F401  (registers Nova's options)

    import nova_scale_ext.conf  # noqa: F401  (registers ours)


def _resolve():
    from nova import exception

    try:
        _, enabled, weighers = common.resolve_plugins()
    except exception.SchedulerHostFilterNotFound as exc:
        raise PolicyError('enabled_filters names filters that are not '
                          f"available: {exc.kwargs['filter_name']}") from None
    return enabled, weighers


#: Option groups read while scheduling: an invalid value in them is
#: reported when the policy is loaded rather than in the middle of a run.
CHECKED_GROUPS = ('filter_scheduler', 'scheduler', 'metrics',
                  filters_conf.GROUP.name, weights_conf.GROUP.name)


def _check_values():
    for group, name, exc in common.invalid_values(CHECKED_GROUPS):
        raise PolicyError(f'invalid value for [{group}] {name}: {exc}')


def _snapshot():
    conf = cfg.CONF
    if getattr(conf, '_namespace', None) is None:
        return None
    return {'args': list(getattr(conf, '_args', None) or []),
            'project': getattr(conf, 'project', None),
            'prog': getattr(conf, 'prog', None),
            'files': getattr(conf, 'default_config_files', None),
            'dirs': getattr(conf, 'default_config_dirs', None),
            'validate': getattr(conf, '_validate_default_values', False)}


def _restore(saved):
    conf = cfg.CONF
    if saved is None:
        conf.clear()
        return
    conf(saved['args'], project=saved['project'], prog=saved['prog'],
         default_config_files=saved['files'],
         default_config_dirs=saved['dirs'],
         validate_default_values=saved['validate'])


@contextlib.contextmanager
def loaded(policy):
    """Parse ``policy`` into ``CONF`` and yield a :class:`LoadedPolicy`."""
    _register_options()
    saved = _snapshot()
    tmpdir = tempfile.mkdtemp(prefix='nova-scale-ext-sim-')
    path = os.path.join(tmpdir, 'nova.conf')
    try:
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(policy.conf_text)
        where = policy.origin if policy.origin != 'built-in' else (
            f'policy {policy.name}')
        try:
            cfg.CONF([], project='nova', prog='nova-scheduler',
                     default_config_files=[path], default_config_dirs=[],
                     validate_default_values=True, use_env=False)
            _check_values()
            enabled, weighers = _resolve()
        except PolicyError as exc:
            raise PolicyError(f'{where}: nova-scheduler would not start: '
                              f'{exc}') from None
        except Exception as exc:  # whatever stops nova-scheduler
            raise PolicyError(f'{where}: nova-scheduler would not start: '
                              f'{exc}') from None
        yield LoadedPolicy(policy, enabled, weighers)
    finally:
        try:
            os.unlink(path)
            os.rmdir(tmpdir)
        except OSError:
            pass
        _restore(saved)
