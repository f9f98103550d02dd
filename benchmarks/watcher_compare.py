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
"""OpenStack Watcher's consolidation strategies on a cluster snapshot.

Runs Watcher's own strategy code (imported from the installed
``python-watcher`` package, nothing of it copied here) offline on a
snapshot, and measures each plan with this script's own code:

* ``node_resource_consolidation`` with ``host_choice=specify`` (Watcher
  picks the destinations) and with ``host_choice=auto`` (the default:
  destinations are left to Nova's scheduler, so the placement after the
  plan cannot be checked here);
* ``vm_workload_consolidation``, fed every instance's flavor allocation as
  its load (each instance reported as using all of its vCPUs, RAM and root
  disk; no host-level metric, so a host's load is the sum of its
  instances').

Watcher pins conflict with Nova's, so this runs in a virtualenv of its own
and imports neither ``nova`` nor ``nova_scale_ext``::

    python3 -m venv /var/cache/nova-scale-ext-bench/watcher
    /var/cache/nova-scale-ext-bench/watcher/bin/pip install \\
        'python-watcher>=17,<18'
    W=/var/cache/nova-scale-ext-bench/watcher/bin/python

    $W benchmarks/watcher_compare.py --selftest
    $W benchmarks/watcher_compare.py SNAPSHOT.json [--json OUT.json]
    $W benchmarks/watcher_compare.py --generate --hosts 150 \\
        --write-snapshot big.json            # then run on big.json

``watcher_snapshots.py`` takes such snapshots from a trace at its fullest
moments and sets our planner beside these strategies.

The snapshot is neutral JSON; capacities are effective (after allocation
ratios)::

    {"hosts": [{"name": str, "vcpus": float, "memory_mb": float,
                "disk_gb": float}],
     "instances": [{"id": str, "host": str, "vcpus": float,
                    "memory_mb": float, "disk_gb": float}]}

Per strategy it reports hosts in use before and after, hosts freed,
migrations, GiB of guest memory moved, planning time (median wall seconds
of the strategy's ``execute()`` over ``--runs`` runs, each on a freshly
built model) and whether the placement is valid: the migrations applied in
the solution's order, no host over capacity at the end (``valid``) and no
destination short of room at the moment its migration runs, one at a time
(``valid_in_order``).

How Watcher is run outside its services (see ``WatcherRunner``):

* configuration: ``watcher.conf`` registers Watcher's options on oslo.config's
  global ``CONF``, which is parsed with no argument and no config file (the
  strategy loader re-reads config files and asserts it was parsed); the
  strategies are loaded through Watcher's own stevedore loader, which
  registers their ``watcher_strategies.<name>`` group (``datasources``);
* ``osc`` (the OpenStack clients): an object that raises on any use, so a
  call to Nova, Placement, Gnocchi... would fail the run; none is made;
* the compute data model: Watcher's ``ModelRoot`` with ``ComputeNode`` and
  ``Instance`` elements built from the snapshot and handed to the strategy
  in place of the one its collector would fetch from Nova and Placement;
* ``vm_workload_consolidation``'s datasource (Gnocchi, Prometheus...): an
  object answering from the flavor allocation (see
  ``FlavorAllocationMetrics``);
* the audit: ``None`` (a one-shot audit; ``node_resource_consolidation``
  then reads no failed action from Watcher's database).

Watcher's model fields are integers: non-integral instance sizes are
rounded up, and a non-integral host capacity is given as
``ceil(capacity)`` with the matching allocation ratio.
"""

import argparse
import json
import logging
import math
import random
import statistics
import sys
import time
import warnings

import argtypes

warnings.filterwarnings('ignore')

#: Relative slack of the capacity checks (float sums of the snapshot).
EPS = 1e-9

RESOURCES = ('vcpus', 'memory_mb', 'disk_gb')

#: (label, Watcher strategy name, input parameters)
STRATEGIES = (
    ('node_resource_consolidation[specify]', 'node_resource_consolidation',
     {'host_choice': 'specify'}),
    ('node_resource_consolidation[auto]', 'node_resource_consolidation',
     {'host_choice': 'auto'}),
    ('vm_workload_consolidation[flavor-load]', 'vm_workload_consolidation',
     {}),
)


# --------------------------------------------------------------- snapshots

#: (vcpus, memory GiB, root disk GB, relative weight) of the generator.
FLAVORS = (
    (1, 2, 20, 12.0), (2, 4, 40, 10.0), (2, 8, 40, 5.0), (4, 8, 80, 8.0),
    (4, 16, 80, 5.0), (8, 16, 160, 4.0), (8, 32, 160, 2.0),
    (16, 32, 320, 1.5), (16, 64, 320, 0.7), (32, 64, 640, 0.5),
    (32, 128, 640, 0.3),
)


def generate_snapshot(hosts=20, host_vcpus=80, host_memory_gib=180,
                      host_disk_gb=3000, fill_min=0.3, fill_max=0.6,
                      max_flavor_vcpus=32, seed=1):
    """A deterministic snapshot: each host filled to a fraction drawn in
    [fill_min, fill_max] of its vCPUs or memory (whichever is reached
    first) with the FLAVORS mix (1-32 vCPU by default)."""
    rng = random.Random(seed)
    flavors = [f for f in FLAVORS if f[0] <= max_flavor_vcpus]
    weights = [f[3] for f in flavors]
    cap = {'vcpus': float(host_vcpus), 'memory_mb': host_memory_gib * 1024.0,
           'disk_gb': float(host_disk_gb)}
    snap = {'hosts': [], 'instances': []}
    n = 0
    for h in range(hosts):
        name = 'host-%04d' % h
        snap['hosts'].append(dict(name=name, **cap))
        target = rng.uniform(fill_min, fill_max)
        # Draw about what the target holds and place it largest first (so
        # that large flavors are not always the ones left out), then fill
        # the gaps with further draws until 20 in a row do not fit.
        drawn = []
        while sum(f[0] for f in drawn) < target * host_vcpus:
            drawn.append(rng.choices(flavors, weights)[0])
        drawn.sort(key=lambda f: (-f[0], -f[1]))
        used = dict.fromkeys(RESOURCES, 0.0)
        misses = 0
        while misses < 20:
            if drawn:
                flavor = drawn.pop(0)
            else:
                flavor = rng.choices(flavors, weights)[0]
            vcpus, mem_gib, disk, _w = flavor
            size = {'vcpus': float(vcpus), 'memory_mb': mem_gib * 1024.0,
                    'disk_gb': float(disk)}
            if all(used[r] + size[r] <= target * cap[r] for r in RESOURCES):
                for r in RESOURCES:
                    used[r] += size[r]
                snap['instances'].append(
                    dict(id='inst-%06d' % n, host=name, **size))
                n += 1
            elif not drawn:
                misses += 1
    return snap


def check_snapshot(snap):
    """Raise ValueError on a malformed snapshot."""
    if not isinstance(snap, dict) or not all(
            isinstance(snap.get(k, []), list) for k in ('hosts', 'instances')):
        raise ValueError('expected an object with lists "hosts" and '
                         '"instances"')
    try:
        _check_snapshot(snap)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError('a host or instance lacks a field or has one of '
                         'the wrong type: %s' % exc) from None


def _check_snapshot(snap):
    names = set()
    for h in snap.get('hosts', ()):
        if h['name'] in names:
            raise ValueError('duplicate host %r' % h['name'])
        names.add(h['name'])
        for r in RESOURCES:
            v = float(h[r])
            if not math.isfinite(v) or v < 0:
                raise ValueError('host %r: bad %s %r' % (h['name'], r, v))
    ids = set()
    for i in snap.get('instances', ()):
        if i['id'] in ids:
            raise ValueError('duplicate instance %r' % i['id'])
        ids.add(i['id'])
        if i['host'] not in names:
            raise ValueError('instance %r on unknown host %r'
                             % (i['id'], i['host']))
        for r in RESOURCES:
            v = float(i[r])
            if not math.isfinite(v) or v < 0:
                raise ValueError('instance %r: bad %s %r' % (i['id'], r, v))
    if len(names) < 2:
        raise ValueError('need at least 2 hosts')


# ---------------------------------------------------- evaluation (our own)

def _usage(snap, placement):
    used = {h['name']: dict.fromkeys(RESOURCES, 0.0) for h in snap['hosts']}
    sizes = {i['id']: i for i in snap['instances']}
    for iid, host in placement.items():
        for r in RESOURCES:
            used[host][r] += float(sizes[iid][r])
    return used


def _over(used, caps):
    """{host: [resources over capacity]} for the hosts over capacity."""
    out = {}
    for host, u in used.items():
        bad = [r for r in RESOURCES
               if u[r] > caps[host][r] * (1 + EPS) + EPS]
        if bad:
            out[host] = bad
    return out


def evaluate(snap, migrations):
    """Apply ``migrations`` [(instance id, source, destination or None)] in
    order to the snapshot's placement and measure the result."""
    caps = {h['name']: {r: float(h[r]) for r in RESOURCES}
            for h in snap['hosts']}
    sizes = {i['id']: i for i in snap['instances']}
    placement = {i['id']: i['host'] for i in snap['instances']}
    used = _usage(snap, placement)
    in_use_before = {h for h in placement.values()}
    over_before = _over(used, caps)
    moved_mb = sum(float(sizes[iid]['memory_mb'])
                   for iid, _s, _d in migrations if iid in sizes)
    res = {
        'hosts': len(caps),
        'instances': len(placement),
        'hosts_in_use_before': len(in_use_before),
        'migrations': len(migrations),
        'instances_moved': len({m[0] for m in migrations}),
        'gib_moved': round(moved_mb / 1024.0, 3),
        'over_capacity_hosts_before': len(over_before),
    }
    errors = []
    if any(d is None for _i, _s, d in migrations):
        # host_choice=auto: Nova's scheduler would choose, so only what the
        # plan intends can be told.
        emptied = set()
        for host in in_use_before:
            on_host = {i for i, h in placement.items() if h == host}
            if on_host and on_host <= {m[0] for m in migrations
                                       if m[1] == host}:
                emptied.add(host)
        res.update({
            'destinations': 'left to the Nova scheduler',
            'hosts_in_use_after': None,
            'hosts_freed': None,
            'hosts_emptied_if_all_migrations_land_elsewhere': len(emptied),
            'valid': None,
            'valid_in_order': None,
        })
        return res
    transient = 0
    for iid, src, dst in migrations:
        if iid not in placement:
            errors.append('unknown instance %s' % iid)
            continue
        if dst not in caps:
            errors.append('unknown destination %s' % dst)
            continue
        if placement[iid] != src:
            errors.append('%s is on %s, not on its source %s'
                          % (iid, placement[iid], src))
        cur = placement[iid]
        for r in RESOURCES:
            used[cur][r] -= float(sizes[iid][r])
            used[dst][r] += float(sizes[iid][r])
        placement[iid] = dst
        if dst in _over({dst: used[dst]}, caps) and dst not in over_before:
            transient += 1
    over_after = _over(used, caps)
    in_use_after = set(placement.values())
    over_dims = sorted({r for bad in over_after.values() for r in bad})
    res.update({
        'hosts_in_use_after': len(in_use_after),
        'hosts_freed': len(in_use_before - in_use_after),
        'hosts_newly_used': len(in_use_after - in_use_before),
        'over_capacity_hosts_after': len(over_after),
        'over_capacity_resources_after': over_dims,
        'moves_onto_a_full_host_in_order': transient,
        'plan_errors': errors[:20],
        'valid': not over_after and not errors,
        'valid_in_order': not over_after and not errors and not transient,
    })
    return res


# ------------------------------------------------------ Watcher, run offline

class NoServiceClients:
    """Stands in for Watcher's ``OpenStackClients`` (``osc``): any use
    raises, so a strategy reaching for Nova, Placement, Gnocchi... fails
    loudly instead of trying the network."""

    def __getattr__(self, name):
        raise RuntimeError('Watcher strategy tried to use the OpenStack '
                           'client %r, which this offline run does not '
                           'provide' % name)


class FlavorAllocationMetrics:
    """Stands in for Watcher's datasource backend (Gnocchi, Prometheus...)
    for ``vm_workload_consolidation``: every instance uses all of its
    flavor (100 % CPU of its vCPUs, its RAM, its root disk); hosts report
    no metric of their own, so the strategy takes a host's load as the sum
    of its instances'. Units as in Watcher's ``DataSourceBase``."""

    NAME = 'flavor-allocation'

    def __init__(self):
        self.calls = {}

    def _count(self, name):
        self.calls[name] = self.calls.get(name, 0) + 1

    def get_instance_cpu_usage(self, resource, period, aggregate,
                               granularity=None):
        self._count('get_instance_cpu_usage')
        return 100.0  # percent of the instance's vCPUs

    def get_instance_ram_usage(self, resource, period, aggregate,
                               granularity=None):
        self._count('get_instance_ram_usage')
        return float(resource.memory)  # MB

    def get_instance_ram_allocated(self, resource, period, aggregate,
                                   granularity=None):
        self._count('get_instance_ram_allocated')
        return float(resource.memory)  # MB

    def get_instance_root_disk_size(self, resource, period, aggregate,
                                    granularity=None):
        self._count('get_instance_root_disk_size')
        return float(resource.disk)  # GB

    def get_host_cpu_usage(self, resource, period, aggregate,
                           granularity=None):
        self._count('get_host_cpu_usage')
        return None

    def get_host_ram_usage(self, resource, period, aggregate,
                           granularity=None):
        self._count('get_host_ram_usage')
        return None

    def __getattr__(self, name):
        raise RuntimeError('Watcher strategy asked the datasource for %r, '
                           'which the flavor-allocation stand-in does not '
                           'answer' % name)


def _int_up(value, counter):
    v = float(value)
    if v != int(v):
        counter[0] += 1
    return int(math.ceil(v))


class WatcherRunner:
    """Imports Watcher and runs its strategies on snapshots."""

    def __init__(self, verbose=False):
        logging.basicConfig(level=logging.WARNING)
        logging.getLogger('watcher').setLevel(
            logging.INFO if verbose else logging.ERROR)
        t0 = time.perf_counter()
        # Watcher's clients module resets the warning filters on import:
        # record (and drop) the deprecation warnings of the imports instead.
        with warnings.catch_warnings(record=True):
            import watcher
            import watcher.conf  # noqa: F401  (registers its options)
            from oslo_config import cfg
            from watcher.decision_engine.loading import default as loading
            from watcher.decision_engine.model import element, model_root
        if not cfg.CONF._args:
            cfg.CONF(args=[], project='watcher', default_config_files=[],
                     default_config_dirs=[])
        self.loader = loading.DefaultStrategyLoader()
        self.element = element
        self.model_root = model_root
        self.import_s = time.perf_counter() - t0
        try:
            from importlib import metadata
            self.version = metadata.version('python-watcher')
        except Exception:
            self.version = getattr(watcher, '__version__', 'unknown')

    def build_model(self, snap):
        """Watcher's compute data model of the snapshot."""
        el = self.element
        model = self.model_root.ModelRoot()
        rounded = [0]
        nodes = {}
        for h in snap['hosts']:
            kw = {}
            for r, field, ratio in (('vcpus', 'vcpus', 'vcpu_ratio'),
                                    ('memory_mb', 'memory', 'memory_ratio'),
                                    ('disk_gb', 'disk', 'disk_ratio')):
                cap = float(h[r])
                whole = int(math.ceil(cap))
                kw[field] = whole
                kw[ratio] = cap / whole if whole else 1.0
            node = el.ComputeNode(
                uuid=h['name'], hostname=h['name'],
                status=el.ServiceState.ENABLED.value,
                state=el.ServiceState.ONLINE.value, disabled_reason=None,
                vcpu_reserved=0, memory_mb_reserved=0, disk_gb_reserved=0,
                **kw)
            model.add_node(node)
            nodes[h['name']] = node
        for i in snap['instances']:
            inst = el.Instance(
                uuid=i['id'], name=i['id'],
                state=el.InstanceState.ACTIVE.value,
                vcpus=_int_up(i['vcpus'], rounded),
                memory=_int_up(i['memory_mb'], rounded),
                disk=_int_up(i['disk_gb'], rounded),
                metadata={}, watcher_exclude=False, locked=False,
                host=i['host'], hypervisor_hostname=i['host'])
            model.add_instance(inst)
            model.map_instance(inst, nodes[i['host']])
        return model, rounded[0]

    def run(self, name, params, snap):
        """One run: a fresh model and strategy, ``execute()`` timed."""
        model, rounded = self.build_model(snap)
        strategy = self.loader.load(name, osc=NoServiceClients())
        strategy.input_parameters.update(params)
        # In place of the collector's model (Nova + Placement).
        strategy._compute_model = model
        metrics = None
        if name == 'vm_workload_consolidation':
            metrics = FlavorAllocationMetrics()
            strategy._datasource_backend = metrics
        inner = {}
        do_execute = strategy.do_execute

        def timed_do_execute(audit=None):
            t = time.perf_counter()
            try:
                return do_execute(audit=audit)
            finally:
                inner['do_execute_s'] = time.perf_counter() - t

        strategy.do_execute = timed_do_execute  # timing only
        t0 = time.perf_counter()
        solution = strategy.execute(audit=None)
        execute_s = time.perf_counter() - t0
        return {
            'execute_s': execute_s,
            'do_execute_s': inner.get('do_execute_s'),
            'actions': [dict(a['input_parameters'],
                             action_type=a['action_type'])
                        for a in solution.actions],
            'indicators': {ind.name: ind.value
                           for ind in solution.efficacy_indicators},
            'global_efficacy': {ind.name: ind.value
                                for ind in solution.global_efficacy},
            'rounded_sizes': rounded,
            'datasource_calls': metrics.calls if metrics else None,
        }


def _plan(actions):
    migrations = []
    states = []
    for a in actions:
        if a['action_type'] == 'migrate':
            migrations.append((a['resource_id'], a.get('source_node'),
                               a.get('destination_node')))
        elif a['action_type'] == 'change_nova_service_state':
            states.append((a['resource_name'], a['state']))
        else:
            raise RuntimeError('unexpected action %r' % a)
    return migrations, states


def compare(runner, snap, runs=3, strategies=STRATEGIES, keep_actions=False):
    out = {'watcher_version': runner.version, 'runs': runs,
           'strategies': {}}
    for label, name, params in strategies:
        entry = {'strategy': name, 'input_parameters': params}
        try:
            results = [runner.run(name, params, snap) for _ in range(runs)]
        except Exception as exc:  # report, and go on with the others
            entry['error'] = '%s: %s' % (type(exc).__name__, exc)
            out['strategies'][label] = entry
            continue
        first = results[0]
        migrations, states = _plan(first['actions'])
        entry.update(evaluate(snap, migrations))
        disabled = [h for h, s in states if s == 'disabled']
        enabled = [h for h, s in states if s == 'enabled']
        entry.update({
            'execute_s_median': round(
                statistics.median(r['execute_s'] for r in results), 4),
            'do_execute_s_median': round(
                statistics.median(r['do_execute_s'] for r in results), 4),
            'execute_s_all': [round(r['execute_s'], 4) for r in results],
            'same_plan_every_run': all(
                r['actions'] == first['actions'] for r in results),
            'service_disable_actions': len(disabled),
            'service_enable_actions': len(enabled),
            'hosts_left_disabled': len(set(disabled) - set(enabled)),
            'watcher_indicators': first['indicators'],
            'watcher_global_efficacy': first['global_efficacy'],
        })
        if first['rounded_sizes']:
            entry['sizes_rounded_up_for_watcher'] = first['rounded_sizes']
        if first['datasource_calls'] is not None:
            entry['datasource_calls'] = first['datasource_calls']
        if keep_actions:
            entry['actions'] = first['actions']
        out['strategies'][label] = entry
    return out


def _table(result):
    cols = (('hosts in use', 'hosts_in_use_before'),
            ('after', 'hosts_in_use_after'), ('freed', 'hosts_freed'),
            ('migr.', 'migrations'), ('GiB moved', 'gib_moved'),
            ('valid', 'valid'), ('in order', 'valid_in_order'),
            ('execute s', 'execute_s_median'))
    lines = ['%-40s' % 'strategy' + ''.join('%13s' % c for c, _k in cols)]
    for label, e in result['strategies'].items():
        if 'error' in e:
            lines.append('%-40s FAILED: %s' % (label, e['error']))
            continue
        cells = []
        for _c, k in cols:
            v = e.get(k)
            cells.append('%13s' % ('-' if v is None else v))
        lines.append('%-40s' % label + ''.join(cells))
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('snapshot', nargs='?',
                   help='cluster snapshot (JSON, format in --help)')
    p.add_argument('--selftest', action='store_true',
                   help='generate the small deterministic snapshot (20 '
                   'hosts of 80 vCPU/180 GiB filled 30-60%%) and run it')
    p.add_argument('--generate', action='store_true',
                   help='generate a snapshot with the options below')
    g = p.add_argument_group('generator')
    g.add_argument('--hosts', type=argtypes.count(2), default=20)
    g.add_argument('--host-vcpus', type=argtypes.number(0, above=True),
                   default=80)
    g.add_argument('--host-memory-gib',
                   type=argtypes.number(0, above=True), default=180)
    g.add_argument('--host-disk-gb', type=argtypes.number(0, above=True),
                   default=3000)
    g.add_argument('--fill-min', type=argtypes.number(0, 1), default=0.3)
    g.add_argument('--fill-max', type=argtypes.number(0, 1), default=0.6)
    g.add_argument('--max-flavor-vcpus', type=argtypes.count(1),
                   default=32)
    g.add_argument('--seed', type=argtypes.count(0), default=1)
    p.add_argument('--write-snapshot', metavar='PATH',
                   help='write the generated snapshot there')
    p.add_argument('--no-run', action='store_true',
                   help='only generate/write the snapshot')
    p.add_argument('--runs', type=argtypes.count(1), default=3,
                   help='timed runs per strategy (median reported)')
    p.add_argument('--only', action='append', metavar='LABEL',
                   help='run only strategies whose label contains LABEL')
    p.add_argument('--actions', action='store_true',
                   help="include Watcher's actions in the JSON")
    p.add_argument('--json', metavar='PATH', help='write the JSON there')
    p.add_argument('--verbose', action='store_true',
                   help="show Watcher's INFO log")
    args = p.parse_args(argv)

    if args.fill_min > args.fill_max:
        p.error('--fill-min must not be above --fill-max')
    if args.selftest:
        snap = generate_snapshot()
        source = 'selftest (20 x 80 vCPU/180 GiB, 30-60 %, seed 1)'
    elif args.generate:
        snap = generate_snapshot(
            args.hosts, args.host_vcpus, args.host_memory_gib,
            args.host_disk_gb, args.fill_min, args.fill_max,
            args.max_flavor_vcpus, args.seed)
        source = 'generated (%d hosts, seed %d)' % (args.hosts, args.seed)
    elif args.snapshot:
        try:
            with open(args.snapshot) as f:
                snap = json.load(f)
        except (OSError, ValueError) as exc:
            p.error('%s: cannot read: %s' % (args.snapshot, exc))
        source = args.snapshot
    else:
        p.error('give a snapshot, --selftest or --generate')
    try:
        check_snapshot(snap)
    except ValueError as exc:
        p.error('%s: not a snapshot: %s' % (source, exc))
    if args.write_snapshot:
        with open(args.write_snapshot, 'w') as f:
            json.dump(snap, f)
    if args.no_run:
        print('%s: %d hosts, %d instances' % (
            source, len(snap['hosts']), len(snap['instances'])))
        return 0

    strategies = [s for s in STRATEGIES
                  if not args.only or any(o in s[0] for o in args.only)]
    runner = WatcherRunner(verbose=args.verbose)
    result = compare(runner, snap, runs=args.runs, strategies=strategies,
                     keep_actions=args.actions)
    result['snapshot'] = {'source': source, 'hosts': len(snap['hosts']),
                          'instances': len(snap['instances'])}
    result['watcher_import_s'] = round(runner.import_s, 3)
    print('Watcher %s, %s: %d hosts, %d instances, median of %d runs'
          % (runner.version, source, len(snap['hosts']),
             len(snap['instances']), args.runs))
    print(_table(result))
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.json:
        with open(args.json, 'w') as f:
            f.write(text + '\n')
    else:
        print(text)
    failed = any('error' in e for e in result['strategies'].values())
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
