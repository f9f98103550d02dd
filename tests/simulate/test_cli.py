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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


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


def test_unwritable_output_is_an_error_not_a_traceback(tmp_path):
    res = _run('--synthetic', '50', '--policy', 'nova-stack', '--json',
               str(tmp_path / 'no' / 'such' / 'dir.json'))
    assert res.returncode == 1
    assert 'cannot write' in res.stderr
    assert 'Traceback' not in res.stderr


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
