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

import os

from cliff import command

from nova_scale_ext.cmd import defrag, display


class Snapshot(command.Command):
    """Save a cloud's hosts, servers, server groups, aggregates and
    flavors to a JSON file (standard output by default)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--headroom', type=defrag.headroom_shares,
            default=(0.0, 0.0, 0.0), metavar='VCPU:MEMORY:DISK',
            help='the [scale_ext_filters] headroom shares of nova.conf, '
                 'which the API does not show, saved per host (aggregate '
                 'metadata still overrides them); default 0:0:0')
        parser.add_argument('-o', '--output', metavar='FILE',
                            help='write it to FILE (default: standard '
                                 'output)')
        return parser

    def take_action(self, parsed_args):
        snap = display.read_cloud(self, parsed_args, parsed_args.headroom)
        text = snap.dumps() + '\n'
        out = parsed_args.output
        if out in (None, '-'):
            self.app.stdout.write(text)
            return 0
        partial = f'{out}.partial'
        try:
            with open(partial, 'w', encoding='utf-8') as stream:
                stream.write(text)
            os.replace(partial, out)
        except OSError as exc:
            raise display.CommandError(
                f'{out}: {exc.strerror or exc}') from None
        self.app.stderr.write(f'{len(snap.hosts)} hosts, '
                              f'{len(snap.instances)} servers saved to '
                              f'{out}\n')
        return 0


def add_parser(subparsers) -> None:
    display.add_parser(
        subparsers, 'snapshot', Snapshot,
        help="save a cloud's hosts, servers and aggregates to a JSON file",
        description=__doc__)
