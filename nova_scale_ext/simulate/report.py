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
"""The simulator's outputs: a table, a JSON document and a plot."""

import json

PLOT_HINT = 'pip install nova-scale-ext[plot]'

_SHORT = {'VCPU': 'vCPU', 'MEMORY_MB': 'RAM', 'DISK_GB': 'disk'}


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _pct(x):
    return f'{100 * x:.1f}%'


def _int(n):
    return f'{n:,}'


def describe(report):
    """The lines above the table."""
    wl = report.workload
    peak = report.peak_demand
    days = wl.duration / 86400
    peak_txt = f'{peak[0]:,.0f} vCPU, {peak[1] / 1024:,.0f} GiB RAM'
    if report.with_disk:
        peak_txt += f', {peak[2]:,.0f} GiB disk'
    lines = [f'Workload: {wl.name}, {len(wl):,} VMs over {days:.1f} days; '
             f'peak alive {peak_txt}',
             f'Fleet: {report.fleet.describe()}'
             + ('' if report.with_disk else
                ' (no local disk: instances boot from volume)')]
    if report.compact and report.host_size is not None:
        lines.append(f'Lower bound: {report.lower_bound} hosts of '
                     f'{report.host_size.size_text()}; hosts needed: '
                     'smallest fleet of such hosts with no rejection')
    else:
        lines.append(f'Lower bound: {report.lower_bound} hosts')
    return lines


def table(report):
    """The result table as text."""
    resources = [r for r in ('VCPU', 'MEMORY_MB', 'DISK_GB')
                 if any(r in res.metrics.utilisation
                        for res in report.results)]
    head = ['policy', 'engine']
    if report.compact:
        head.append('hosts needed')
    head += ['rejections', 'peak active', 'mean active']
    head += [f'util {_SHORT[r]}' for r in resources]
    head += [f'stranded {_SHORT[r]}' for r in resources]
    with_defrag = any(res.defrag is not None for res in report.results)
    if with_defrag:
        head += ['migrations', 'moved GiB']
    head.append('decisions/s')
    rows = []
    for res in report.results:
        m = res.metrics
        row = [res.name, res.engine]
        if report.compact:
            row.append('-' if res.hosts_needed is None
                       else str(res.hosts_needed))
        row += [_int(res.rejections), _int(m.peak_active_hosts),
                f'{m.mean_active_hosts:.1f}']
        row += [_pct(m.utilisation.get(r, 0.0)) for r in resources]
        row += [_pct(m.stranded.get(r, 0.0)) for r in resources]
        if with_defrag:
            d = res.defrag
            row += (['-', '-'] if d is None else
                    [f'{_int(d["migrations"])} '
                     f'({_pct(d["migrated_share"])})',
                     _int(round(d['moved_gib']))])
        row.append(_int(round(res.decisions_per_s)))
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]

    def fmt(cells):
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.ljust(widths[i]) if i < 2
                       else cell.rjust(widths[i]))
        return '  '.join(out).rstrip()

    lines = describe(report) + ['', fmt(head),
                                fmt(['-' * w for w in widths])]
    lines += [fmt(r) for r in rows]
    notes = []
    for res in report.results:
        if res.engine_note:
            notes.append(f'{res.name}: reference engine used: '
                         f'{res.engine_note}')
        if res.search is not None:
            s = res.search
            text = (f'{res.name}: hosts needed searched in {s.wall_s:.1f} s '
                    f'({len(s.tested)} sizes, {s.replays} replays, '
                    f'{s.decisions:,} decisions)')
            if s.note:
                text += f'; {s.note}'
            notes.append(text)
    for res in report.results:
        iso = res.isolation
        if iso is None:
            continue
        text = (f'{res.name}: {iso["projects"]:,} tenants isolated '
                f'({iso["setting"]}; {iso["peak_vcpu_share"]:.1%} of the '
                'peak vCPUs)')
        if iso['fixed_aggregates_hosts'] is not None:
            text += (f'; Nova\'s way, an aggregate per isolated tenant: '
                     f'{iso["fixed_aggregates_hosts"]} hosts')
        notes.append(text)
    if with_defrag:
        notes.append('POLICY+MODE: the policy with consolidation by live '
                     'migration (--defrag MODE); migrations and GiB of '
                     'guest memory moved over the whole replay'
                     + (' at the hosts-needed size' if report.compact
                        else ''))
    if notes:
        lines.append('')
        lines += notes
    return '\n'.join(lines)


#: Every column :func:`rows` may give (which ones depends on the run).
COLUMNS = ('policy', 'engine', 'hosts needed', 'rejections', 'peak active',
           'mean active', *(f'util {s}' for s in _SHORT.values()),
           *(f'stranded {s}' for s in _SHORT.values()), 'migrations',
           'migrated share', 'moved GiB', 'decisions/s')


def rows(report):
    """The result table as data: column names, and per policy (and mode)
    a row of numbers (shares as fractions; ``None`` where a figure does
    not apply), for cliff's formatters (``-f json|yaml|csv|value|table``).
    """
    resources = [r for r in ('VCPU', 'MEMORY_MB', 'DISK_GB')
                 if any(r in res.metrics.utilisation
                        for res in report.results)]
    with_defrag = any(res.defrag is not None for res in report.results)
    names = ['policy', 'engine']
    names += ['hosts needed'] if report.compact else []
    names += ['rejections', 'peak active', 'mean active']
    names += [f'util {_SHORT[r]}' for r in resources]
    names += [f'stranded {_SHORT[r]}' for r in resources]
    if with_defrag:
        names += ['migrations', 'migrated share', 'moved GiB']
    names.append('decisions/s')
    out = []
    for res in report.results:
        m = res.metrics
        row = [res.name, res.engine]
        row += [res.hosts_needed] if report.compact else []
        row += [res.rejections, m.peak_active_hosts,
                round(m.mean_active_hosts, 2)]
        row += [round(m.utilisation.get(r, 0.0), 4) for r in resources]
        row += [round(m.stranded.get(r, 0.0), 4) for r in resources]
        if with_defrag:
            d = res.defrag or {}
            row += [d.get('migrations'),
                    None if not d else round(d['migrated_share'], 5),
                    None if not d else round(d['moved_gib'], 1)]
        row.append(round(res.decisions_per_s))
        out.append(row)
    return names, out


def as_dict(report):
    """The JSON document (see doc/source/simulator.rst)."""
    wl = report.workload
    policies = {}
    for res in report.results:
        m = res.metrics
        entry = {
            'hosts_needed': res.hosts_needed,
            'rejections': res.rejections,
            'peak_active_hosts': m.peak_active_hosts,
            'mean_active_hosts': round(m.mean_active_hosts, 3),
            'utilisation': {k: round(v, 6) for k, v in
                            m.utilisation.items()},
            'stranded': {k: round(v, 6) for k, v in m.stranded.items()},
            'decisions': res.decisions,
            'decisions_per_second': round(res.decisions_per_s, 1),
            'replay_seconds': round(res.wall_s, 3),
            'engine': res.engine,
            'engine_note': res.engine_note or None,
        }
        if res.search is not None:
            entry['search'] = {
                'sizes_tested': {str(k): v for k, v in
                                 sorted(res.search.tested.items())},
                'replays': res.search.replays,
                'decisions': res.search.decisions,
                'seconds': round(res.search.wall_s, 3),
                'note': res.search.note or None,
            }
        if res.defrag is not None:
            d = res.defrag
            entry['defrag'] = {
                'mode': d['mode'],
                'migrations': d['migrations'],
                'migrated_share': round(d['migrated_share'], 6),
                'moved_gib': round(d['moved_gib'], 3),
            }
        if res.isolation is not None:
            entry['isolation'] = dict(
                res.isolation,
                peak_vcpu_share=round(res.isolation['peak_vcpu_share'], 6))
        policies[res.name] = entry
    return {
        'lower_bound': report.lower_bound,
        'workload': {'name': wl.name, 'vms': len(wl),
                     'duration_s': wl.duration,
                     'peak_demand': {'VCPU': report.peak_demand[0],
                                     'MEMORY_MB': report.peak_demand[1],
                                     'DISK_GB': report.peak_demand[2]}},
        'fleet': {'description': report.fleet.describe(),
                  'hosts': len(report.fleet),
                  'local_disk': report.with_disk},
        'host_size': (report.host_size.size_text()
                      if report.host_size is not None else None),
        'policies': policies,
    }


def write_json(report, path):
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(as_dict(report), handle, indent=2, sort_keys=False)
        handle.write('\n')


def check_plotting():
    """Raise :class:`PlotUnavailable` unless :func:`plot` can run: call it
    before a long replay whose result is to be plotted."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable(f'--plot needs matplotlib: {PLOT_HINT}') \
            from None


def plot(report, path, title=None):
    """Active hosts over time, one line per policy, in the format of
    ``path``'s extension (.png, .svg or .pdf); :class:`PlotUnavailable`
    without matplotlib."""
    check_plotting()
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    fig, ax = pyplot.subplots(figsize=(10, 4.5), dpi=110)
    t0 = None
    for res in report.results:
        times, active = res.metrics.active_series
        if not times:
            continue
        t0 = times[0] if t0 is None else min(t0, times[0])
    t0 = t0 or 0.0
    for res in report.results:
        times, active = res.metrics.active_series
        if not times:
            continue
        days = [(t - t0) / 86400 for t in times]
        ax.step(days, active, where='post', linewidth=0.9, label=res.name)
    ax.axhline(report.lower_bound, color='black', linestyle=':',
               linewidth=0.9, label=f'lower bound ({report.lower_bound})')
    ax.set_xlabel('days')
    ax.set_ylabel('active hosts')
    ax.set_title(title or f'{report.workload.name} on '
                          f'{report.fleet.describe()}', fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc='best', fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    pyplot.close(fig)
