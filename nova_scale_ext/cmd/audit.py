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
and the hosts shared by several projects. The last line is a summary.

Exit status: 0 clean, 3 violations found (for cron or a monitoring check),
1 the cloud or snapshot could not be read, 2 bad arguments or a policy that
cannot be read.
"""

import argparse
import json
import os
import sys

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


def run(args, connect=None):
    files = isolation_conf.config_files(args.config_files)
    try:
        policy = isolation_conf.read_policy(files)
    except isolation.PolicyError as exc:
        print(f'{PROG}: the isolation policy cannot be read: {exc} '
              '(nova-scheduler would isolate every project from every '
              'other)', file=sys.stderr)
        return 2
    arrivals = {}
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
            finally:
                conn.close()
        except model.SnapshotError as exc:
            print(f'{PROG}: cloud {name!r}: {exc}', file=sys.stderr)
            return 1
        except connection.cloud_errors() as exc:
            print(f'{PROG}: {connection.describe(name, exc)}',
                  file=sys.stderr)
            return 1
    data = audit.report(snapshot, policy, arrivals)
    data['policy']['files'] = files
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(audit.text(data))
    return 0 if data['clean'] else audit.EXIT_VIOLATIONS


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
    parser.add_argument('--config-file', dest='config_files',
                        metavar='NOVA_CONF', action='append', default=[],
                        help='nova.conf with the [scale_ext_isolation] '
                             'policy (repeatable; default: '
                             f'{DEFAULT_CONFIG} when it exists)')
    parser.add_argument('--json', action='store_true',
                        help='print the whole report as JSON')
    parser.set_defaults(func=run)
    return parser
