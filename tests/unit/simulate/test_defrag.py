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
"""``simulate --defrag MODE``: consolidation modes as rows next to the
policies."""

import json

import numpy as np
import pytest

from nova_scale_ext.cmd import main as cli
from nova_scale_ext.defrag import simulate as dsim
from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import model, policy, report, runner
from nova_scale_ext.simulate import workload as wl_mod
from nova_scale_ext.simulate.replay import replay

# 300 VMs on 4 hosts: too few, so that consolidation has work to do
SMALL = ('--synthetic', '300', '--seed', '3', '--policy', 'scale-ext')


def _simulate(capsys, *args):
    rc = cli.main(['simulate', '--no-progress', *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_each_mode_is_a_row_with_its_migrations_in_json(tmp_path, capsys):
    path = tmp_path / 'out.json'
    rc, out, _ = _simulate(capsys, *SMALL, '--hosts', '4', '--defrag',
                           'on-rejection', '--json', str(path))
    assert rc == 0
    assert 'scale-ext+on-rejection' in out and 'migrations' in out
    rows = json.loads(path.read_text())['policies']
    assert list(rows) == ['scale-ext', 'scale-ext+on-rejection']
    assert 'defrag' not in rows['scale-ext']
    defrag = rows['scale-ext+on-rejection']['defrag']
    assert defrag['mode'] == 'on-rejection'
    assert defrag['migrations'] > 0
    assert defrag['migrated_share'] == pytest.approx(
        defrag['migrations'] / 300, abs=1e-6)
    assert defrag['moved_gib'] > 0


def test_with_compact_hosts_needed_is_the_figure_with_the_mode(tmp_path,
                                                               capsys):
    path = tmp_path / 'out.json'
    rc, _, _ = _simulate(capsys, *SMALL, '--compact', '--defrag',
                         'on-rejection', '--json', str(path))
    assert rc == 0
    doc = json.loads(path.read_text())
    plain = doc['policies']['scale-ext']
    moded = doc['policies']['scale-ext+on-rejection']
    assert doc['lower_bound'] <= moded['hosts_needed'] <= plain['hosts_needed']
    assert set(moded['defrag']) == {'mode', 'migrations', 'migrated_share',
                                    'moved_gib'}


@pytest.mark.parametrize('value,needle', [
    ('sometimes', 'expected one of on-rejection'),
    ('periodic:soon', 'expected a duration'),
    ('keeper:1h:32x=4', 'expected VCPUSxMEMORY_MB=K'),
    ('periodic:nanh', 'expected a duration'),
    ('on-rejection:99999999999999999999', 'max_migrations'),
    ('periodic:6h:\u00b2', 'expected a whole number'),
])
def test_a_bad_mode_exits_2_with_a_message(capsys, value, needle):
    rc, out, err = _simulate(capsys, '--synthetic', '20', '--defrag', value)
    assert rc == 2
    assert f'--defrag {value}' in err and needle in err
    assert 'Traceback' not in err and not out


def test_without_defrag_the_output_is_unchanged(capsys):
    rc, plain, _ = _simulate(capsys, *SMALL, '--hosts', '4')
    assert rc == 0
    assert 'migrations' not in plain and '+' not in plain
    wl = wl_mod.synthetic(300, 3)
    fl = fleet_mod.identical(4, '80c/180G')
    pols = [policy.builtin('scale-ext')]
    without = report.as_dict(runner.run(wl, fl, pols))['policies']
    with_mode = report.as_dict(runner.run(
        wl, fl, pols, defrag_modes=['periodic:6h']))['policies']
    timing = ('decisions_per_second', 'replay_seconds')
    for row in (without['scale-ext'], with_mode['scale-ext']):
        for key in timing:
            row.pop(key)
    assert with_mode['scale-ext'] == without['scale-ext']


class _Checked:
    """The fast engine's chooser; checks every host a change touches."""

    def __init__(self, chooser, ledger):
        self.chooser = chooser
        self.ledger = ledger
        self.headroom = chooser.headroom
        self.checked = 0

    def select(self, vm):
        return self.chooser.select(vm)

    def changed(self, host):
        led = self.ledger
        assert (led.used[host] <= led.capacity[host] + 1e-6).all(), host
        self.checked += 1
        self.chooser.changed(host)


@pytest.mark.parametrize('mode', ['on-rejection', 'periodic:2h:16',
                                  'keeper:1h:2'])
def test_every_migration_keeps_every_host_within_capacity(mode):
    wl = wl_mod.synthetic(300, 3)
    fl = fleet_mod.identical(4, '80c/180G')
    requests = wl.requests(False)
    with policy.loaded(policy.builtin('scale-ext')) as loaded:
        shapes, shape_of = model.shapes_of(requests)
        eng, _ = runner.make_engine(loaded, wl, shapes, shape_of, False)
        ledger = model.Ledger(fl, len(wl))
        chooser = _Checked(eng.chooser(ledger), ledger)
        defrag = dsim.Defrag(dsim.parse_mode(mode, ['32:65536']), ledger,
                             requests, chooser)
        replay(wl, ledger, chooser, requests, defrag=defrag)
    assert defrag.stats.migrations > 0
    assert (ledger.used <= ledger.capacity + 1e-6).all()
    alive = ledger.host_of >= 0
    assert np.bincount(ledger.host_of[alive], minlength=4).tolist() == \
        ledger.count.tolist()


HEADROOM_POLICY = policy.Policy('headroom', """\
[filter_scheduler]
weight_classes = nova_scale_ext.scheduler.weights.all_weighers
available_filters = nova.scheduler.filters.all_filters
available_filters = nova_scale_ext.scheduler.filters.all_filters
enabled_filters = ComputeFilter,ScaleExtHeadroomFilter
[scale_ext_filters]
headroom_memory_ratio = 0.3
""")


class _WithinHeadroom(_Checked):
    """Checks every changed host keeps the policy's headroom free."""

    def changed(self, host):
        led = self.ledger
        limit = led.capacity[host] * (1.0 - self.headroom[host])
        assert (led.used[host] <= limit + 1e-6).all(), host
        super().changed(host)


@pytest.mark.parametrize('engine', ['fast', 'reference'])
def test_both_engines_tell_consolidation_the_headroom_per_host(engine):
    fl = fleet_mod.Fleet(
        (fleet_mod.HostClass('plain', 2, 16, 32768),
         fleet_mod.HostClass('kept', 2, 16, 32768, aggregates=('spare',))),
        {'spare': {'headroom_vcpu_ratio': '0.5'}}, 'two')
    wl = wl_mod.synthetic(20, 1)
    requests = wl.requests(False)
    with policy.loaded(HEADROOM_POLICY) as loaded:
        shapes, shape_of = model.shapes_of(requests)
        eng, _ = runner.make_engine(loaded, wl, shapes, shape_of, False,
                                    engine)
        assert eng.name == engine
        chooser = eng.chooser(model.Ledger(fl, len(wl)))
    assert chooser.headroom.tolist() == [[0.0, 0.3, 0.0]] * 2 + \
        [[0.5, 0.3, 0.0]] * 2
    with policy.loaded(policy.builtin('nova-stack')) as loaded:
        eng, _ = runner.make_engine(loaded, wl, shapes, shape_of, False,
                                    engine)
        assert eng.chooser(model.Ledger(fl, len(wl))).headroom is None


@pytest.mark.parametrize('mode', ['on-rejection', 'periodic:2h:16'])
def test_migrations_keep_the_headroom_filter_s_share_free(mode):
    wl = wl_mod.synthetic(300, 3)
    fl = fleet_mod.identical(5, '80c/180G')
    requests = wl.requests(False)
    with policy.loaded(HEADROOM_POLICY) as loaded:
        shapes, shape_of = model.shapes_of(requests)
        eng, _ = runner.make_engine(loaded, wl, shapes, shape_of, False)
        ledger = model.Ledger(fl, len(wl))
        chooser = _WithinHeadroom(eng.chooser(ledger), ledger)
        defrag = dsim.Defrag(dsim.parse_mode(mode), ledger, requests,
                             chooser)
        replay(wl, ledger, chooser, requests, defrag=defrag)
    assert defrag.stats.migrations > 0
    assert chooser.checked > 0


def test_modes_can_be_limited_to_some_policies():
    wl = wl_mod.synthetic(200, 3)
    fl = fleet_mod.identical(4, '80c/180G')
    pols = [policy.builtin('nova-stack'), policy.builtin('scale-ext')]
    rep = runner.run(wl, fl, pols, defrag_modes=['periodic:6h'],
                     defrag_policies=('scale-ext',))
    assert [r.name for r in rep.results] == [
        'nova-stack', 'scale-ext', 'scale-ext+periodic:6h']
    assert rep.results[2].defrag['mode'] == 'periodic:6h'
