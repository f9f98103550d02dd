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
"""The standard packing benchmark: how many hosts each policy needs.

Runs the simulator (``nova-scale-ext simulate``) on the standard cases and
prints one table per case, then a summary of ``scale-ext`` against
``nova-stack`` (Nova's RAM/CPU/disk weighers at -1.0, what operators do today
to pack) and the decisions per second:

* the Huawei East-1 trace (``--trace``; by default this repository's
  neighbour ``../shared/traces/huawei-east-1-lt.csv``) on identical
  80c/180G and 96c/384G hosts (hosts needed, ``--compact``);
* day-bootstrapped resamples of that trace at 80c/180G (workloads the
  policies were not tuned on);
* the heterogeneous fleet of ``benchmarks/fleets/heterogeneous.yaml``
  (rejections and active hosts on that fixed fleet);
* CPU overcommitted 4:1 (``benchmarks/fleets/overcommit-4to1.yaml``, hosts
  needed);
* the simulator's built-in synthetic workload (hosts needed at 80c/180G).

Each consolidation mode of ``--defrag`` (by default ``on-rejection`` and
``recommended``) adds a ``scale-ext+MODE`` row to every case, and a second
summary checks the consolidation targets:

* on the Huawei trace at 80c/180G and 96c/384G: ``on-rejection`` needs the
  lower bound itself, ``recommended`` at most one host more;
* on every other hosts-needed case: ``on-rejection`` within one host of
  the lower bound, ``recommended`` closes at least two thirds of the gap
  between Nova stacking and the lower bound;
* on the heterogeneous fleet: ``recommended`` has fewer active hosts at
  peak and on average than ``scale-ext`` alone, and no rejection;
* every mode migrates at most 1% of the trace's VMs.

    python benchmarks/packing.py [--resamples 5] [--json OUT] [--plot OUT]
                                 [--defrag MODE ... | --no-defrag]
                                 [--jobs N]

Without the Huawei trace the cases that need it are skipped (said so).
"""

import argparse
import json
import os
import sys
import time
import warnings

import argtypes

from nova_scale_ext.cmd.simulate import default_jobs

warnings.filterwarnings('ignore')

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
#: Where this repository's benchmarks find the Huawei trace (it is not part
#: of the project: its license forbids redistribution).
TRACE = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'traces',
                                      'huawei-east-1-lt.csv'))
FLEETS = os.path.join(HERE, 'fleets')
DEFAULT_MODES = ('on-rejection', 'recommended')
#: at most this share of a trace's VMs migrated by any mode
MAX_MIGRATED_SHARE = 0.01
#: ``recommended`` closes at least this share of the stacking-bound gap
MIN_GAP_CLOSED = 2.0 / 3.0


def cases(resamples, trace=TRACE):
    """(name, workload loader, fleet loader, compact, policies)."""
    from nova_scale_ext.simulate import fleet, workload

    def identical(size):
        """Twice the lower bound of ``size`` hosts, as the CLI does."""
        def load(wl):
            from nova_scale_ext.simulate import compact, runner
            one = fleet.identical(1, size)
            bound = compact.lower_bound(wl, one, wl.requests(False))
            return fleet.identical(runner.DEFAULT_FLEET_FACTOR * bound, size)
        return load

    def from_file(name):
        return lambda wl: fleet.load_fleet(os.path.join(FLEETS, name))

    all_three = ('nova-default', 'nova-stack', 'scale-ext')
    packing = ('nova-stack', 'scale-ext')

    def huawei():
        return workload.read(trace, 'huawei-lt')

    out = []
    if os.path.exists(trace):
        for size in ('80c/180G', '96c/384G'):
            out.append((f'huawei {size}', huawei, identical(size), True,
                        all_three))
        for seed in range(1, resamples + 1):
            out.append((f'huawei resample {seed} 80c/180G',
                        lambda seed=seed: workload.resample_days(huawei(),
                                                                 seed),
                        identical('80c/180G'), True, packing))
        out.append(('huawei heterogeneous fleet', huawei,
                    from_file('heterogeneous.yaml'), False, all_three))
        out.append(('huawei overcommit 4:1', huawei,
                    from_file('overcommit-4to1.yaml'), True, all_three))
    else:
        print(f'{trace} not found: the Huawei cases are skipped\n')
    out.append(('synthetic default 80c/180G', workload.synthetic,
                identical('80c/180G'), True, all_three))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--resamples', type=argtypes.count(0), default=5,
                        help='day-bootstrapped resamples of the trace '
                             '(default: %(default)s)')
    parser.add_argument('--trace', metavar='PATH', default=TRACE,
                        help='the Huawei East-1 trace in arrival/lifetime '
                             'form (default: %(default)s)')
    parser.add_argument('--only', metavar='TEXT', action='append',
                        help='run only the cases whose name contains TEXT '
                             '(repeatable: any of them)')
    parser.add_argument('--json', metavar='OUT.json',
                        help='write every case as JSON')
    parser.add_argument('--defrag', metavar='MODE', action='append',
                        help='a consolidation mode to add to scale-ext '
                             '(repeatable; default: '
                             f'{" and ".join(DEFAULT_MODES)})')
    parser.add_argument('--no-defrag', action='store_true',
                        help='placement only, no consolidation rows')
    parser.add_argument('--jobs', metavar='N', type=argtypes.count(1),
                        default=default_jobs(),
                        help='policies (and modes) replayed at once, each in '
                             'a process of its own (default: the CPUs this '
                             'process may use, %(default)s)')
    parser.add_argument('--plot', metavar='OUT.png',
                        help='plot active hosts over time for the Huawei '
                             '80c/180G case (needs matplotlib)')
    args = parser.parse_args(argv)
    from nova_scale_ext.cmd import display
    for option, path in (('--json', args.json), ('--plot', args.plot)):
        problem = None if path is None else display.unwritable(path)
        if problem:
            parser.error(f'{option}: {problem}')
    modes = () if args.no_defrag else tuple(args.defrag or DEFAULT_MODES)
    if args.plot:
        from nova_scale_ext.simulate import report as report_mod
        try:
            report_mod.check_plotting()
        except report_mod.PlotUnavailable as exc:
            parser.error(str(exc))

    from nova_scale_ext.defrag import simulate as dsim
    from nova_scale_ext.simulate import policy, report, runner
    for text in modes:
        try:
            dsim.parse_mode(text, runner.RECOMMENDED_SHAPES)
        except dsim.ModeError as exc:
            parser.error(str(exc))

    began = time.perf_counter()
    summary = []
    consolidation = []
    docs = {}
    for name, load_workload, load_fleet, compact, names in cases(
            args.resamples, args.trace):
        if args.only and not any(text in name for text in args.only):
            continue
        wl = load_workload()
        fl = load_fleet(wl)
        policies = [policy.builtin(n) for n in names]
        t0 = time.perf_counter()
        rep = runner.run(wl, fl, policies, compact_search=compact,
                         defrag_modes=modes, defrag_policies=('scale-ext',),
                         jobs=args.jobs)
        seconds = time.perf_counter() - t0
        print(f'== {name} ({seconds:.1f} s)')
        print(report.table(rep))
        print()
        sys.stdout.flush()
        doc = report.as_dict(rep)
        doc['seconds'] = round(seconds, 1)
        docs[name] = doc
        by = {r.name: r for r in rep.results}
        if 'nova-stack' in by and 'scale-ext' in by:
            stack, ours = by['nova-stack'], by['scale-ext']
            summary.append((name, rep.lower_bound, stack, ours, compact))
            consolidation.append((name, rep.lower_bound, stack, ours,
                                  {m: by[f'scale-ext+{m}'] for m in modes},
                                  compact, len(wl)))
        if args.plot and name == 'huawei 80c/180G':
            report.plot(rep, args.plot,
                        title=f'{wl.name} on {fl.describe()}: active '
                              'hosts over time')

    print('== scale-ext against nova-stack')
    head = (f'{"case":34}  {"bound":>5}  {"stack":>5}  {"ours":>5}  '
            f'{"margin":>6}  {"rej stack":>9}  {"rej ours":>8}  '
            f'{"mean act stack":>14}  {"mean act ours":>13}')
    print(head)
    print('-' * len(head))
    worse = 0
    for name, bound, stack, ours, compact in summary:
        if compact:
            s, o = stack.hosts_needed, ours.hosts_needed
            margin = (s - o) if s is not None and o is not None else None
        else:
            s = o = None
            margin = stack.rejections - ours.rejections
        if margin is not None and margin < 0:
            worse += 1
        print(f'{name:34}  {bound:5d}  {_n(s):>5}  {_n(o):>5}  '
              f'{_n(margin, sign=True):>6}  {stack.rejections:9,d}  '
              f'{ours.rejections:8,d}  '
              f'{stack.metrics.mean_active_hosts:14.1f}  '
              f'{ours.metrics.mean_active_hosts:13.1f}')
    print('(margin: hosts saved by scale-ext on hosts-needed cases, '
          'rejections avoided on fixed fleets; negative is worse)')
    print(f'cases where scale-ext is worse than nova-stack: {worse}')
    if modes:
        print()
        print_consolidation(consolidation, modes)
    total = time.perf_counter() - began
    print(f'benchmark time: {total:.0f} s')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as handle:
            json.dump(docs, handle, indent=2)
    return 0


def targets(name, bound, stack, ours, rows, compact, n_vms):
    """``(text, met)`` for each consolidation target of one case."""
    out = []
    for mode, row in rows.items():
        share = row.defrag['migrations'] / n_vms if n_vms else 0.0
        out.append((f'{mode}: {share:.2%} of the VMs migrated '
                    f'(<= {MAX_MIGRATED_SHARE:.0%})',
                    share <= MAX_MIGRATED_SHARE))
    onrej, rec = rows.get('on-rejection'), rows.get('recommended')
    if not compact:
        if rec is not None:
            m, o = rec.metrics, ours.metrics
            out.append((f'recommended: {m.peak_active_hosts} hosts active at '
                        f'peak (without: {o.peak_active_hosts}), '
                        f'{m.mean_active_hosts:.1f} on average (without: '
                        f'{o.mean_active_hosts:.1f}), {rec.rejections} '
                        'rejections',
                        m.peak_active_hosts < o.peak_active_hosts
                        and m.mean_active_hosts < o.mean_active_hosts
                        and rec.rejections == 0))
        return out
    huawei = name.startswith('huawei ') and 'resample' not in name \
        and 'overcommit' not in name
    if onrej is not None:
        slack = 0 if huawei else 1
        h = onrej.hosts_needed
        out.append((f'on-rejection: {_n(h)} hosts (bound {bound}, at most '
                    f'{bound + slack})', h is not None and h <= bound + slack))
    if rec is not None:
        h = rec.hosts_needed
        if huawei:
            out.append((f'recommended: {_n(h)} hosts (at most {bound + 1})',
                        h is not None and h <= bound + 1))
        elif stack.hosts_needed is not None:
            gap = stack.hosts_needed - bound
            closed = (stack.hosts_needed - h) / gap if gap and h else 1.0
            out.append((f'recommended: {_n(h)} hosts, {closed:.0%} of the '
                        f'gap stacking {stack.hosts_needed} - bound {bound} '
                        f'closed (at least {MIN_GAP_CLOSED:.0%})',
                        h is not None and (h <= bound or closed
                                           >= MIN_GAP_CLOSED - 1e-9)))
    return out


def print_consolidation(cases, modes):
    """The consolidation rows of every case, then the targets."""
    print('== consolidation (scale-ext with each mode)')
    cols = ''.join(f'  {m[:22]:>22}' for m in modes)
    head = f'{"case":34}  {"bound":>5}  {"stack":>5}  {"ours":>5}{cols}'
    print(head)
    print('-' * len(head))
    for name, bound, stack, ours, rows, compact, _ in cases:
        cells = ''
        for mode in modes:
            row = rows[mode]
            fig = (_n(row.hosts_needed) if compact
                   else f'{row.metrics.mean_active_hosts:.1f} act')
            d = row.defrag
            cells += (f'  {fig:>5} {d["migrations"]:6,d} '
                      f'{d["moved_gib"]:7,.0f}G')
        s = _n(stack.hosts_needed) if compact else '-'
        o = (_n(ours.hosts_needed) if compact
             else f'{ours.metrics.mean_active_hosts:.1f}')
        print(f'{name:34}  {bound:5d}  {s:>5}  {o:>5}{cells}')
    print('(per mode: hosts needed, or mean active hosts on a fixed fleet; '
          'migrations over the whole trace; GiB of guest memory moved)')
    print()
    print('== consolidation targets')
    met = total = 0
    for case in cases:
        for text, ok in targets(*case):
            total += 1
            met += ok
            print(f'{"met   " if ok else "MISSED"}  {case[0]}: {text}')
    print(f'consolidation targets met: {met} of {total}')


def _n(value, sign=False):
    if value is None:
        return '-'
    return f'{value:+d}' if sign else str(value)


if __name__ == '__main__':
    sys.exit(main())
