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
"""The parts of benchmarks/burst.py that need no cloud."""

import importlib
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BENCHMARKS = os.path.join(ROOT, 'benchmarks')


@pytest.fixture(scope='module')
def burst():
    sys.path.insert(0, BENCHMARKS)
    try:
        yield importlib.import_module('burst')
    finally:
        sys.path.remove(BENCHMARKS)


def test_a_burst_has_its_servers_groups_and_request_sizes(burst):
    requests = burst.make_burst(100, 5, seed=3)
    assert sum(r['count'] for r in requests) == 100
    grouped = [r for r in requests if r['group']]
    assert sorted((r['group'], r['count']) for r in grouped) == sorted(
        burst.GROUPS)
    assert all(r['count'] <= 5 for r in requests if not r['group'])
    flavors = {(v, m) for v, m, _ in burst.FLAVORS}
    assert {r['flavor'] for r in requests} <= flavors
    assert burst.make_burst(100, 5, seed=3) == requests


def test_the_fleet_is_sized_so_the_burst_fills_it(burst):
    requests = burst.make_burst(100, 5, seed=1)
    fleet = burst.size_fleet(requests, 12, 0.9)
    assert len(fleet) == 12
    vcpus = sum(r['flavor'][0] * r['count'] for r in requests)
    memory = sum(r['flavor'][1] * r['count'] for r in requests)
    fill = max(vcpus / sum(v for v, _, _ in fleet.values()),
               memory / sum(m for _, m, _ in fleet.values()))
    assert 0.8 <= fill <= 0.9
    # every host takes one of the largest flavor
    for v, m, _ in fleet.values():
        assert all(fv <= v and fm <= m for fv, fm, _ in burst.FLAVORS)


LOG = """\
2026-12-03 03:00:00.100 11 DEBUG nova.scheduler.manager [req-a] \
Starting to schedule for instances: \
['00000000-0000-0000-0000-00000000000a', \
'00000000-0000-0000-0000-00000000000b']
2026-12-03 03:00:00.200 12 DEBUG nova.scheduler.manager [req-c] \
Starting to schedule for instances: ['00000000-0000-0000-0000-00000000000c']
2026-12-03 03:00:00.300 11 WARNING nova.scheduler.client.report [req-a] \
Failed to save allocation for 00000000-0000-0000-0000-00000000000a. \
Got HTTP 409: conflict
2026-12-03 03:00:00.400 11 DEBUG nova.scheduler.manager [req-a] \
[instance: 00000000-0000-0000-0000-00000000000a] Selected host: (h1)
2026-12-03 03:00:00.500 12 DEBUG nova.scheduler.manager [req-c] \
[instance: 00000000-0000-0000-0000-00000000000c] Selected host: (h2)
2026-12-03 03:00:00.600 11 DEBUG nova.scheduler.manager [req-a] \
[instance: 00000000-0000-0000-0000-00000000000b] Selected host: (h1)
2026-12-03 03:00:05.000 12 DEBUG nova.scheduler.manager [req-d] \
Starting to schedule for instances: ['00000000-0000-0000-0000-00000000000d']
2026-12-03 03:00:05.100 12 DEBUG nova.scheduler.client.report [req-d] \
Unable to claim resources because of a conflict; retrying...
2026-12-03 03:00:05.200 12 DEBUG nova.scheduler.manager [req-d] \
[instance: 00000000-0000-0000-0000-00000000000d] Selected host: (h3)
"""


def test_the_scheduler_log_gives_order_conflicts_and_overlap(burst):
    record = burst.scheduler_record(LOG.splitlines())
    assert [u[-1] for u in record['order']] == ['a', 'c', 'b', 'd']
    assert record['claim_conflicts'] == 1
    assert record['claim_retries'] == 1
    assert record['requests'] == 3
    assert record['most_at_once'] == 2
    assert record['overlapped_share'] == pytest.approx(2 / 3)


def test_the_table_names_each_fault(burst):
    result = {'configuration': 'scale-ext', 'scheduler_workers': 2,
              'active': 98, 'error': 2, 'claim_conflicts': 3,
              'claim_retries': 0, 'reschedules': 1, 'most_at_once': 4,
              'overlapped_share': 0.5, 'active_p50_s': 10.0,
              'active_p99_s': 20.5, 'hosts_used': 11,
              'simulated_hosts_used': 10,
              'faults': {'No valid host was found. ': 2}}
    text = burst.table([result])
    assert text.splitlines()[0].split()[:4] == ['configuration', 'workers',
                                                'ACTIVE', 'ERROR']
    row = text.splitlines()[2].split()
    assert row[:7] == ['scale-ext', '2', '98', '2', '3', '0', '1']
    assert '2 x No valid host was found.' in text


def test_bad_arguments_are_one_line():
    res = subprocess.run([sys.executable, os.path.join(BENCHMARKS,
                                                       'burst.py'),
                          '--workers', '0,9'], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 2
    assert 'worker counts are 1 to 8' in res.stderr
    assert 'Traceback' not in res.stderr


def test_a_fault_run_reads_as_one_line_and_its_faults(burst):
    result = {'what': burst.FAULTS['rabbitmq'], 'fault_s': 9.4,
              'servers': 100, 'seen': 95,
              'states': {'ACTIVE': 90, 'ERROR': 3, 'BUILD': 2},
              'refused_by_api': 1, 'refusals': ['HttpException: 500'],
              'faults': {'No valid host was found. ': 3},
              'allocation_mismatches': [('x', 'BUILD', ['h1'])],
              'leaked_allocations': 0, 'plugin_errors': 0,
              'capacity_matches_placement': True}
    text = burst.fault_table([result]).splitlines()
    assert text[0].startswith('RabbitMQ restarted (9 s): 95 of 100 servers '
                              '(90 ACTIVE, 2 BUILD, 3 ERROR)')
    assert '1 allocation mismatches, 0 leaked' in text[0]
    assert text[0].endswith('capacity matches placement')
    assert text[1].strip() == '3 x No valid host was found.'
    assert text[2].strip() == 'refused: HttpException: 500'


def test_only_our_plugins_failures_count(burst):
    lines = [
        '2026-12-03 03:00:00.1 1 ERROR nova_scale_ext.scheduler.weights'
        '.base [-] ScaleExtBestFitWeigher failed',
        '2026-12-03 03:00:00.2 1 ERROR oslo.messaging._drivers [-] '
        'AMQP server on 127.0.0.1:16672 is unreachable',
        '2026-12-03 03:00:00.3 1 DEBUG nova_scale_ext.scheduler [-] fine',
    ]
    assert burst.plugin_errors(lines) == lines[:1]


def test_an_unwritable_json_path_is_refused_before_any_cloud(tmp_path):
    for path, says in (('', 'expected a path'),
                       (str(tmp_path), 'it is a directory'),
                       (str(tmp_path / 'no' / 'x.json'), 'no such directory')):
        res = subprocess.run([sys.executable, os.path.join(BENCHMARKS,
                                                           'burst.py'),
                              '--json', path], capture_output=True,
                             text=True, cwd=ROOT, timeout=120)
        assert res.returncode == 2, path
        assert says in res.stderr
        assert 'Traceback' not in res.stderr


def test_configuration_names_add_nova_random_picks(burst, tmp_path):
    assert burst.parse_configuration('scale-ext') == ('scale-ext', [])
    assert burst.parse_configuration('nova-stack+shuffle+subset3') == (
        'nova-stack', [('shuffle_best_same_weighed_hosts', 'true'),
                       ('host_subset_size', '3')])
    for bad in ('scale', 'scale-ext+subset', 'scale-ext+subset0',
                'scale-ext+shuffle2', 'scale-ext+spread'):
        with pytest.raises(Exception) as info:
            burst.parse_configuration(bad)
        assert bad in str(info.value)

    class Cloud:
        nova_conf = tmp_path / 'nova.conf'
        nova_defaults_conf = tmp_path / 'defaults.conf'

    Cloud.nova_conf.write_text('[filter_scheduler]\nenabled_filters = X\n')
    Cloud.nova_defaults_conf.write_text('[DEFAULT]\ndebug = true\n')
    runs = burst.configurations(Cloud, [1, 2], ['scale-ext+subset2',
                                                'nova-stack'])
    assert [(label, w) for label, w, _ in runs] == [
        ('scale-ext+subset2', 1), ('scale-ext+subset2', 2),
        ('nova-stack', 1), ('nova-stack', 2)]
    text = runs[1][2].read_text()
    assert 'host_subset_size = 2' in text and 'enabled_filters = X' in text
    assert 'workers = 2' in text
    stack = runs[2][2].read_text()
    assert 'ram_weight_multiplier = -1.0' in stack
    assert 'host_subset_size' not in stack


def test_the_summary_gives_each_configuration_over_its_runs(burst):
    def run(label, error, conflicts, p50, hosts):
        return {'configuration': label, 'scheduler_workers': 2,
                'error': error, 'claim_conflicts': conflicts,
                'reschedules': 0, 'active_p50_s': p50, 'hosts_used': hosts}

    text = burst.summary([run('scale-ext', 0, 70, 50.0, 11),
                          run('nova-stack', 5, 60, 80.0, 12),
                          run('scale-ext', 10, 130, 70.0, 12),
                          run('scale-ext', 5, 100, 60.0, 12)])
    rows = {line.split()[0]: line for line in text.splitlines()[3:]}
    assert rows['scale-ext'].split()[1:] == [
        '2', '3', '5.0', '(0-10)', '100.0', '(70-130)', '0', '60.0', '11-12']
    assert rows['nova-stack'].split()[2] == '1'


def test_what_was_measured_is_saved_as_it_comes(burst, tmp_path):
    path = tmp_path / 'out.json'
    burst.save(str(path), {'h': (1, 2, 3)}, [], [{'error': 1}], [])
    assert json.loads(path.read_text())['results'] == [{'error': 1}]
    burst.save(None, {}, [], [], [])        # no --json: nothing written
