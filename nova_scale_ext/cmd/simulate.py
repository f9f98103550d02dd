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
import math
import os
import sys
import time

from nova_scale_ext.cmd import display

DEFAULT_HOST_SIZE = '80c/180G'
#: What --plot can write (matplotlib picks the format from the extension).
PLOT_FORMATS = ('.png', '.svg', '.pdf')
_PLOT_FORMATS_TEXT = '.png, .svg or .pdf'

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
file, nova.conf, or an output path that cannot be written), 1 for other
failures.
"""


def _quoted(text):
    from nova_scale_ext.simulate import workload
    return workload.quoted(text)


def _positive_int(text, maximum=None):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected a positive integer, got {_quoted(text)}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f'expected a positive integer, got {_quoted(text)}')
    if maximum is not None and value > maximum:
        raise argparse.ArgumentTypeError(
            f'expected at most {maximum:,}, got {_quoted(text)}')
    return value


def _host_count(text):
    from nova_scale_ext.simulate import fleet
    return _positive_int(text, fleet.MAX_HOSTS)


def _vm_count(text):
    from nova_scale_ext.simulate import workload
    return _positive_int(text, workload.MAX_SYNTHETIC_VMS)


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f'expected a non-negative integer, got {_quoted(text)}')
    return value


def _path(text):
    if not text:
        raise argparse.ArgumentTypeError('expected a path, got an empty '
                                         'string')
    return text


def _share(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise argparse.ArgumentTypeError(
            f'expected a share above 0 and at most 1, got {_quoted(text)}')
    return value


def _plot_path(text):
    _path(text)
    if os.path.splitext(text)[1].lower() not in PLOT_FORMATS:
        raise argparse.ArgumentTypeError(
            f'expected a file name ending in {_PLOT_FORMATS_TEXT} '
            f'(the format to write), got {_quoted(text)}')
    return text


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


class ProgressLine:
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
        seed = workload.DEFAULT_SEED if args.seed is None else args.seed
        return workload.synthetic(n, seed)
    if args.trace is None:
        parser.error(f'--trace-format {args.trace_format} needs --trace PATH'
                     ' (the trace is not part of this package; see '
                     '"Traces" in the simulator documentation)')
    wl = workload.read(args.trace, args.trace_format)
    if args.resample_days is not None:
        wl = workload.resample_days(wl, args.resample_days)
    return wl


def _load_fleet(args, parser, wl):
    """The fleet to replay on; a VM that fits no host of it is an error
    (:func:`.compact.check_fits`), and so is a fleet the search or the
    default size would take beyond :data:`.fleet.MAX_HOSTS` hosts."""
    from nova_scale_ext.simulate import compact, fleet, runner
    if args.fleet:
        fl = fleet.load_fleet(args.fleet)
    else:
        size = args.host_size or fleet.parse_host_size(DEFAULT_HOST_SIZE)
        fl = fleet.identical(args.hosts or 1, size)
    requests = wl.requests(fl.offers_disk)
    default_size = not args.fleet and args.hosts is None
    if not (args.compact or default_size):
        compact.check_fits(wl, fl, requests)
        return fl
    bound = compact.lower_bound(wl, fl, requests)
    hosts = f'{bound:,} hosts'
    if len(fl.classes) == 1:
        hosts += f' of {fl.classes[0].size_text()}'
    if not default_size:
        if bound > fleet.MAX_HOSTS:
            raise fleet.FleetError(
                f'the lower bound is {hosts}, more than the '
                f'{fleet.MAX_HOSTS:,} hosts the simulator replays')
        return fl
    count = max(runner.DEFAULT_FLEET_FACTOR * bound, 1)
    if count > fleet.MAX_HOSTS:
        raise fleet.FleetError(
            f'the default fleet, {runner.DEFAULT_FLEET_FACTOR} x the lower '
            f'bound of {hosts}, is more than the {fleet.MAX_HOSTS:,} hosts '
            'the simulator replays: give --hosts N or a larger --host-size')
    return fleet.identical(count, size)


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _check_outputs(args):
    """Why an output path (--json, --plot) cannot be written, or None."""
    outputs = [(opt, path) for opt, path in (('--json', args.json),
                                             ('--plot', args.plot))
               if path is not None]
    inputs = [('--trace', args.trace), ('--fleet', args.fleet)]
    inputs += [('--config', path) for path in args.config]
    for opt, path in outputs:
        for other, source in inputs + outputs:
            if source is None or other == opt:
                continue
            if _same_file(path, source):
                return (f'{opt} {path} is also the {other} file; it would '
                        'be overwritten')
        problem = display.unwritable(path)
        if problem:
            return problem
    return None


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
    from nova_scale_ext.simulate import isolation as sim_isolation
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
    if args.seed is not None and (args.trace is not None
                                  or args.trace_format is not None):
        parser.error('--seed is the seed of the synthetic workload; a '
                     'trace is replayed as it is (--resample-days S '
                     'resamples it with seed S)')
    if args.columns and args.formatter == display.TEXT:
        parser.error('-c/--column needs -f FORMAT (json, yaml, csv, value '
                     'or table)')
    known = {c.lower() for c in report.COLUMNS}
    unknown = [c for c in args.columns
               if c.lower().replace('_', ' ') not in known]
    if unknown:
        parser.error(f'-c {unknown[0]}: no such column; expected one of '
                     f'{", ".join(report.COLUMNS)}')
    if args.isolate is not None and args.isolate_projects:
        parser.error('--isolate and --isolate-projects are exclusive')
    isolating = args.isolate is not None or args.isolate_projects
    if isolating and args.defrag:
        parser.error('--isolate with --defrag is not modelled: the '
                     'consolidation modes do not keep tenants apart yet')
    problem = _check_outputs(args)
    if problem:
        print(f'nova-scale-ext simulate: error: {problem}', file=sys.stderr)
        return 2
    from nova_scale_ext.defrag import simulate as dsim
    try:
        for text in args.defrag:
            dsim.parse_mode(text, runner.RECOMMENDED_SHAPES)
    except dsim.ModeError as exc:
        print(f'nova-scale-ext simulate: error: {exc}', file=sys.stderr)
        return 2
    if args.plot:
        try:
            report.check_plotting()
        except report.PlotUnavailable as exc:
            print(f'nova-scale-ext simulate: error: {exc}', file=sys.stderr)
            return 2
    try:
        wl = _load_workload(args, parser)
        fl = _load_fleet(args, parser, wl)
        policies = _policies(args)
        isolation = None
        if args.isolate is not None:
            isolation = sim_isolation.by_share(wl, args.isolate)
        elif args.isolate_projects:
            isolation = sim_isolation.from_file(wl, args.isolate_projects)
    except (workload.WorkloadError, fleet.FleetError,
            policy.PolicyError, sim_isolation.IsolationError) as exc:
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
    show = ProgressLine() if (sys.stdout.isatty() and sys.stderr.isatty()
                          and not args.no_progress) else None
    try:
        result = runner.run(wl, fl, policies, compact_search=args.compact,
                            engine=args.engine, progress=show,
                            defrag_modes=list(dict.fromkeys(args.defrag)),
                            jobs=args.jobs or default_jobs(),
                            isolation=isolation)
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
    if args.formatter == display.TEXT:
        print(report.table(result))
    else:
        try:
            display.emit(args, *report.rows(result))
        except display.CommandError as exc:
            print(f'nova-scale-ext simulate: error: {exc}', file=sys.stderr)
            return 2
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
    from nova_scale_ext.simulate import fleet, policy, runner, workload
    work = parser.add_argument_group('workload (default: --synthetic '
                                     f'{workload.DEFAULT_SYNTHETIC_VMS})')
    work.add_argument('--trace', metavar='PATH', type=_path,
                      help='CSV of VMs to replay (at most '
                           f'{workload.MAX_VCPUS:,} vCPUs, 4 PiB of memory '
                           'and 1 EiB of disk per VM, times up to '
                           f'{workload.MAX_TIME_S:,} s)')
    work.add_argument('--trace-format', choices=workload.FORMATS,
                      help='format of --trace (default: from its '
                           'header): csv, or huawei-lt for the public '
                           'Huawei Cloud trace in arrival/lifetime form')
    work.add_argument('--synthetic', type=_vm_count, metavar='N',
                      help='built-in public-cloud-like workload of N VMs '
                           f'(at most {workload.MAX_SYNTHETIC_VMS:,})')
    work.add_argument('--seed', type=_seed, metavar='S',
                      help='seed of the synthetic workload (default: '
                           f'{workload.DEFAULT_SEED})')
    work.add_argument('--resample-days', type=_seed, metavar='S',
                      help='replay a day-bootstrapped resample of the '
                           'trace (days drawn with replacement, seed S; '
                           'the trace may span at most '
                           f'{workload.MAX_RESAMPLE_DAYS:,} days)')
    hosts = parser.add_argument_group('fleet')
    hosts.add_argument('--hosts', type=_host_count, metavar='N',
                       help='number of identical hosts (default: '
                            f'{runner.DEFAULT_FLEET_FACTOR} x the lower '
                            f'bound; at most {fleet.MAX_HOSTS:,})')
    hosts.add_argument('--host-size', type=_host_size, metavar='SIZE',
                       help='VCPUSc/MEMG[/DISK], e.g. 80c/180G or '
                            f'96c/384G/2000 (default: {DEFAULT_HOST_SIZE}; '
                            'without DISK instances boot from volume)')
    hosts.add_argument('--fleet', metavar='FLEET.yaml', type=_path,
                       help='YAML file of host classes and aggregates (at '
                            f'most {fleet.MAX_HOSTS:,} hosts; no YAML '
                            'anchors or aliases)')
    pols = parser.add_argument_group('policies (default: all built-in)')
    pols.add_argument('--policy', action='append', default=[],
                      choices=policy.BUILTIN, metavar='NAME',
                      help='built-in policy: ' + ', '.join(policy.BUILTIN)
                           + ' (repeatable)')
    pols.add_argument('--config', action='append', default=[],
                      metavar='NOVA_CONF', type=_path,
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
    iso = parser.add_argument_group('tenant isolation')
    iso.add_argument('--isolate', type=_share, metavar='SHARE',
                     help='also replay each policy with the largest tenants '
                          'that together hold at most SHARE (0 to 1) of the '
                          'peak vCPUs isolated, as a row POLICY+isolated; '
                          'with --compact, also the hosts an aggregate per '
                          'isolated tenant needs')
    iso.add_argument('--isolate-projects', metavar='FILE', type=_path,
                     help='as --isolate, the projects listed in FILE (one '
                          'project ID a line)')
    out = parser.add_argument_group('output')
    out.add_argument('--compact', action='store_true',
                     help='also search the smallest number of identical '
                          'hosts each policy needs')
    out.add_argument('--json', metavar='OUT.json', type=_path,
                     help='write the results as JSON')
    out.add_argument('--plot', metavar='OUT.png', type=_plot_path,
                     help='plot active hosts over time to a '
                          f'{_PLOT_FORMATS_TEXT} file (needs matplotlib)')
    out.add_argument('--no-progress', action='store_true',
                     help='no progress bar, even on a terminal')
    display.add_format_options(parser)
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
