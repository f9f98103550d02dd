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
"""``nova-scale-ext audit``: who shares hosts with whom.

Reads the cloud through openstacksdk as an admin (``--os-cloud``, or
``OS_CLOUD``) or a saved snapshot (``--snapshot FILE``), and the tenant
isolation policy from the ``[scale_ext_isolation]`` section of nova.conf
files (``--config-file``, repeatable; by default ``/etc/nova/nova.conf``
when it exists). Reports the hosts where an isolated group shares a host
with anyone else (with the instances, and how each got there when Nova's
migration records say), each isolated group's hosts and how full they are,
and the hosts shared by several projects. With ``--libvirt-uri`` it also
reads, read-only, the libvirt domain of every guest that should be hardened
against cross-guest side channels (every guest of an isolated group, every
guest on a host shared by several projects) and reports those without
``<nosharepages/>``. The last line is a summary.

Exit status: 0 clean, 3 violations or unhardened guests found (for cron or
a monitoring check), 1 the cloud or snapshot could not be read, 2 bad
arguments or a policy that cannot be read.
"""

import argparse
import json
import os
import sys

from cliff import command

from nova_scale_ext import audit, cloud, model
from nova_scale_ext.cmd import connection
from nova_scale_ext.conf import isolation as isolation_conf
from nova_scale_ext.core import isolation

PROG = 'nova-scale-ext audit'
DEFAULT_CONFIG = isolation_conf.DEFAULT_CONFIG


def _arrivals(conn, snapshot, policy):
    """How the instances on hosts in violation got there."""
    suspects = {i.id for i in snapshot.instances if i.host}
    wanted = audit.report(snapshot, policy)['violations']
    ids = [inst['id'] for v in wanted for inst in v['instances']
           if inst['id'] in suspects]
    records = []
    for sid in ids:
        for mig in conn.compute.migrations(instance_uuid=sid):
            records.append({
                'instance_uuid': getattr(mig, 'server_id', None) or sid,
                'source_compute': getattr(mig, 'source_compute', None)
                or getattr(mig, 'source', None),
                'dest_compute': getattr(mig, 'dest_compute', None)
                or getattr(mig, 'dest', None),
                'migration_type': getattr(mig, 'migration_type', None),
                'status': getattr(mig, 'status', None),
                'created_at': getattr(mig, 'created_at', None),
                'updated_at': getattr(mig, 'updated_at', None)})
    return audit.arrivals_from(records)


def _libvirt():
    """libvirt-python, or None."""
    try:
        import libvirt
    except ImportError:
        return None
    return libvirt


def read_guests(uri: str, ids, libvirt=None) -> dict:
    """For each instance id, whether its libvirt domain at ``uri`` is
    hardened (True, False) or why that could not be read. Connects
    read-only; libvirt's own error printing is kept off stderr (each
    error is in the answer)."""
    libvirt = libvirt or _libvirt()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    try:
        try:
            conn = libvirt.openReadOnly(uri)
        except libvirt.libvirtError as exc:
            reason = f'libvirt at {uri}: {exc.get_error_message()}'
            return dict.fromkeys(ids, reason)
        except ValueError as exc:       # e.g. a NUL in a host's name
            return dict.fromkeys(ids, f'libvirt at {uri!r}: {exc}')
        out = {}
        try:
            for sid in ids:
                try:
                    xml = conn.lookupByUUIDString(sid).XMLDesc(0)
                    out[sid] = audit.hardened_xml(xml)
                except libvirt.libvirtError as exc:
                    out[sid] = (f'libvirt at {uri}: '
                                f'{exc.get_error_message()}')
                except ValueError as exc:
                    out[sid] = f'libvirt at {uri}: {exc}'
        finally:
            conn.close()
        return out
    finally:
        libvirt.registerErrorHandler(None, None)


def _guests(view, snapshot, policy, uri, libvirt=None):
    """Whether the guests to harden are: each host's libvirt at ``uri``
    (``{host}`` replaced by the host's name) for the hosts whose
    hypervisor is libvirt's."""
    out = {}
    for host, guests in audit.to_harden(snapshot, policy).items():
        ids = [inst.id for inst, _ in guests]
        kind = view.hypervisor_types.get(host)
        if kind not in audit.LIBVIRT_TYPES:
            out.update(dict.fromkeys(
                ids, f'hypervisor type {kind or "unknown"}: not a libvirt '
                     'host'))
            continue
        out.update(read_guests(uri.replace('{host}', host), ids, libvirt))
    return out


def run(args, connect=None, libvirt=None):
    if args.libvirt_uri is not None:
        if args.snapshot:
            print(f'{PROG}: --libvirt-uri reads the guests of a running '
                  'cloud: it cannot go with --snapshot', file=sys.stderr)
            return 2
        if not args.libvirt_uri.strip():
            print(f'{PROG}: --libvirt-uri is empty', file=sys.stderr)
            return 2
        if not args.libvirt_uri.isprintable():
            print(f'{PROG}: --libvirt-uri {args.libvirt_uri!r} has control '
                  'characters', file=sys.stderr)
            return 2
        libvirt = libvirt or _libvirt()
        if libvirt is None:
            print(f'{PROG}: --libvirt-uri needs libvirt-python (pip install '
                  'libvirt-python; it builds with libvirt-dev and '
                  'pkg-config)', file=sys.stderr)
            return 2
    files = isolation_conf.config_files(args.config_files)
    try:
        policy = isolation_conf.read_policy(files)
    except isolation.PolicyError as exc:
        print(f'{PROG}: the isolation policy cannot be read: {exc} '
              '(nova-scheduler would isolate every project from every '
              'other)', file=sys.stderr)
        return 2
    arrivals, guests = {}, None
    if args.snapshot:
        try:
            snapshot = model.Snapshot.load(args.snapshot)
        except model.SnapshotError as exc:
            print(f'{PROG}: --snapshot {exc}', file=sys.stderr)
            return 1
    else:
        connect = connection.connector(connect, PROG)
        if connect is None:
            return 1
        name = args.os_cloud
        try:
            conn = connect(name)
            try:
                view = cloud.fetch(conn, topology=True, source=name or '')
                snapshot = cloud.snapshot(view)
                arrivals = _arrivals(conn, snapshot, policy)
                if args.libvirt_uri is not None:
                    guests = _guests(view, snapshot, policy,
                                     args.libvirt_uri.strip(), libvirt)
            finally:
                conn.close()
        except model.SnapshotError as exc:
            print(f'{PROG}: cloud {name!r}: {exc}', file=sys.stderr)
            return 1
        except connection.cloud_errors() as exc:
            print(f'{PROG}: {connection.describe(name, exc)}',
                  file=sys.stderr)
            return 1
    data = audit.report(snapshot, policy, arrivals, guests)
    data['policy']['files'] = files
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(audit.text(data))
    return 0 if data['clean'] else audit.EXIT_VIOLATIONS


def audit_options(parser):
    """The options of ``nova-scale-ext audit`` and ``openstack scale-ext
    audit`` but the cloud's."""
    parser.add_argument('--config-file', dest='config_files',
                        metavar='NOVA_CONF', action='append', default=[],
                        help='nova.conf with the [scale_ext_isolation] '
                             'policy (repeatable; default: '
                             f'{DEFAULT_CONFIG} when it exists)')
    parser.add_argument('--libvirt-uri', metavar='URI',
                        help='also check that the guests that should be '
                             'hardened have <nosharepages/>: the libvirt '
                             'URI of a compute host, {host} replaced by '
                             "the host's name in Nova (e.g. "
                             'qemu+ssh://root@{host}/system or '
                             'qemu+tls://{host}/system; read-only; hosts '
                             'whose hypervisor is not libvirt are not '
                             'checked)')
    parser.add_argument('--json', action='store_true',
                        help='print the whole report as JSON')


class Audit(command.Command):
    """Who shares hosts with whom: tenant isolation violations and
    unhardened guests (``nova-scale-ext audit`` on OpenStackClient's
    connection; exit status 0 clean, 3 findings)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        audit_options(parser)
        return parser

    def take_action(self, parsed_args):
        parsed_args.os_cloud = None
        parsed_args.snapshot = None
        return run(parsed_args,
                   connect=connection.borrowed(self.app.client_manager))


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'audit', help='who shares hosts with whom: tenant isolation '
                      'violations', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument('--os-cloud', metavar='NAME',
                       default=os.environ.get('OS_CLOUD'),
                       help='cloud of clouds.yaml to read, with admin '
                            'credentials (default: OS_CLOUD)')
    where.add_argument('--snapshot', metavar='FILE',
                       help='audit a snapshot saved by nova-scale-ext '
                            'snapshot instead of a cloud')
    audit_options(parser)
    parser.set_defaults(func=run)
    return parser
