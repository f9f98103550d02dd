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
"""Our planner and Watcher's strategies on a trace at its fullest moments.

Replays a trace through the simulator with the ``scale-ext`` policy on
identical hosts (as many as ``simulate --compact`` finds it needs, unless
``--hosts``), takes the cluster at the ``--moments`` moments with the most
allocated vCPU (``--by memory``: memory), ``--gap-days`` apart, and
writes each as the snapshot JSON of ``watcher_compare.py`` into
``--out-dir`` (never into the source tree: the trace's data may not be
redistributed). Then, on each snapshot:

* our planner, goal ``free-hosts``, with no budget and with each Watcher
  strategy's migration count as ``max_migrations``;
* Watcher's ``node_resource_consolidation`` (``host_choice=specify``) and
  ``vm_workload_consolidation``, run by ``watcher_compare.py`` in Watcher's
  own virtualenv (``--watcher-python``);

and prints one table per snapshot. Every plan is measured by
``watcher_compare.evaluate`` (hosts freed, migrations, GiB moved, valid in
order: the migrations applied one at a time in the plan's order, no host
ever over capacity); planning time is the median wall time of ``--runs``
runs (ours: ``defrag.plan`` from the snapshot objects, conversion to
arrays included; Watcher's: the strategy's ``execute()``)::

    .venv/bin/python benchmarks/watcher_snapshots.py \\
        --trace ../shared/traces/huawei-east-1-lt.csv \\
        --host-size 80c/180G --host-size 96c/384G \\
        --out-dir /var/cache/nova-scale-ext-bench/snapshots
    .venv/bin/python benchmarks/watcher_snapshots.py SNAPSHOT.json ...

The trace has no disk (instances boot from volume): instances get a 0 GB
root disk and hosts a nominal ``--host-disk-gb`` so that Watcher's disk
ratios are defined; neither side is limited by it.
"""

import argparse
import importlib.util
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
import warnings

import argtypes
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
WATCHER_PYTHON = '/var/cache/nova-scale-ext-bench/watcher/bin/python'
DAY_S = 86400.0
NRC = 'node_resource_consolidation[specify]'
VWC = 'vm_workload_consolidation[flavor-load]'


def _watcher_compare():
    """``benchmarks/watcher_compare.py`` as a module (its measuring code
    imports neither Watcher nor Nova)."""
    spec = importlib.util.spec_from_file_location(
        'watcher_compare', HERE / 'watcher_compare.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wc = _watcher_compare()


# ------------------------------------------------------------ the snapshots

def fullest_moments(workload, requests, column, count, gap_s):
    """Event positions of the ``count`` arrivals after which the alive
    demand of ``column`` is highest, at least ``gap_s`` apart (highest
    first)."""
    order, times = workload.events
    vm = np.where(order >= 0, order, ~order)
    sign = np.where(order >= 0, 1.0, -1.0)
    alive = np.cumsum(requests[vm, column] * sign)
    score = np.where(order >= 0, alive, -np.inf)
    picked = []
    for _ in range(count):
        pos = int(np.argmax(score))
        if not np.isfinite(score[pos]):
            break
        picked.append(pos)
        score[np.abs(times - times[pos]) < gap_s] = -np.inf
    return picked, alive


def to_snapshot(ledger, workload, requests, host_disk_gb):
    """The ledger as ``watcher_compare.py``'s snapshot JSON."""
    names = ledger.fleet.host_names
    cap = ledger.capacity
    hosts = [{'name': names[h], 'vcpus': float(cap[h, 0]),
              'memory_mb': float(cap[h, 1]),
              'disk_gb': float(cap[h, 2]) or float(host_disk_gb)}
             for h in range(len(ledger))]
    instances = [{'id': 'vm-%s' % workload.ids[v], 'host': names[h],
                  'vcpus': float(requests[v, 0]),
                  'memory_mb': float(requests[v, 1]),
                  'disk_gb': float(requests[v, 2])}
                 for v, h in enumerate(ledger.host_of.tolist()) if h >= 0]
    return {'hosts': hosts, 'instances': instances}


def take_snapshots(args, host_size):
    """Replay the trace on hosts of ``host_size`` and write the
    snapshots; their paths."""
    warnings.filterwarnings('ignore')
    from nova_scale_ext.simulate import compact, fleet, model, policy, runner
    from nova_scale_ext.simulate import workload as wl_mod
    from nova_scale_ext.simulate.replay import replay

    wl = wl_mod.read(args.trace, wl_mod.detect_format(args.trace))
    base = fleet.identical(1, host_size)
    requests = wl.requests(base.offers_disk)
    shapes, shape_of = model.shapes_of(requests)
    column = {'vcpus': 0, 'memory': 1}[args.by]
    moments, alive = fullest_moments(wl, requests, column, args.moments,
                                     args.gap_days * DAY_S)
    _, times = wl.events
    os.makedirs(args.out_dir, exist_ok=True)
    stem = pathlib.Path(args.trace).stem
    size = host_size.replace('/', '')
    paths = []
    with policy.loaded(policy.builtin(args.policy)) as loaded:
        eng, _ = runner.make_engine(loaded, wl, shapes, shape_of,
                                    base.offers_disk)
        n_hosts = args.hosts
        if n_hosts is None:
            began = time.perf_counter()
            bound = compact.lower_bound(wl, base, requests)
            found = runner.search_hosts_needed(eng, None, wl, requests,
                                               base, bound)
            if found.hosts_needed is None:
                raise SystemExit('hosts-needed search failed: %s'
                                 % found.note)
            n_hosts = found.hosts_needed
            print('%s: %s needs %d x %s (lower bound %d), found in %.0f s'
                  % (wl.name, args.policy, n_hosts, host_size, bound,
                     time.perf_counter() - began), flush=True)
        ledger = model.Ledger(base.resized(n_hosts), len(wl))
        chooser = eng.chooser(ledger)
        start = 0
        rejections = 0
        for pos in sorted(moments):
            seen = {}

            def stop(at, vm, host, _pos=pos, _seen=seen):
                if at == _pos:
                    _seen['vm'], _seen['host'] = vm, host
                    return True
                return False

            out = replay(wl, ledger, chooser, requests, start=start,
                         observer=stop)
            rejections += out.rejections
            vm, host = seen['vm'], seen['host']
            if host >= 0:
                ledger.place(vm, host, requests[vm])
                chooser.changed(host)
            else:
                rejections += 1
            start = pos + 1
            snap = to_snapshot(ledger, wl, requests, args.host_disk_gb)
            day = float(times[pos]) / DAY_S
            held = requests[ledger.host_of >= 0].sum(axis=0)
            snap['source'] = {
                'trace': os.path.basename(args.trace),
                'policy': args.policy, 'host_size': host_size,
                'hosts': n_hosts, 'day': round(day, 3),
                'event': pos, 'by': args.by,
                'alive_demand': float(alive[pos]),
                'allocated_vcpus': float(held[0]),
                'allocated_gib': float(held[1]) / 1024.0,
                'rejections_so_far': rejections,
                'hosts_in_use': ledger.active_hosts(),
            }
            path = os.path.join(args.out_dir, '%s-%s-%dh-day%05.2f.json'
                                % (stem, size, n_hosts, day))
            with open(path, 'w') as f:
                json.dump(snap, f)
            print('wrote %s: day %.2f, %d instances, %.0f vCPU, %.0f GiB '
                  'allocated, %d of %d hosts in use, %d rejection(s) so far'
                  % (path, day, len(snap['instances']), held[0],
                     held[1] / 1024.0, ledger.active_hosts(), n_hosts,
                     rejections), flush=True)
            paths.append(path)
    return paths


# ---------------------------------------------------------- our planner

def defrag_snapshot(snap):
    """The JSON snapshot as the planner's :class:`~defrag.Snapshot`."""
    from nova_scale_ext import defrag

    def amounts(item):
        return {'VCPU': float(item['vcpus']),
                'MEMORY_MB': float(item['memory_mb']),
                'DISK_GB': float(item['disk_gb'])}

    return defrag.Snapshot(
        tuple(defrag.Host(h['name'], amounts(h)) for h in snap['hosts']),
        tuple(defrag.Instance(i['id'], i['host'], amounts(i))
              for i in snap['instances']))


def ours(snap, max_migrations, runs):
    """Our planner's free-hosts plan, measured like Watcher's."""
    from nova_scale_ext import defrag
    dsnap = defrag_snapshot(snap)
    goal = defrag.Goal.free_hosts()
    budget = defrag.Budget(max_migrations=max_migrations)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        plan = defrag.plan(dsnap, goal, budget)
        times.append(time.perf_counter() - began)
    out = wc.evaluate(snap, [(m.instance, m.source, m.target)
                             for m in plan.moves])
    verdict = defrag.verify(dsnap, plan)
    out.update({'execute_s_median': round(statistics.median(times), 4),
                'execute_s_all': [round(t, 4) for t in times],
                'max_migrations': max_migrations, 'steps': plan.steps,
                'reached': plan.reached, 'why': plan.why,
                'verify': str(verdict), 'verify_ok': verdict.ok})
    return out


# ---------------------------------------------------------- Watcher's

def watcher(path, args):
    """``watcher_compare.py``'s JSON for ``path`` (run in Watcher's
    virtualenv), or ``{'error': ...}``."""
    out = os.path.join(args.out_dir, pathlib.Path(path).stem
                       + '.watcher.json')
    cmd = [args.watcher_python, str(HERE / 'watcher_compare.py'), path,
           '--runs', str(args.runs), '--json', out,
           '--only', 'specify', '--only', 'vm_workload']
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode not in (0, 1) or not os.path.exists(out):
        return {'error': 'watcher_compare.py failed (%d): %s'
                % (done.returncode, done.stderr.strip()[-2000:])}
    with open(out) as f:
        return json.load(f)


# ---------------------------------------------------------- the table

COLUMNS = (('in use', 'hosts_in_use_before', 7),
           ('freed', 'hosts_freed', 6), ('migr.', 'migrations', 6),
           ('GiB moved', 'gib_moved', 10), ('plan s', 'execute_s_median', 8),
           ('valid in order', 'valid_in_order', 15))


def _cell(key, value, width):
    if value is None:
        text = '-'
    elif isinstance(value, bool):
        text = 'yes' if value else 'NO'
    elif key == 'gib_moved':
        text = '%.0f' % value
    elif isinstance(value, float):
        text = '%.3f' % value
    else:
        text = str(value)
    return text.rjust(width)


def table(rows):
    width = max(len(label) for label, _ in rows) + 2
    lines = ['case'.ljust(width) + ''.join(c.rjust(w)
                                           for c, _k, w in COLUMNS)]
    for label, entry in rows:
        if 'error' in entry:
            lines.append(label.ljust(width) + 'FAILED: ' + entry['error'])
            continue
        lines.append(label.ljust(width) + ''.join(
            _cell(k, entry.get(k), w) for _c, k, w in COLUMNS))
    return '\n'.join(lines)


def compare(path, args):
    with open(path) as f:
        snap = json.load(f)
    try:
        wc.check_snapshot(snap)
    except ValueError as exc:
        raise ValueError(f'{path}: not a snapshot: {exc}') from None
    rows = []
    result = {'snapshot': path, 'source': snap.get('source'), 'rows': rows}
    nrc = vwc = None
    if not args.no_watcher:
        got = watcher(path, args)
        result['watcher_version'] = got.get('watcher_version')
        found = got.get('strategies', {})
        nrc = found.get(NRC, {'error': got.get('error', 'not run')})
        vwc = found.get(VWC, {'error': got.get('error', 'not run')})
    rows.append(('ours, free-hosts, no budget', ours(snap, None, args.runs)))
    # held to each Watcher strategy's own number of migrations
    budgets = [got['migrations'] for got in (nrc, vwc)
               if got is not None and 'error' not in got
               and got['migrations']]
    budgets += list(args.budget or ())
    for m in dict.fromkeys(budgets):
        rows.append(('ours, free-hosts, <= %d migrations' % m,
                     ours(snap, m, args.runs)))
    if nrc is not None:
        rows.append(('Watcher NRC (host_choice=specify)', nrc))
        rows.append(('Watcher VWC (flavor load)', vwc))
    src = snap.get('source') or {}
    head = os.path.basename(path)
    if src:
        head = ('%s, day %.2f: %d x %s, %d instances, %.0f vCPU / %.0f GiB '
                'allocated' % (src['trace'], src['day'], src['hosts'],
                               src['host_size'], len(snap['instances']),
                               src['allocated_vcpus'],
                               src['allocated_gib']))
    else:
        head += ': %d hosts, %d instances' % (len(snap['hosts']),
                                              len(snap['instances']))
    print('\n' + head)
    print(table(rows), flush=True)
    return result


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('snapshot', nargs='*',
                   help='compare on these snapshots (JSON of '
                   'watcher_compare.py) instead of taking them from --trace')
    p.add_argument('--trace', metavar='PATH')
    p.add_argument('--host-size', action='append', metavar='SIZE',
                   help='host size, e.g. 80c/180G (the default) or '
                   '96c/384G; repeatable')
    p.add_argument('--hosts', type=argtypes.count(2),
                   help='fleet size (default: the hosts-needed search)')
    p.add_argument('--policy', default='scale-ext')
    p.add_argument('--moments', type=argtypes.count(1), default=3)
    p.add_argument('--by', choices=('vcpus', 'memory'), default='vcpus',
                   help='allocated resource that ranks the moments')
    p.add_argument('--gap-days', type=argtypes.number(0.0, 3650.0),
                   default=1.0,
                   help='least time between two moments (days)')
    p.add_argument('--host-disk-gb', type=argtypes.number(0.0, above=True),
                   default=1000.0,
                   help='nominal host disk when the fleet has none')
    p.add_argument('--out-dir', default='/tmp/nova-scale-ext-snapshots',
                   help='where snapshots and results go (not the source '
                   'tree)')
    p.add_argument('--snapshots-only', action='store_true')
    p.add_argument('--no-watcher', action='store_true',
                   help='run only our planner')
    p.add_argument('--watcher-python', default=WATCHER_PYTHON)
    p.add_argument('--budget', type=argtypes.count(0), action='append',
                   metavar='M',
                   help='also plan ours with at most M migrations')
    p.add_argument('--runs', type=argtypes.count(1), default=5,
                   help='timed runs per plan (median reported)')
    p.add_argument('--json', metavar='PATH', help='write all results there')
    args = p.parse_args(argv)
    if bool(args.trace) == bool(args.snapshot):
        p.error('give --trace or snapshot files (one of them)')
    sizes = args.host_size or ['80c/180G']
    if args.hosts is not None and len(sizes) > 1:
        p.error('--hosts needs a single --host-size')
    try:
        paths = ([path for size in sizes
                  for path in take_snapshots(args, size)]
                 if args.trace else args.snapshot)
    except (OSError, ValueError) as exc:    # WorkloadError is a ValueError
        p.error(str(exc))
    if args.snapshots_only:
        return 0
    os.makedirs(args.out_dir, exist_ok=True)
    try:
        results = [compare(path, args) for path in paths]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f'watcher_snapshots.py: {exc}', file=sys.stderr)
        return 2
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1, sort_keys=True)
    bad = any('error' in e or e.get('valid_in_order') is False
              for r in results for _label, e in r['rows'])
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
