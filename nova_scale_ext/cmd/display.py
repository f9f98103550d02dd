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
"""Commands on cliff, run by ``nova-scale-ext`` and by OpenStackClient.

A command here is a cliff command (``Lister`` for tables, with cliff's
``-f table|json|yaml|csv|value``, ``-c COLUMN`` and sort options), so
``openstack scale-ext NAME`` (:mod:`nova_scale_ext.osc.plugin`) runs it as
it runs its own. :func:`add_parser` makes it a subcommand of
``nova-scale-ext`` too, with ``--os-cloud`` added: there the command
connects itself, where OpenStackClient hands it its connection.

A failure the user can act on is a :class:`CommandError`: one line, exit
status 1 (``nova-scale-ext``'s ``PROG: message``; OpenStackClient prints
the message).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import stevedore
from cliff import columns

from nova_scale_ext import cloud, model
from nova_scale_ext.cmd import connection


def unwritable(path: str) -> str | None:
    """Why the output file ``path`` cannot be written (one line), or None;
    checked before any work that would be lost."""
    if not path:
        return 'expected a path, got an empty string'
    if os.path.isdir(path):
        return f'cannot write {path}: it is a directory'
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return f'cannot write {path}: no such directory {parent}'
    target = path if os.path.exists(path) else parent
    if not os.access(target, os.W_OK):
        return f'cannot write {path}: permission denied'
    return None


class CommandError(Exception):
    """What went wrong, in one line for the user."""


class _App:
    """What a cliff command needs of its application when nova-scale-ext
    runs it (the current standard streams)."""

    @property
    def stdout(self):
        return sys.stdout

    @property
    def stdin(self):
        return sys.stdin

    @property
    def stderr(self):
        return sys.stderr


class Items(columns.FormattableColumn):
    """A mapping in a table cell: ``key value, ...`` (``-`` when empty);
    the mapping itself for JSON and YAML."""

    def __init__(self, value: Any) -> None:
        super().__init__({k: whole(v) for k, v in value.items()})

    def human_readable(self) -> str:
        text = ', '.join(f'{k} {_number(v)}' for k, v in self._value.items())
        return text or '-'


def whole(value: Any) -> Any:
    """``value``, as an int when it is a whole float (``4096.0``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(value: Any) -> str:
    return str(whole(value))


def add_snapshot_option(parser: argparse.ArgumentParser, verb: str) -> None:
    """``--snapshot FILE`` (read by :func:`read_cloud`)."""
    parser.add_argument('--snapshot', metavar='FILE',
                        help=f'{verb} a snapshot saved by nova-scale-ext '
                             'snapshot instead of reading the cloud')


def read_cloud(command: Any, parsed_args: argparse.Namespace,
               headroom: tuple[float, float, float] = (0.0, 0.0, 0.0)
               ) -> model.Snapshot:
    """The snapshot ``command`` works on: ``--snapshot FILE`` when given,
    else the cloud, through OpenStackClient's connection when it runs the
    command, else through ``--os-cloud``.

    :raises CommandError: naming the file or the cloud.
    """
    path = getattr(parsed_args, 'snapshot', None)
    if path:
        try:
            return model.Snapshot.load(path)
        except model.SnapshotError as exc:
            raise CommandError(f'--snapshot {exc}') from None
    manager = getattr(command.app, 'client_manager', None)
    name = getattr(parsed_args, 'os_cloud', None)
    if manager is None and not connection.have_sdk():
        raise CommandError(f'needs openstacksdk: {connection.INSTALL}')
    try:
        if manager is None:
            return connection.read_snapshot(name, headroom)
        conn = manager.sdk_connection
        name = getattr(getattr(conn, 'config', None), 'name', None) or name
        view = cloud.fetch(conn, topology=True, source=name or '')
        return cloud.snapshot(view, headroom)
    except model.SnapshotError as exc:
        raise CommandError(f'cloud {name!r}: {exc}') from None
    except connection.cloud_errors() as exc:
        raise CommandError(connection.describe(name, exc)) from None


def add_parser(subparsers: Any, name: str, command_class: type,
               help: str, description: str = '') -> argparse.ArgumentParser:
    """``nova-scale-ext NAME``: the cliff command's options, ``--os-cloud``
    and ``-h``; the parser's ``func`` runs it (``command`` is the cliff
    command)."""
    command = command_class(_App(), None)
    prog = f'nova-scale-ext {name}'
    # The subcommand is listed as any other, then parsed by the cliff
    # command's own parser (its groups resolve conflicts in ways plain
    # argparse parsers cannot inherit).
    subparsers.add_parser(name, help=help)
    parser = command.get_parser(prog)
    parser.description = description or command.get_description()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    subparsers._name_parser_map[name] = parser
    parser.add_argument('--os-cloud', default=os.environ.get('OS_CLOUD'),
                        metavar='NAME',
                        help='cloud of clouds.yaml to use (default: '
                             '$OS_CLOUD)')
    parser.set_defaults(func=lambda args: run(command, args, prog),
                        command=command)
    return parser


def run(command: Any, args: argparse.Namespace, prog: str) -> int:
    """Run ``command`` as ``nova-scale-ext`` does: a :class:`CommandError`
    or an unknown ``-c`` column is one line and exit status 1."""
    try:
        return int(command.run(args) or 0)
    except CommandError as exc:
        print(f'{prog}: {exc}', file=sys.stderr)
        return 1
    except ValueError as exc:       # cliff: -c names no column
        if not str(exc).startswith('No recognized column'):
            raise
        print(f'{prog}: -c: {exc}', file=sys.stderr)
        return 1


# --- the formatters on a command of nova-scale-ext's own ---------------------

#: Where cliff registers its table formatters.
LIST_FORMATTERS = 'cliff.formatter.list'
#: ``-f text``: the command's own report (the default of
#: :func:`add_format_options`).
TEXT = 'text'


def _formatters() -> stevedore.ExtensionManager:
    return stevedore.ExtensionManager(LIST_FORMATTERS, invoke_on_load=True)


def add_format_options(parser: argparse.ArgumentParser,
                       default: str = TEXT) -> None:
    """cliff's ``-f FORMAT``, ``-c COLUMN`` and the formatters' own options
    on an argparse command that prints one table; ``-f text`` (the default
    here) keeps the command's own report."""
    managers = _formatters()
    group = parser.add_argument_group('output formatters')
    group.add_argument('-f', '--format', dest='formatter', default=default,
                       choices=[default, *sorted(managers.names())],
                       help=f'the output format (default: {default}, the '
                            'report with its notes)')
    group.add_argument('-c', '--column', action='append', default=[],
                       dest='columns', metavar='COLUMN',
                       help='the column(s) to include (repeatable; not '
                            f'with -f {default})')
    for ext in managers:
        ext.obj.add_argument_group(parser)


def emit(args: argparse.Namespace, column_names: list[str],
         rows: list[list[Any]], stdout=None) -> None:
    """Print ``rows`` with the formatter and columns of ``args``.

    :raises CommandError: ``-c`` names no column.
    """
    wanted = [c.lower().replace('_', ' ') for c in args.columns]
    keep = [i for i, c in enumerate(column_names)
            if not wanted or c.lower() in wanted]
    if not keep:
        raise CommandError(f'-c: no column named {", ".join(args.columns)};'
                           f' the columns are {", ".join(column_names)}')
    formatter = _formatters()[args.formatter].obj
    formatter.emit_list([column_names[i] for i in keep],
                        [[row[i] for i in keep] for row in rows],
                        stdout or sys.stdout, args)
