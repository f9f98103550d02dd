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
"""``nova-scale-ext simulate`` as a user runs it."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from nova_scale_ext.cmd import main as cli
from nova_scale_ext.simulate import policy as policy_mod

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _run(*args):
    return subprocess.run(
        [sys.executable, '-m', 'nova_scale_ext.cmd.main', 'simulate',
         '--no-progress', *args],
        capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_json_and_plot(tmp_path):
    out_json = tmp_path / 'out.json'
    out_png = tmp_path / 'out.png'
    rc = cli.main(['simulate', '--synthetic', '600', '--seed', '3',
                   '--host-size', '48c/192G', '--compact', '--no-progress',
                   '--json', str(out_json), '--plot', str(out_png)])
    assert rc == 0
    doc = json.loads(out_json.read_text())
    assert set(doc['policies']) == set(policy_mod.BUILTIN)
    assert isinstance(doc['lower_bound'], int) and doc['lower_bound'] > 0
    for entry in doc['policies'].values():
        assert entry['hosts_needed'] >= doc['lower_bound']
        for key in ('rejections', 'peak_active_hosts', 'mean_active_hosts',
                    'utilisation', 'stranded'):
            assert key in entry
    assert out_png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_plot_without_matplotlib_is_an_error_before_any_replay(tmp_path):
    """Without matplotlib, ``--plot`` (the command's and the benchmark's)
    is refused up front with the way to install it, no traceback."""
    blocker = tmp_path / 'blocker' / 'matplotlib'
    blocker.mkdir(parents=True)
    (blocker / '__init__.py').write_text(
        "raise ImportError('No module named matplotlib')\n")
    env = dict(os.environ, PYTHONPATH=str(blocker.parent))
    out_png = tmp_path / 'out.png'
    for argv in (
            [sys.executable, '-m', 'nova_scale_ext.cmd.main', 'simulate',
             '--no-progress', '--synthetic', '100', '--plot', str(out_png)],
            [sys.executable, os.path.join(ROOT, 'benchmarks', 'packing.py'),
             '--only', 'nothing', '--plot', str(out_png)]):
        res = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT,
                             env=env, timeout=300)
        assert res.returncode == 2, (argv, res.stderr)
        assert '--plot needs matplotlib' in res.stderr
        assert 'pip install nova-scale-ext[plot]' in res.stderr
        assert 'Traceback' not in res.stderr
        assert not out_png.exists()


def test_table_on_stdout_and_config_policy(tmp_path):
    conf = tmp_path / 'mine.conf'
    conf.write_text('[filter_scheduler]\nram_weight_multiplier = -2.0\n')
    res = _run('--synthetic', '400', '--hosts', '20', '--policy',
               'nova-stack', '--config', str(conf))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    header = next(line for line in lines if line.startswith('policy'))
    assert 'rejections' in header and 'peak active' in header
    names = [line.split()[0] for line in lines
             if line.split() and line.split()[0] in ('nova-stack', 'mine')]
    assert names == ['nova-stack', 'mine']
    assert 'Traceback' not in res.stderr


@pytest.mark.parametrize('args,needle', [
    (('--synthetic', '0'), 'positive integer'),
    (('--host-size', '80x'), 'invalid host size'),
    (('--policy', 'nova-magic'), 'invalid choice'),
    (('--synthetic', '10', '--trace', 'x.csv'), 'exclusive'),
    (('--trace', 'does-not-exist.csv'), 'does-not-exist.csv'),
    (('--fleet', 'does-not-exist.yaml'), 'does-not-exist.yaml'),
    (('--config', 'does-not-exist.conf'), 'does-not-exist.conf'),
    (('--trace-format', 'csv'), 'needs --trace'),
    # The Huawei trace is a documented input, never a path the package
    # guesses.
    (('--trace-format', 'huawei-lt'), 'needs --trace PATH'),
    (('--hosts', '1000000000000'), 'at most 1,000,000'),
    (('--synthetic', '100000000000'), 'at most 10,000,000'),
    (('--seed', '-1'), 'expected a non-negative integer'),
    (('--resample-days', '-1'), 'expected a non-negative integer'),
    (('--json', ''), 'argument --json: expected a path'),
    (('--plot', ''), 'argument --plot: expected a path'),
    (('--fleet', ''), 'argument --fleet: expected a path'),
    (('--trace', ''), 'argument --trace: expected a path'),
    (('--config', ''), 'argument --config: expected a path'),
    (('--plot', 'out.jpgg'), 'ending in .png, .svg or .pdf'),
    (('--plot', 'out'), 'ending in .png, .svg or .pdf'),
    (('--trace', 'x.csv', '--seed', '3'), '--seed is the seed of the '
                                          'synthetic workload'),
    (('--isolate', 'nan'), 'expected a share above 0 and at most 1'),
    (('--isolate', '0'), 'expected a share above 0 and at most 1'),
    (('--isolate', '1.5'), 'expected a share above 0 and at most 1'),
    (('--isolate', '0.1', '--isolate-projects', 'p.txt'), 'exclusive'),
    (('--isolate', '0.1', '--defrag', 'recommended'), 'not modelled'),
    (('--isolate-projects', 'does-not-exist.txt'), 'does-not-exist.txt'),
])
def test_bad_arguments_exit_2_with_a_message(args, needle):
    res = _run(*args)
    assert res.returncode == 2
    assert needle in res.stderr
    assert 'Traceback' not in res.stderr


def test_a_nova_conf_nova_scheduler_would_refuse(tmp_path):
    conf = tmp_path / 'broken.conf'
    conf.write_text('[filter_scheduler]\nenabled_filters = NoSuchFilter\n')
    res = _run('--synthetic', '50', '--config', str(conf))
    assert res.returncode == 2
    assert 'NoSuchFilter' in res.stderr
    assert 'broken.conf' in res.stderr
    conf.write_text('[scale_ext_weights]\nbest_fit_weight_multiplier = x\n')
    res = _run('--synthetic', '50', '--config', str(conf))
    assert res.returncode == 2
    assert 'best_fit_weight_multiplier' in res.stderr
    assert 'Traceback' not in res.stderr


def test_unwritable_output_is_an_error_before_the_replay(tmp_path):
    res = _run('--synthetic', '50', '--policy', 'nova-stack', '--json',
               str(tmp_path / 'no' / 'such' / 'dir.json'))
    assert res.returncode == 2
    assert 'cannot write' in res.stderr and 'no such directory' in res.stderr
    assert 'Traceback' not in res.stderr
    assert res.stdout == ''                 # nothing was replayed
    res = _run('--synthetic', '50', '--policy', 'nova-stack', '--plot',
               str(tmp_path / 'no' / 'plot.svg'))
    assert res.returncode == 2 and 'no such directory' in res.stderr
    assert res.stdout == ''
    res = _run('--synthetic', '50', '--json', str(tmp_path))
    assert res.returncode == 2 and 'is a directory' in res.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason='root may write anywhere')
def test_read_only_output_directory(tmp_path):
    tmp_path.chmod(0o500)
    try:
        res = _run('--synthetic', '50', '--json', str(tmp_path / 'o.json'))
    finally:
        tmp_path.chmod(0o700)
    assert res.returncode == 2 and 'permission denied' in res.stderr
    assert res.stdout == ''


def _trace(tmp_path, rows, name='vms.csv'):
    path = tmp_path / name
    path.write_text('id,vcpus,memory_mb,disk_gb,start_s,end_s\n' + rows)
    return str(path)


def test_an_output_is_never_an_input(tmp_path):
    trace = _trace(tmp_path, 'a,2,4096,0,0,100\n')
    before = pathlib.Path(trace).read_text()
    for args in (('--json', trace), ('--plot', trace + '.png'),
                 ('--json', str(tmp_path / '.' / 'vms.csv'))):
        if args[0] == '--plot':
            pathlib.Path(args[1]).symlink_to(trace)
        res = _run('--trace', trace, '--policy', 'nova-stack', *args)
        assert res.returncode == 2, args
        assert 'is also the --trace file; it would be overwritten' in (
            res.stderr)
        assert pathlib.Path(trace).read_text() == before
    conf = tmp_path / 'mine.conf'
    conf.write_text('[filter_scheduler]\n')
    res = _run('--synthetic', '50', '--config', str(conf), '--json',
               str(conf))
    assert res.returncode == 2 and 'also the --config file' in res.stderr
    out = str(tmp_path / 'o.svg')
    res = _run('--synthetic', '50', '--json', out, '--plot', out)
    assert res.returncode == 2 and 'also the --plot file' in res.stderr


@pytest.mark.parametrize('rows,needle', [
    ('a,1e30,4096,0,0,100\n',
     "line 2, field 'vcpus': expected at most 1,048,576 vCPUs, got '1e30'"),
    (f'a,2,{2 ** 63},0,0,100\n',
     "line 2, field 'memory_mb': expected at most 4,294,967,296 MiB"),
    # memory written in KiB: the VM fits no host, so sizes no fleet
    ('a,2,4096,0,0,100\nb,2,1000000000,0,5,100\n',
     "VM 'b' asks 1,000,000,000 MiB of memory, more than a host of "
     '80c/180G offers (184,320 MiB)'),
])
def test_absurd_traces_exit_2_naming_the_fault(tmp_path, rows, needle):
    trace = _trace(tmp_path, rows)
    for extra in ((), ('--hosts', '4'), ('--hosts', '4', '--compact')):
        res = _run('--trace', trace, '--policy', 'nova-stack', *extra)
        assert res.returncode == 2, res.stderr
        assert needle in res.stderr
        assert 'Traceback' not in res.stderr
        assert len(res.stderr.splitlines()) == 1


def test_a_vm_larger_than_the_fleet_file_hosts(tmp_path):
    trace = _trace(tmp_path, 'a,2,4096,0,0,100\nbig,96,4096,0,1,100\n')
    fleet = tmp_path / 'f.yaml'
    fleet.write_text('host_classes:\n'
                     '  - {name: a, count: 3, vcpus: 64, memory_mb: 65536}\n')
    res = _run('--trace', trace, '--fleet', str(fleet))
    assert res.returncode == 2
    assert ("VM 'big' asks 96 vCPUs, more than a host of 64c/64G offers "
            '(64 vCPUs)') in res.stderr


def test_resampling_an_absurd_time_span(tmp_path):
    trace = _trace(tmp_path, 'a,2,4096,0,0,100\nb,2,4096,0,9e10,\n')
    res = _run('--trace', trace, '--resample-days', '1')
    assert res.returncode == 2
    assert 'vms.csv: its arrivals span 1,041,667 days' in res.stderr
    assert 'at most 36,525' in res.stderr


def test_huge_fleet_files_exit_2(tmp_path):
    fleet = tmp_path / 'f.yaml'
    fleet.write_text('host_classes:\n  - {name: a, count: 1000000000000,'
                     ' vcpus: 64, memory_mb: 65536}\n')
    res = _run('--synthetic', '50', '--fleet', str(fleet))
    assert res.returncode == 2
    assert 'count: expected at most 1,000,000' in res.stderr
    fleet.write_text('a: &a {vcpus: 64, memory_mb: 65536}\n'
                     'host_classes:\n  - {<<: *a, count: 1}\n')
    res = _run('--synthetic', '50', '--fleet', str(fleet))
    assert res.returncode == 2
    assert 'anchors and aliases' in res.stderr


def test_a_fleet_beyond_the_maximum_is_refused(monkeypatch, capsys):
    from nova_scale_ext.simulate import fleet as fleet_mod
    monkeypatch.setattr(fleet_mod, 'MAX_HOSTS', 10)
    rc = cli.main(['simulate', '--synthetic', '2000', '--no-progress'])
    assert rc == 2
    err = capsys.readouterr().err
    assert 'the default fleet, 2 x the lower bound of' in err
    assert 'more than the 10 hosts the simulator replays' in err
    rc = cli.main(['simulate', '--synthetic', '2000', '--hosts', '5',
                   '--compact', '--no-progress'])
    assert rc == 2
    assert 'more than the 10 hosts' in capsys.readouterr().err


def test_python_dash_m_entry_point():
    res = subprocess.run(
        [sys.executable, '-m', 'nova_scale_ext.simulate', '--help'],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0
    for option in ('--trace', '--trace-format', '--synthetic', '--seed',
                   '--hosts', '--host-size', '--fleet', '--policy',
                   '--config', '--compact', '--json', '--plot'):
        assert option in res.stdout


def test_resampled_trace(tmp_path):
    from nova_scale_ext.simulate import workload as wl_mod
    path = str(tmp_path / 'vms.csv')
    wl_mod.write_csv(wl_mod.synthetic(800, 4), path)
    out = tmp_path / 'r.json'
    res = _run('--trace', path, '--resample-days', '3', '--policy',
               'nova-stack', '--json', str(out))
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text())
    assert 'resampled' in doc['workload']['name']
    res = _run('--resample-days', '3')
    assert res.returncode == 2 and 'needs a trace' in res.stderr


def test_the_package_never_reaches_outside_itself():
    """No module resolves a path above the installed package (a trace, a
    sample file): once installed from a wheel such paths mean nothing."""
    import nova_scale_ext
    root = pathlib.Path(nova_scale_ext.__file__).parent
    offenders = [str(path.relative_to(root)) for path in root.rglob('*.py')
                 if any(marker in path.read_text()
                        for marker in ("'..'", 'os.pardir', '/traces'))]
    assert offenders == []


def test_worker_processes_give_the_same_results(tmp_path):
    """``--jobs 2`` runs each policy and mode in a process of its own; the
    figures are those of one process, in the same order."""
    docs = []
    for jobs in ('1', '2'):
        out = tmp_path / f'jobs{jobs}.json'
        res = _run('--synthetic', '1500', '--seed', '2', '--compact',
                   '--defrag', 'on-rejection', '--jobs', jobs,
                   '--json', str(out))
        assert res.returncode == 0, res.stderr
        assert 'Traceback' not in res.stderr
        docs.append(json.loads(out.read_text()))

    def figures(doc):
        out = []
        for name, entry in doc['policies'].items():
            entry = {k: v for k, v in entry.items()
                     if k not in ('decisions_per_second', 'replay_seconds',
                                  'search')}
            out.append((name, entry, doc['policies'][name]['search']
                        ['sizes_tested']))
        return out

    assert [name for name, _, _ in figures(docs[0])] == [
        f'{p}{m}' for p in policy_mod.BUILTIN for m in ('', '+on-rejection')]
    assert figures(docs[0]) == figures(docs[1])


def test_bad_jobs_is_a_usage_error():
    res = _run('--jobs', '0')
    assert res.returncode == 2 and '--jobs' in res.stderr


def test_the_standard_formatters_give_the_table_as_data(capsys):
    argv = ['simulate', '--synthetic', '200', '--seed', '2', '--hosts',
            '12', '--no-progress', '--policy', 'scale-ext', '--policy',
            'nova-stack']
    assert cli.main(argv + ['-f', 'json']) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r['policy'] for r in rows] == ['scale-ext', 'nova-stack']
    assert all(0 < r['util vCPU'] < 1 and r['rejections'] == 0
               for r in rows)
    assert cli.main(argv + ['-f', 'value', '-c', 'policy', '-c',
                            'peak_active']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ['scale-ext',
                                                   'nova-stack']
    assert [int(line.split()[1]) for line in lines] == [
        r['peak active'] for r in rows]


@pytest.mark.parametrize('argv, message', [
    (('-c', 'policy'), '-c/--column needs -f FORMAT'),
    (('-f', 'json', '-c', 'hosts'), '-c hosts: no such column'),
])
def test_bad_columns_are_refused_before_any_replay(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        cli.main(['simulate', '--synthetic', '200', *argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
