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

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nova_scale_ext.core import isolation as core
from nova_scale_ext.simulate import engine_fast, engine_nova, model, runner
from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import isolation as iso
from nova_scale_ext.simulate import policy as policy_mod
from nova_scale_ext.simulate import workload as wl_mod
from nova_scale_ext.simulate.replay import replay

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _workload(rows):
    """rows: (project, vcpus, start, end)."""
    n = len(rows)
    return wl_mod.Workload(
        'hand', [f'vm-{k}' for k in range(n)],
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([r[1] * 2048 for r in rows], dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.array([r[2] for r in rows], dtype=np.float64),
        np.array([r[3] for r in rows], dtype=np.float64),
        None, [r[0] for r in rows])


HAND = _workload([('a', 8, 0, 100), ('a', 8, 50, 150), ('b', 4, 0, 10),
                  ('c', 2, 0, 1000), ('a', 8, 120, 200), ('b', 4, 20, 30),
                  ('d', 1, 5, 6)])


def test_each_tenants_own_peak():
    assert iso.project_peaks(HAND) == {'a': 16.0, 'b': 4.0, 'c': 2.0,
                                       'd': 1.0}


def test_the_largest_tenants_within_the_share_are_isolated():
    # peak of the whole workload: 8 + 8 + 2 = 18 (t = 50..100)
    setting = iso.by_share(HAND, 0.35)
    # a (16) is larger than 0.35 * 18 = 6.3: passed over; b, c fit
    assert setting.projects == ('b', 'c')
    assert setting.share == pytest.approx(6 / 18)
    assert setting.groups.tolist() == [0, 0, 1, 2, 0, 1, 0]
    # own peaks need not come at the same moment: they may add up to more
    # than the workload's peak (16 + 4 + 2 + 1 = 23 > 18)
    assert iso.by_share(HAND, 1.0).projects == ('a', 'c')
    with pytest.raises(iso.IsolationError, match='no tenant is small'):
        iso.by_share(HAND, 0.01)
    no_projects = dataclasses.replace(wl_mod.synthetic(10, 1),
                                      projects=None)
    with pytest.raises(iso.IsolationError, match='names no project'):
        iso.by_share(no_projects, 0.5)


def test_a_project_file(tmp_path):
    good = tmp_path / 'isolated.txt'
    good.write_text('# regulated tenants\nc\n\nb  # the bank\nzz\nb\n')
    setting = iso.from_file(HAND, str(good))
    assert setting.projects == ('b', 'c')      # largest first; zz unknown
    for text, message in (('a b\n', 'line 1'), ('# none\n', 'lists no'),
                          ('zz\n', 'none of its 1 projects')):
        bad = tmp_path / 'bad.txt'
        bad.write_text(text)
        with pytest.raises(iso.IsolationError, match=message):
            iso.from_file(HAND, str(bad))
    binary = tmp_path / 'bin.txt'
    binary.write_bytes(b'\xff\xfe\x00')
    with pytest.raises(iso.IsolationError, match='not a UTF-8'):
        iso.from_file(HAND, str(binary))


def _replay(engine_cls, pol, workload, fleet, groups):
    requests = workload.requests(fleet.offers_disk)
    shapes, shape_of = model.shapes_of(requests)
    with policy_mod.loaded(pol) as loaded:
        eng = engine_cls(loaded, workload, shapes, shape_of,
                         fleet.offers_disk)
        eng.isolation = groups
        ledger = model.Ledger(fleet, len(workload))
        chooser = eng.chooser(ledger)
        seen = []

        def observe(pos, vm, host):
            # what the host holds, by group, checked at every placement
            seen.append((vm, host))
            if host >= 0:
                on_host = np.flatnonzero(ledger.host_of == host)
                mine = {int(groups[v]) for v in on_host} | {int(groups[vm])}
                assert len(mine) == 1, (
                    f'VM {vm} of group {groups[vm]} sent to host {host} '
                    f'holding groups {sorted(mine)}')
            return False

        out = replay(workload, ledger, chooser, requests, observer=observe)
    return seen, out.rejections


@pytest.mark.parametrize('name', ['scale-ext', 'nova-stack',
                                  'nova-default'])
def test_no_host_is_shared_across_groups_and_engines_agree(name):
    workload = wl_mod.synthetic(400, 5, alive=80)
    setting = iso.by_share(workload, 0.3)
    assert len(setting.projects) >= 2
    fleet = fleet_mod.identical(14, '16c/32G')
    pol = policy_mod.builtin(name)
    fast = _replay(engine_fast.FastEngine, pol, workload, fleet,
                   setting.groups)
    ref = _replay(engine_nova.ReferenceEngine, pol, workload, fleet,
                  setting.groups)
    assert fast == ref
    # and the isolation changed decisions
    plain = _replay(engine_fast.FastEngine, pol, workload, fleet,
                    np.zeros(len(workload), dtype=np.int64))
    assert plain[0] != fast[0]


def test_a_host_returns_to_the_pool_when_empty():
    # tenant b (isolated) then, once b has left, the shared tenant a
    workload = _workload([('b', 4, 0, 10), ('a', 4, 20, 30)])
    groups = np.array([1, 0], dtype=np.int64)
    fleet = fleet_mod.identical(1, '16c/32G')
    seen, rejections = _replay(engine_fast.FastEngine,
                               policy_mod.builtin('scale-ext'), workload,
                               fleet, groups)
    assert seen == [(0, 0), (1, 0)] and rejections == 0
    # while b is there, a finds no host
    overlap = _workload([('b', 4, 0, 30), ('a', 4, 20, 40)])
    seen, rejections = _replay(engine_fast.FastEngine,
                               policy_mod.builtin('scale-ext'), overlap,
                               fleet, groups)
    assert seen == [(0, 0), (1, -1)] and rejections == 1


def test_the_runner_reports_ours_and_novas_way():
    workload = wl_mod.synthetic(600, 3, alive=120)
    setting = iso.by_share(workload, 0.2)
    fleet = fleet_mod.identical(40, '32c/64G')
    report = runner.run(workload, fleet, [policy_mod.builtin('scale-ext')],
                        compact_search=True, isolation=setting)
    plain, isolated = report.results
    assert isolated.name == 'scale-ext+isolated'
    info = isolated.isolation
    assert info['projects'] == len(setting.projects)
    parts = info['fixed_aggregates']
    assert set(parts) == set(setting.projects) | {'shared'}
    assert info['fixed_aggregates_hosts'] == sum(parts.values())
    # isolation never needs fewer hosts than none; an aggregate per tenant
    # never fewer than one pool for all
    assert isolated.hosts_needed >= plain.hosts_needed
    assert info['fixed_aggregates_hosts'] >= plain.hosts_needed


def test_the_command(tmp_path):
    out = tmp_path / 'out.json'
    res = subprocess.run(
        [sys.executable, '-m', 'nova_scale_ext.cmd.main', 'simulate',
         '--no-progress', '--synthetic', '500', '--policy', 'scale-ext',
         '--isolate', '0.2', '--compact', '--json', str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert res.returncode == 0, res.stderr
    assert 'scale-ext+isolated' in res.stdout
    assert "Nova's way, an aggregate per isolated tenant" in res.stdout
    data = json.loads(out.read_text())['policies']['scale-ext+isolated']
    assert data['isolation']['setting'] == '--isolate 0.2'
    assert data['hosts_needed'] >= 1
    # a trace without projects cannot isolate anyone
    trace = tmp_path / 't.csv'
    trace.write_text('id,vcpus,memory_mb,disk_gb,start_s,end_s\n'
                     'a,1,512,0,0,10\n')
    res = subprocess.run(
        [sys.executable, '-m', 'nova_scale_ext.cmd.main', 'simulate',
         '--no-progress', '--trace', str(trace), '--isolate', '0.5'],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert res.returncode == 2
    assert 'names no project' in res.stderr
    assert 'Traceback' not in res.stderr
    assert core.SHARED_CODE == 0
