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

Reads, through openstacksdk with the credentials of a ``clouds.yaml`` cloud
(``--os-cloud``, or ``OS_CLOUD``), every resource provider's inventories
(total, reserved, allocation ratio, max_unit) and usages from placement, and
the flavors from Nova, then reports:

* per flavor, how many more instances fit, and on which providers (each
  provider on its own: an instance never spans two);
* per resource class, capacity, usage and utilisation;
* per resource class, stranded capacity: free on a provider where no flavor
  of the catalogue fits any more, so free but usable by none of them.

What it does not see: filters (aggregates, traits, NUMA, PCI, huge pages)
can refuse a provider that has room, so the counts are an upper bound.
A flavor asks for ``VCPU`` (``PCPU`` with ``hw:cpu_policy=dedicated``),
``MEMORY_MB`` and ``DISK_GB`` (root, ephemeral and swap), with
``resources:CLASS=N`` extra specs taking precedence, as Nova does.
"""

import argparse
import json
import os
import sys

from nova_scale_ext import cloud


def report(providers, flavors):
    """The capacity report as a dict (what ``--json`` prints).

    ``providers`` are :class:`nova_scale_ext.cloud.Provider`; ``flavors``
    maps flavor names to requests (:func:`nova_scale_ext.cloud.
    flavor_request`).
    """
    per_flavor = {}
    for name, request in sorted(flavors.items()):
        where = {p.name: p.fits(request) for p in providers}
        where = {host: n for host, n in sorted(where.items()) if n}
        per_flavor[name] = {'request': request,
                            'fits': sum(where.values()), 'where': where}
    classes = sorted({rc for p in providers for rc in p.inventories})
    resources = {}
    for rc in classes:
        capacity = sum(p.inventories[rc].capacity for p in providers
                       if rc in p.inventories)
        used = sum(p.usages.get(rc, 0.0) for p in providers
                   if rc in p.inventories)
        stranded = sum(p.free(rc) for p in providers
                       if not any(p.fits(r) for r in flavors.values()))
        resources[rc] = {
            'capacity': capacity, 'used': used,
            'utilisation': used / capacity if capacity else 0.0,
            'stranded': stranded,
            'stranded_share': stranded / capacity if capacity else 0.0}
    return {'flavors': per_flavor, 'resources': resources,
            'providers': len(providers)}


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
    try:
        import openstack
        from keystoneauth1 import exceptions as ksa_exceptions
        from openstack import exceptions
    except ImportError:
        print('nova-scale-ext capacity needs openstacksdk: pip install '
              "'nova-scale-ext[capacity]'", file=sys.stderr)
        return 1
    try:
        conn = openstack.connect(cloud=args.os_cloud)
        try:
            view = cloud.fetch(conn)
        finally:
            conn.close()
    except (exceptions.SDKException, ksa_exceptions.ClientException) as exc:
        where = (f'cloud {args.os_cloud!r}' if args.os_cloud else
                 'no --os-cloud given and OS_CLOUD not set')
        print(f'nova-scale-ext capacity: {where}: {exc}', file=sys.stderr)
        return 1
    data = report(view.providers, view.flavor_requests())
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
    parser.add_argument('--json', action='store_true',
                        help='print the report as JSON')
    parser.set_defaults(func=run)
