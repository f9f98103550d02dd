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
"""``nova-scale-ext capacity``: how many more of each flavor fit right now.

Reads the cloud through openstacksdk with the credentials of a
``clouds.yaml`` cloud (``--os-cloud``, or ``OS_CLOUD``): every compute
host's inventories (total, reserved, allocation ratio, max_unit) and usages
from placement, the flavors, servers and aggregates from Nova; or reads a
snapshot saved by ``nova-scale-ext snapshot`` (``--snapshot FILE``). Then
reports:

* per flavor, how many more instances fit, and on which hosts (each host on
  its own: an instance never spans two);
* per resource class, capacity, usage and utilisation;
* per resource class, stranded capacity: free on a host where no flavor
  of the catalogue fits any more, so free but usable by none of them.

What it does not see: filters (aggregates, traits, NUMA, PCI, huge pages)
can refuse a host that has room, so the counts are an upper bound.
A flavor asks for ``VCPU`` (``PCPU`` with ``hw:cpu_policy=dedicated``),
``MEMORY_MB`` and ``DISK_GB`` (root, ephemeral and swap), with
``resources:CLASS=N`` extra specs taking precedence, as Nova does.
"""

import argparse
import json
import os
import sys

from nova_scale_ext import model
from nova_scale_ext.cmd import connection


def report(snapshot):
    """The capacity report of a :class:`nova_scale_ext.model.Snapshot` as
    a dict (what ``--json`` prints)."""
    requests = {f.name: {rc: a for rc, a in f.resources.items() if a > 0}
                for f in snapshot.flavors}
    slots = {name: snapshot.slots(request)
             for name, request in sorted(requests.items())}
    per_flavor = {}
    for name, where in slots.items():
        where = {host: n for host, n in sorted(where.items()) if n}
        per_flavor[name] = {'request': requests[name],
                            'fits': sum(where.values()), 'where': where}
    full = {h for h in snapshot.host_by_name
            if not any(s[h] for s in slots.values())}
    used = {h.name: snapshot.used_of(h) for h in snapshot.hosts}
    classes = sorted({rc for h in snapshot.hosts for rc, amount in
                      list(h.capacity.items()) + list(used[h.name].items())
                      if amount > 0})
    resources = {}
    for rc in classes:
        capacity = sum(h.capacity.get(rc, 0.0) for h in snapshot.hosts)
        in_use = sum(used[h.name].get(rc, 0.0) for h in snapshot.hosts)
        stranded = sum(max(h.capacity.get(rc, 0.0)
                           - used[h.name].get(rc, 0.0), 0.0)
                       for h in snapshot.hosts if h.name in full)
        resources[rc] = {
            'capacity': capacity, 'used': in_use,
            'utilisation': in_use / capacity if capacity else 0.0,
            'stranded': stranded,
            'stranded_share': stranded / capacity if capacity else 0.0}
    return {'flavors': per_flavor, 'resources': resources,
            'providers': len(snapshot.hosts)}


def _number(value):
    return f'{value:.0f}' if float(value).is_integer() else f'{value:.1f}'


def format_table(data):
    """The report as text: one table per flavor, one per resource class."""
    width = max([len('Flavor')] + [len(n) for n in data['flavors']])
    lines = [f'{"Flavor":<{width}}  {"fits":>5}  where']
    for name, row in data['flavors'].items():
        where = ', '.join(f'{host} {n}' for host, n in row['where'].items())
        lines.append(f'{name:<{width}}  {row["fits"]:>5}  {where or "-"}')
    width = max([len('Resource')] + [len(rc) for rc in data['resources']])
    lines += ['', f'{"Resource":<{width}}  {"capacity":>9}  {"used":>9}  '
              f'{"utilisation":>11}  stranded']
    for rc, row in data['resources'].items():
        lines.append(
            f'{rc:<{width}}  {_number(row["capacity"]):>9}  '
            f'{_number(row["used"]):>9}  {row["utilisation"]:>11.1%}  '
            f'{_number(row["stranded"])} ({row["stranded_share"]:.1%})')
    lines.append(f'\n{data["providers"]} resource providers; counts are an '
                 'upper bound (filters can refuse a provider with room).')
    return '\n'.join(lines)


def run(args):
    if args.snapshot:
        try:
            snap, error = model.Snapshot.load(args.snapshot), None
        except model.SnapshotError as exc:
            snap, error = None, f'--snapshot {exc}'
    elif not connection.have_sdk():
        snap, error = None, f'needs openstacksdk: {connection.INSTALL}'
    else:
        try:
            snap, error = connection.read_snapshot(args.os_cloud), None
        except model.SnapshotError as exc:
            snap, error = None, f'cloud {args.os_cloud!r}: {exc}'
        except connection.cloud_errors() as exc:
            snap, error = None, connection.describe(args.os_cloud, exc)
    if error:
        print(f'nova-scale-ext capacity: {error}', file=sys.stderr)
        return 1
    data = report(snap)
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(format_table(data))
    return 0


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'capacity', help='how many more instances of each flavor fit now',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--os-cloud', default=os.environ.get('OS_CLOUD'),
                        metavar='NAME',
                        help='cloud of clouds.yaml to use (default: '
                             '$OS_CLOUD)')
    parser.add_argument('--snapshot', metavar='FILE',
                        help='report on a snapshot saved by nova-scale-ext '
                             'snapshot instead of a cloud')
    parser.add_argument('--json', action='store_true',
                        help='print the report as JSON')
    parser.set_defaults(func=run)
