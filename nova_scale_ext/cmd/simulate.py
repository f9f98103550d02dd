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
"""``nova-scale-ext simulate``: replay VMs through Nova's scheduler code.

Replays a workload (the Huawei trace, a CSV of VMs, or a built-in synthetic
workload) on a fleet of hosts under several scheduler policies side by
side (nova.conf files: Nova's defaults, Nova stacking, nova-scale-ext's
recommended configuration, or your own) and prints how many hosts each one
keeps busy, how full they are, how much capacity each strands and, with
--compact, how many hosts each needs to place every VM.
"""

import argparse
import sys
import time

DEFAULT_HOST_SIZE = '80c/180G'

EPILOG = """\
examples:
  nova-scale-ext simulate
  nova-scale-ext simulate --trace huawei-east-1-lt.csv --trace-format \\
      huawei-lt --host-size 80c/180G --compact --json out.json --plot out.png
  nova-scale-ext simulate --trace vms.csv --fleet fleet.yaml \\
      --policy nova-stack --config /etc/nova/nova.conf
  nova-scale-ext simulate --compact --policy scale-ext \\
      --defrag on-rejection --defrag recommended

Exit status: 0 on success, 2 for unusable input (arguments, trace, fleet
file or nova.conf), 1 for other failures.
"""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected a positive integer, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f'expected a positive integer, got {text!r}')
    return value


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected an integer, got {text!r}') from None


def _host_size(text):
    from nova_scale_ext.simulate import fleet
    try:
        return fleet.parse_host_size(text)
    except fleet.FleetError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def default_jobs():
    """The CPUs this process may run on."""
    import os
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


class Progress:
    """A one-line progress bar on stderr, for terminals only."""

    def __init__(self, stream=None, every_s=0.2):
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self._last = 0.0
        self._shown = False

    def __call__(self, label, done, total):
        now = time.monotonic()
        if now - self._last < self.every_s and done < total:
            return
        self._last = now
        frac = done / total if total else 1.0
        filled = int(frac * 30)
        bar = '#' * filled + '.' * (30 - filled)
        self.stream.write(f'\r{label[:40]:40} [{bar}] {100 * frac:5.1f}%')
        self.stream.flush()
        self._shown = True

    def clear(self):
        if self._shown:
            self.stream.write('\r' + ' ' * 80 + '\r')
            self.stream.flush()
            self._shown = False


def _load_workload(args, parser):
    from nova_scale_ext.simulate import workload
    if args.trace is None and args.trace_format is None:
        n = args.synthetic or workload.DEFAULT_SYNTHETIC_VMS
        return workload.synthetic(n, args.seed)
    if args.trace is None:
        parser.error(f'--trace-format {args.trace_format} needs --trace PATH'
                     ' (the trace is not part of this package; see '
                     '"Traces" in the simulator documentation)')
    wl = workload.read(args.trace, args.trace_format)
    if args.resample_days is not None:
        wl = workload.resample_days(wl, args.resample_days)
    return wl


def _load_fleet(args, parser, wl):
    from nova_scale_ext.simulate import compact, fleet
    if args.fleet:
        return fleet.load_fleet(args.fleet)
    size = args.host_size or fleet.parse_host_size(DEFAULT_HOST_SIZE)
    count = args.hosts
    if count is None:
        from nova_scale_ext.simulate import runner
        one = fleet.identical(1, size)
        bound = compact.lower_bound(wl, one, wl.requests(one.offers_disk))
        count = max(runner.DEFAULT_FLEET_FACTOR * bound, 1)
    return fleet.identical(count, size)


def _policies(args):
    from nova_scale_ext.simulate import policy
    names = args.policy or ([] if args.config else list(policy.BUILTIN))
    out = []
    for name in dict.fromkeys(names):
        out.append(policy.builtin(name))
    for path in args.config:
        out.append(policy.from_file(path, {p.name for p in out}))
    return out


def run(args, parser=None):
    from nova_scale_ext.simulate import (
        fleet,
        policy,
        report,
        runner,
        workload,
    )
    parser = parser or args._parser
    if args.synthetic is not None and args.trace is not None:
        parser.error('--synthetic and --trace are exclusive')
    if args.resample_days is not None and (
            args.synthetic is not None
            or (args.trace is None and args.trace_format is None)):
        parser.error('--resample-days needs a trace (--trace PATH)')
    if args.synthetic is not None and args.trace_format is not None:
        parser.error('--synthetic and --trace-format are exclusive')
    if args.fleet and (args.hosts is not None or args.host_size is not None):
        parser.error('--fleet and --hosts/--host-size are exclusive')
    from nova_scale_ext.defrag import simulate as dsim
    try:
        for text in args.defrag:
            dsim.parse_mode(text, runner.RECOMMENDED_SHAPES)
    except dsim.ModeError as exc:
        print(f'nova-scale-ext simulate: error: {exc}', file=sys.stderr)
        return 2
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print(f'nova-scale-ext simulate: error: --plot needs matplotlib: '
                  f'{report.PLOT_HINT}', file=sys.stderr)
            return 2
    try:
        wl = _load_workload(args, parser)
        fl = _load_fleet(args, parser, wl)
        policies = _policies(args)
    except (workload.WorkloadError, fleet.FleetError,
            policy.PolicyError) as exc:
        print(f'nova-scale-ext simulate: error: {exc}', file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f'nova-scale-ext simulate: error: {exc}', file=sys.stderr)
        return 2
    if args.compact and len(fl.classes) != 1:
        parser.error('--compact needs identical hosts: --host-size, or a '
                     'fleet file with a single host class')
    if len(fl) == 0:
        parser.error('the fleet has no hosts')
    show = Progress() if (sys.stdout.isatty() and sys.stderr.isatty()
                          and not args.no_progress) else None
    try:
        result = runner.run(wl, fl, policies, compact_search=args.compact,
                            engine=args.engine, progress=show,
                            defrag_modes=list(dict.fromkeys(args.defrag)),
                            jobs=args.jobs or default_jobs())
    except (policy.PolicyError, dsim.ModeError) as exc:
        if show:
            show.clear()
        print(f'nova-scale-ext simulate: error: {exc}', file=sys.stderr)
        return 2
    except runner.EngineError as exc:
        if show:
            show.clear()
        print(f'nova-scale-ext simulate: error: {exc}', file=sys.stderr)
        return 1
    finally:
        if show:
            show.clear()
    print(report.table(result))
    try:
        if args.json:
            report.write_json(result, args.json)
        if args.plot:
            report.plot(result, args.plot)
    except OSError as exc:
        print(f'nova-scale-ext simulate: error: cannot write '
              f'{exc.filename}: {exc.strerror}', file=sys.stderr)
        return 1
    return 0


def build_parser(parser):
    from nova_scale_ext.simulate import policy, runner, workload
    work = parser.add_argument_group('workload (default: --synthetic '
                                     f'{workload.DEFAULT_SYNTHETIC_VMS})')
    work.add_argument('--trace', metavar='PATH',
                      help='CSV of VMs to replay')
    work.add_argument('--trace-format', choices=workload.FORMATS,
                      help='format of --trace (default: from its '
                           'header): csv, or huawei-lt for the public '
                           'Huawei Cloud trace in arrival/lifetime form')
    work.add_argument('--synthetic', type=_positive_int, metavar='N',
                      help='built-in public-cloud-like workload of N VMs')
    work.add_argument('--seed', type=_int, default=workload.DEFAULT_SEED,
                      metavar='S', help='seed of --synthetic (default: '
                                        '%(default)s)')
    work.add_argument('--resample-days', type=_int, metavar='S',
                      help='replay a day-bootstrapped resample of the '
                           'trace (days drawn with replacement, seed S)')
    hosts = parser.add_argument_group('fleet')
    hosts.add_argument('--hosts', type=_positive_int, metavar='N',
                       help='number of identical hosts (default: '
                            f'{runner.DEFAULT_FLEET_FACTOR} x the lower '
                            'bound)')
    hosts.add_argument('--host-size', type=_host_size, metavar='SIZE',
                       help='VCPUSc/MEMG[/DISK], e.g. 80c/180G or '
                            f'96c/384G/2000 (default: {DEFAULT_HOST_SIZE}; '
                            'without DISK instances boot from volume)')
    hosts.add_argument('--fleet', metavar='FLEET.yaml',
                       help='YAML file of host classes and aggregates')
    pols = parser.add_argument_group('policies (default: all built-in)')
    pols.add_argument('--policy', action='append', default=[],
                      choices=policy.BUILTIN, metavar='NAME',
                      help='built-in policy: ' + ', '.join(policy.BUILTIN)
                           + ' (repeatable)')
    pols.add_argument('--config', action='append', default=[],
                      metavar='NOVA_CONF',
                      help='a nova.conf to compare, named after the file '
                           '(repeatable)')
    pols.add_argument('--engine', choices=runner.ENGINES, default='auto',
                      help='auto (default): the fast engine where it can '
                           'model the policy, else Nova\'s own code')
    pols.add_argument('--defrag', action='append', default=[],
                      metavar='MODE',
                      help='also replay each policy with consolidation by '
                           'live migration, as a row POLICY+MODE '
                           '(repeatable): on-rejection[:M], '
                           'periodic:EVERY[:M], keeper:EVERY:K[:M] (K '
                           'instances of each large_slot_flavors shape, or '
                           'VCPUSxMEMORY_MB=K,...) or recommended')
    pols.add_argument('--jobs', type=_positive_int, metavar='N',
                      help='replay that many policies (and modes) at once, '
                           'each in a process of its own; the results do '
                           'not depend on it (default: the CPUs this '
                           'process may use)')
    out = parser.add_argument_group('output')
    out.add_argument('--compact', action='store_true',
                     help='also search the smallest number of identical '
                          'hosts each policy needs')
    out.add_argument('--json', metavar='OUT.json',
                     help='write the results as JSON')
    out.add_argument('--plot', metavar='OUT.png',
                     help='plot active hosts over time (needs matplotlib)')
    out.add_argument('--no-progress', action='store_true',
                     help='no progress bar, even on a terminal')
    parser.set_defaults(func=run, _parser=parser)
    return parser


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'simulate', help='replay VM traces through Nova\'s scheduler code',
        description=__doc__, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    return build_parser(parser)


def main(argv=None):
    """``python -m nova_scale_ext.simulate``."""
    import warnings
    warnings.filterwarnings('ignore', message=r'(?s).*[Ee]ventlet')
    parser = argparse.ArgumentParser(
        prog='nova-scale-ext simulate', description=__doc__, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    build_parser(parser)
    args = parser.parse_args(argv)
    try:
        return run(args, parser)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
