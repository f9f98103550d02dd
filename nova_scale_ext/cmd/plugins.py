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
"""``nova-scale-ext plugins``: load the scheduler plugins as Nova would.

Reads a ``nova.conf`` (or, without one, the recommended lines shown in the
README) and resolves ``[filter_scheduler] available_filters``,
``enabled_filters`` and ``weight_classes`` with Nova's own loaders, exactly as
nova-scheduler's ``HostManager`` does at start, then prints what is available
and what is enabled.
"""

import argparse
import os
import sys
import tempfile

from oslo_config import cfg

from nova_scale_ext import common, recommended
from nova_scale_ext import conf as scale_conf
from nova_scale_ext.cmd import display


def load_nova_config(config_files):
    """Parse nova.conf files into Nova's global CONF (no command line)."""
    import nova.conf  # noqa: F401  (registers Nova's options)

    import nova_scale_ext.conf  # noqa: F401
    cfg.CONF([], project='nova', default_config_files=list(config_files),
             validate_default_values=True)
    return cfg.CONF


#: how a tenant isolation policy that cannot be read is reported
POLICY_PROBLEM = '[scale_ext_isolation] the policy cannot be read:'


def invalid_options():
    """Our options whose nova.conf value does not validate, as messages.

    Inside nova-scheduler the plugins log such a value once and use the
    option's default; here it is reported so it can be fixed.
    """
    groups = [group.name for group, _ in scale_conf.list_opts()]
    out = [f'[{group}] {name}: {exc} (nova-scheduler would use the default '
           f'{scale_conf.default_of(group, name)!r})'
           for group, name, exc in common.invalid_values(groups)]
    from nova_scale_ext.core import isolation
    group = cfg.CONF.scale_ext_isolation
    try:
        isolation.Policy.from_options(group.isolated_projects,
                                      group.isolation_groups)
    except isolation.PolicyError as exc:
        out.append(f'{POLICY_PROBLEM} {exc} (nova-scheduler would '
                   'isolate every project from every other)')
    except (cfg.Error, ValueError):
        pass        # reported above
    return out


def _qualname(cls):
    return f'{cls.__module__}.{cls.__name__}'


def run(args):
    if args.nova_list:
        print(','.join(recommended.nova_lists()[args.nova_list]))
        return 0
    files = list(args.config_file)
    if files:
        return _run(args, files)
    with tempfile.TemporaryDirectory(prefix='nova-scale-ext-') as tmpdir:
        path = os.path.join(tmpdir, 'nova.conf')
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(recommended.NOVA_CONF)
        if args.formatter == display.TEXT:
            print('Using the recommended nova.conf lines:\n')
            print('\n'.join('    ' + line for line in
                            recommended.NOVA_CONF.splitlines()))
            print()
        return _run(args, [path])


COLUMNS = ['kind', 'position', 'name', 'path']


def rows(ours, enabled, weighers):
    """Our filters Nova can load, the filters enabled and the weighers, in
    order, as rows of :data:`COLUMNS`."""
    out = []
    for kind, classes in (('available filter', ours),
                          ('enabled filter', enabled),
                          ('weigher', weighers)):
        out += [[kind, k, cls.__name__, _qualname(cls)]
                for k, cls in enumerate(classes, 1)]
    return out


def _run(args, files):
    try:
        load_nova_config(files)
        available, enabled, weighers = common.resolve_plugins()
    except Exception as exc:  # report, as nova-scheduler would fail to start
        print(f'error: nova-scheduler would not start with this '
              f'configuration: {exc}', file=sys.stderr)
        return 1
    problems = invalid_options()
    for problem in problems:
        print(f'error: invalid value in the configuration: {problem}',
              file=sys.stderr)
    ours = [c for c in available if c.__module__.startswith('nova_scale_ext')]
    if args.formatter != display.TEXT:
        try:
            display.emit(args, COLUMNS, rows(ours, enabled, weighers))
        except display.CommandError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return 2
    else:
        _print(available, ours, enabled, weighers)
    if not ours:
        print('warning: no nova-scale-ext filter is available: add '
              '"available_filters = '
              'nova_scale_ext.scheduler.filters.all_filters"', file=sys.stderr)
    return 1 if problems else 0


def _print(available, ours, enabled, weighers):
    print(f'Filters available: {len(available)} '
          f'({len(ours)} from nova-scale-ext)')
    for cls in ours:
        print(f'  {cls.__name__:34} {_qualname(cls)}')
    print('Filters enabled, in order:')
    for cls in enabled:
        print(f'  {cls.__name__}')
    print('Weighers, in order:')
    for cls in weighers:
        print(f'  {cls.__name__:34} {_qualname(cls)}')


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'plugins', help='load the scheduler plugins as nova-scheduler would',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config-file', action='append', default=[],
                        metavar='NOVA_CONF',
                        help='nova.conf to read (repeatable); default: the '
                             'recommended lines from the README')
    parser.add_argument('--nova-list', choices=recommended.NOVA_LISTS,
                        help="print Nova's part of the recommended value of "
                             "this [filter_scheduler] option, read from the "
                             "installed Nova (available_filters and "
                             "enabled_filters: Nova's defaults; "
                             "weight_classes: Nova's weighers but those that "
                             "spread), comma-separated, and exit")
    display.add_format_options(parser)
    parser.set_defaults(func=run)
