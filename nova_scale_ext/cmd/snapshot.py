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
"""``nova-scale-ext snapshot``: save a cloud's model to a JSON file.

Reads the cloud as ``capacity`` and ``defrag plan`` do (placement's
inventories and usages; Nova's services, hypervisors, servers, flavors,
server groups and aggregates; admin credentials of a ``clouds.yaml``
cloud) and writes the snapshot they compute on: hosts with their
effective capacity, usage and aggregates, instances with their flavors,
hosts and server groups. ``capacity --snapshot``, ``defrag plan
--snapshot`` and ``simulate --fleet`` read it back, on any machine, so an
operator can send one for analysis. It holds no credentials, addresses or
server names: project and server IDs, host, flavor and aggregate names.
"""

from __future__ import annotations

import argparse
import os
import sys

from nova_scale_ext import model
from nova_scale_ext.cmd import connection, defrag

PROG = 'nova-scale-ext snapshot'


def run(args: argparse.Namespace) -> int:
    if not connection.have_sdk():
        print(f'{PROG} needs openstacksdk: {connection.INSTALL}',
              file=sys.stderr)
        return 1
    try:
        snap = connection.read_snapshot(args.os_cloud, args.headroom)
    except model.SnapshotError as exc:
        print(f'{PROG}: cloud {args.os_cloud!r}: {exc}', file=sys.stderr)
        return 1
    except connection.cloud_errors() as exc:
        print(f'{PROG}: {connection.describe(args.os_cloud, exc)}',
              file=sys.stderr)
        return 1
    text = snap.dumps() + '\n'
    if args.output in (None, '-'):
        sys.stdout.write(text)
        return 0
    partial = f'{args.output}.partial'
    try:
        with open(partial, 'w', encoding='utf-8') as stream:
            stream.write(text)
        os.replace(partial, args.output)
    except OSError as exc:
        print(f'{PROG}: {args.output}: {exc.strerror or exc}',
              file=sys.stderr)
        return 1
    print(f'{len(snap.hosts)} hosts, {len(snap.instances)} servers saved to '
          f'{args.output}', file=sys.stderr)
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        'snapshot', help="save a cloud's hosts, servers and aggregates "
                         'to a JSON file',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--os-cloud', default=os.environ.get('OS_CLOUD'),
                        metavar='NAME',
                        help='cloud of clouds.yaml to read (default: '
                             '$OS_CLOUD)')
    parser.add_argument('--headroom', type=defrag.headroom_shares,
                        default=(0.0, 0.0, 0.0), metavar='VCPU:MEMORY:DISK',
                        help='the [scale_ext_filters] headroom shares of '
                             'nova.conf, which the API does not show, saved '
                             'per host (aggregate metadata still overrides '
                             'them); default 0:0:0')
    parser.add_argument('-o', '--output', metavar='FILE',
                        help='write it to FILE (default: standard output)')
    parser.set_defaults(func=run)
