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
"""``nova-scale-ext plugins``: what nova-scheduler would load."""

import json
import os
import subprocess
import sys


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, '-m', 'nova_scale_ext.cmd.main', 'plugins', *args],
        capture_output=True, text=True, timeout=120, env=env)


def test_default_run_loads_ours_next_to_novas():
    result = run()
    assert result.returncode == 0, result.stderr
    assert 'ScaleExtHeadroomFilter' in result.stdout
    assert 'ScaleExtBestFitWeigher' in result.stdout
    assert 'ScaleExtStrandedCapacityWeigher' in result.stdout
    assert 'ComputeFilter' in result.stdout


def test_default_run_leaves_no_file_behind(tmp_path):
    """The recommended lines are read from a file of the command's own,
    which it removes."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    result = run(env=env)
    assert result.returncode == 0, result.stderr
    assert 'Using the recommended nova.conf lines' in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_unknown_enabled_filter_is_reported_like_nova_scheduler_would(
        tmp_path):
    conf = tmp_path / 'nova.conf'
    conf.write_text('[filter_scheduler]\n'
                    'enabled_filters = ComputeFilter,ScaleExtHeadroomFilter\n')
    result = run('--config-file', str(conf))
    assert result.returncode == 1
    assert 'ScaleExtHeadroomFilter' in result.stderr
    assert 'would not start' in result.stderr
    assert 'Traceback' not in result.stderr


def test_invalid_option_value_is_reported_without_traceback(tmp_path):
    conf = tmp_path / 'nova.conf'
    conf.write_text('[scale_ext_filters]\nheadroom_vcpu_ratio = 5\n')
    result = run('--config-file', str(conf))
    assert result.returncode == 1
    assert 'headroom_vcpu_ratio' in result.stderr
    assert 'Traceback' not in result.stderr


def test_missing_config_file_is_an_error(tmp_path):
    result = run('--config-file', str(tmp_path / 'absent.conf'))
    assert result.returncode != 0
    assert 'absent.conf' in result.stderr
    assert 'Traceback' not in result.stderr


def test_nan_and_infinite_option_values_are_errors(tmp_path):
    conf = tmp_path / 'nova.conf'
    conf.write_text('[scale_ext_filters]\nheadroom_memory_ratio = nan\n'
                    '[scale_ext_weights]\nbest_fit_weight_multiplier = inf\n'
                    'large_slot_spare_host_share = nan\n'
                    'packing_resource_weights = VCPU:nan\n')
    result = run('--config-file', str(conf))
    assert result.returncode == 1
    for name in ('headroom_memory_ratio', 'best_fit_weight_multiplier',
                 'large_slot_spare_host_share', 'packing_resource_weights'):
        (line,) = [x for x in result.stderr.splitlines() if name in x]
        assert 'is not a finite number' in line, line
    assert 'Traceback' not in result.stderr


def test_the_standard_formatters_list_the_plugins_in_order():
    result = run('-f', 'json')
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    ours = [r for r in rows if r['path'].startswith('nova_scale_ext.')]
    assert {'kind': 'available filter', 'position': 1,
            'name': 'ScaleExtHeadroomFilter',
            'path': 'nova_scale_ext.scheduler.filters.headroom.'
                    'ScaleExtHeadroomFilter'} in ours
    weighers = [r['name'] for r in rows if r['kind'] == 'weigher']
    assert 'ScaleExtBestFitWeigher' in weighers
    assert [r['position'] for r in rows if r['kind'] == 'weigher'] == \
        list(range(1, len(weighers) + 1))
    result = run('-f', 'value', '-c', 'name', '-c', 'kind')
    # columns keep the table's order, as in OpenStack's clients
    assert 'available filter ScaleExtHeadroomFilter' in result.stdout


def test_an_unknown_column_is_one_line():
    result = run('-f', 'value', '-c', 'class')
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'error: -c: no column named class; the columns are kind, '
        'position, name, path']


def test_a_reader_that_goes_away_is_no_traceback():
    """``nova-scale-ext plugins | head -1``"""
    proc = subprocess.Popen(
        [sys.executable, '-m', 'nova_scale_ext.cmd.main', 'plugins'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert 'Traceback' not in err


def test_an_isolation_policy_that_cannot_be_read_is_an_error(tmp_path):
    conf = tmp_path / 'nova.conf'
    conf.write_text('[scale_ext_isolation]\nisolated_projects = bank\n'
                    'isolation_groups = lab:physics\n'
                    'isolation_groups = lab2:physics\n')
    result = run('--config-file', str(conf))
    assert result.returncode == 1
    assert ('[scale_ext_isolation] the policy cannot be read: '
            "isolation_groups 'lab2:physics': project physics is already in "
            'isolation group') in result.stderr
    assert 'isolate every project from every other' in result.stderr
    assert 'Traceback' not in result.stderr
    good = tmp_path / 'good.conf'
    good.write_text('[scale_ext_isolation]\nisolated_projects = bank\n'
                    'isolation_groups = lab:physics,chemistry\n')
    assert run('--config-file', str(good)).returncode == 0
