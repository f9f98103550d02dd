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
"""``nova-scale-ext capacity`` (``openstack scale-ext capacity``): how many
more of each flavor fit right now.

Reads the cloud through openstacksdk with the credentials of a
``clouds.yaml`` cloud (``--os-cloud``, or ``OS_CLOUD``): every compute
host's inventories (total, reserved, allocation ratio, max_unit) and usages
from placement, the flavors, servers and aggregates from Nova; or reads a
snapshot saved by ``nova-scale-ext snapshot`` (``--snapshot FILE``). Then
lists:

* per flavor, how many more instances fit, and on which hosts (each host on
  its own: an instance never spans two);
* with ``--resources``, per resource class, capacity, usage, utilisation
  and stranded capacity: free on a host where no flavor of the catalogue
  fits any more, so free but usable by none of them.

``-f table|json|yaml|csv|value`` and ``-c COLUMN`` choose the output, as in
every OpenStack client; ``--json`` prints the whole report as one document.

What it does not see: filters (aggregates, traits, NUMA, PCI, huge pages)
can refuse a host that has room, so the counts are an upper bound.
A flavor asks for ``VCPU`` (``PCPU`` with ``hw:cpu_policy=dedicated``),
``MEMORY_MB`` and ``DISK_GB`` (root, ephemeral and swap), with
``resources:CLASS=N`` extra specs taking precedence, as Nova does.
"""

import json
import sys

from cliff import lister

from nova_scale_ext.cmd import display


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


FLAVOR_COLUMNS = ('Flavor', 'Fits', 'Where', 'Request')
RESOURCE_COLUMNS = ('Resource', 'Capacity', 'Used', 'Utilisation',
                    'Stranded', 'Stranded Share')


class Capacity(lister.Lister):
    """How many more instances of each flavor fit now, and on which hosts.

    One row per flavor: how many more fit (each host on its own: an
    instance never spans two), on which hosts, and what the flavor asks
    for; with --resources one row per resource class: capacity, usage,
    utilisation and stranded capacity (free on hosts where no flavor of the
    catalogue fits any more). Filters (aggregates, traits, NUMA, PCI, huge
    pages) can refuse a host that has room: the counts are an upper bound.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--resources', action='store_true',
                            help='one row per resource class instead of '
                                 'per flavor')
        display.add_snapshot_option(parser, 'report on')
        return parser

    def take_action(self, parsed_args):
        data = report(display.read_cloud(self, parsed_args))
        if parsed_args.resources:
            whole = display.whole
            return RESOURCE_COLUMNS, [
                (rc, whole(row['capacity']), whole(row['used']),
                 round(row['utilisation'], 4), whole(float(row['stranded'])),
                 round(row['stranded_share'], 4))
                for rc, row in data['resources'].items()]
        return FLAVOR_COLUMNS, [
            (name, row['fits'], display.Items(row['where']),
             display.Items(row['request']))
            for name, row in data['flavors'].items()]


def add_parser(subparsers):
    parser = display.add_parser(
        subparsers, 'capacity', Capacity,
        help='how many more instances of each flavor fit now',
        description=__doc__)
    parser.add_argument('--json', action='store_true',
                        help='print the whole report (flavors and resource '
                             'classes) as one JSON document')
    parser.set_defaults(func=run)


def run(args):
    """``--json``: the whole report; else the command's table."""
    prog = 'nova-scale-ext capacity'
    if not args.json:
        return display.run(args.command, args, prog)
    try:
        data = report(display.read_cloud(args.command, args))
    except display.CommandError as exc:
        print(f'{prog}: {exc}', file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2, sort_keys=True))
    return 0
