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
"""Consolidation modes inside a simulator replay, on a spreading policy
that fragments two hosts."""

import dataclasses
import pathlib
import re
import shlex

import numpy as np
import pytest

from nova_scale_ext.defrag import simulate as dsim
from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import model
from nova_scale_ext.simulate import workload as wl_mod
from nova_scale_ext.simulate.replay import replay


class Spread:
    """The least used host that fits (what fragments a fleet)."""

    headroom = None

    def __init__(self, ledger, requests):
        self.ledger = ledger
        self.requests = requests
        self.changes = 0

    def select(self, vm):
        led = self.ledger
        fits = (led.used + self.requests[vm] <= led.capacity).all(axis=1)
        idx = np.flatnonzero(fits)
        if not idx.size:
            return -1
        return int(idx[np.argmin(led.used[idx, 1])])

    def changed(self, host):
        self.changes += 1


def workload(rows):
    """rows: (vcpus, GiB, start, end)."""
    n = len(rows)
    return wl_mod.Workload(
        'hand', [str(i) for i in range(n)],
        np.array([r[0] for r in rows]), np.array([r[1] * 1024 for r in rows]),
        np.zeros(n, dtype=np.int64), np.array([r[2] for r in rows], float),
        np.array([r[3] for r in rows], float))


def two_hosts(rows):
    """The workload of ``rows`` on two 8c/16G hosts, spread."""
    wl = workload(rows)
    requests = wl.requests(False)
    ledger = model.Ledger(fleet_mod.identical(2, '8c/16G'), len(rows))
    return wl, requests, ledger, Spread(ledger, requests)


def run(mode_text, rows):
    wl, requests, ledger, chooser = two_hosts(rows)
    mode = dsim.parse_mode(mode_text, ['8:8192']) if mode_text else None
    defrag = dsim.Defrag(mode, ledger, requests, chooser) if mode else None
    out = replay(wl, ledger, chooser, requests, defrag=defrag)
    return out.rejections, defrag, ledger, chooser


FRAGMENTED = [(4, 4, 0, np.inf), (4, 4, 1, np.inf), (8, 8, 5, np.inf)]


def test_without_consolidation_the_spread_rejects_the_large_vm():
    rejections, _, _, _ = run(None, FRAGMENTED)
    assert rejections == 1


def test_on_rejection_makes_room_and_places_the_vm():
    rejections, defrag, ledger, chooser = run('on-rejection', FRAGMENTED)
    assert rejections == 0
    assert (defrag.stats.migrations, defrag.stats.rescued) == (1, 1)
    assert defrag.stats.moved_gib == 4
    assert sorted(ledger.count.tolist()) == [1, 2]
    assert chooser.changes == 3 + 2          # 3 placements, 1 move


def test_keeper_restores_the_slot_before_the_large_vm_arrives():
    rejections, defrag, _, _ = run('keeper:2s:1', FRAGMENTED)
    assert rejections == 0 and defrag.stats.migrations == 1
    assert defrag.stats.rescued == 0


def test_periodic_empties_a_host():
    # the tick before the short-lived VM at t=3 empties a host
    _, defrag, ledger, _ = run('periodic:2s',
                               FRAGMENTED[:2] + [(1, 1, 3, 4)])
    assert defrag.stats.migrations == 1
    assert sorted(ledger.count.tolist()) == [0, 2]


def test_migrations_respect_the_budget_of_a_pass():
    rejections, defrag, _, _ = run('on-rejection:0', FRAGMENTED)
    assert rejections == 1 and defrag.stats.migrations == 0


@pytest.mark.parametrize('text,message', [
    ('sometimes', 'expected one of on-rejection, periodic, keeper, '
                  'recommended'),
    ('periodic', r'expected periodic:EVERY\[:MIGRATIONS\]'),
    ('periodic:soon', 'expected a duration such as 10m'),
    ('periodic:0h', 'expected a duration'),
    ('keeper:10m', r'expected keeper:EVERY:K\[:MIGRATIONS\]\[:whole\]'),
    ('keeper:10m:many', 'expected a whole number'),
    ('on-rejection:1:2', 'expected on-rejection'),
    ('keeper:1h:32x=4', 'expected VCPUSxMEMORY_MB=K'),
    ('recommended:1h', 'recommended takes no settings'),
    ('keeper:2h:burst:whole:whole', 'whole is given twice'),
    ('keeper:2h:4:1%:drain:drain', 'drain is given twice'),
    ('keeper:2h:drain', r'expected keeper:EVERY:K'),
    ('keeper:2h:whole:4', r'expected keeper:EVERY:K'),
])
def test_bad_modes_are_refused(text, message):
    with pytest.raises(dsim.ModeError, match=message):
        dsim.parse_mode(text, ['8:8192'])


def test_a_keeper_needs_shapes_to_protect():
    with pytest.raises(dsim.ModeError, match='large_slot_flavors'):
        dsim.parse_mode('keeper:10m:2')


def test_modes_read_their_settings():
    mode = dsim.parse_mode('keeper:10m:3:20', ['32:65536'])
    assert (mode.every_s, mode.budget.max_migrations) == (600, 20)
    assert [(t.name, t.count) for t in mode.shapes] == [('32:65536', 3)]
    mode = dsim.parse_mode('keeper:1h:32x65536=40,64x131072=2')
    assert [(t.vcpus, t.memory_mb, t.count) for t in mode.shapes] == [
        (32, 65536, 40), (64, 131072, 2)]
    assert dsim.parse_mode('periodic:6h').every_s == 6 * 3600


def test_consolidation_lowers_the_hosts_needed():
    wl = workload(FRAGMENTED)
    requests = wl.requests(False)
    base = fleet_mod.identical(1, '8c/16G')

    def chooser(ledger):
        return Spread(ledger, requests)

    plain = dsim.hosts_needed(chooser, wl, requests, base, None, 2, 4)
    assert [(t.hosts, t.rejections) for t in plain] == [(2, 1), (3, 0)]
    mode = dsim.parse_mode('on-rejection')
    trials = dsim.hosts_needed(chooser, wl, requests, base, mode, 2, 4)
    assert [(t.hosts, t.rejections) for t in trials] == [(2, 0)]
    assert trials[-1].stats.migrations == 1


def test_a_keeper_share_follows_the_free_capacity():
    mode = dsim.parse_mode('keeper:1h:50%', ['8:8192'])
    assert mode.share == 0.5
    ledger = model.Ledger(fleet_mod.identical(2, '8c/16G'), 1)
    ledger.place(0, 0, np.array([4.0, 4096.0, 0.0]))
    defrag = dsim.Defrag(mode, ledger, np.array([[4.0, 4096.0, 0.0]]),
                         Spread(ledger, None))
    # 12 vCPU free: one 8-vCPU instance's worth, half of it rounds to 0
    assert [t.count for t in defrag.keep_targets()] == [0]
    with pytest.raises(dsim.ModeError, match='share from 1% to 100%'):
        dsim.parse_mode('keeper:1h:150%', ['8:8192'])


def test_recommended_is_the_documented_keeper():
    from nova_scale_ext import recommended
    shapes = ['32:65536', '64:131072']
    mode = dsim.parse_mode('recommended', shapes)
    assert mode == dataclasses.replace(
        dsim.parse_mode(recommended.DEFRAG_MODE, shapes), text='recommended')
    # what `defrag keep --every 2h --whole --per-boot 1%` runs
    assert (mode.kind, mode.every_s, mode.whole, mode.drain,
            mode.drain_spare, mode.per_boot) == ('keeper', 7200, True, True,
                                                 1.5, 0.01)


ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.mark.parametrize('doc', ['README.md', 'doc/source/defrag.rst'])
def test_the_documented_keep_command_is_the_recommended_mode(doc):
    from nova_scale_ext import recommended
    from nova_scale_ext.cmd import main
    text = (ROOT / doc).read_text(encoding='utf-8')
    command = re.search(r'nova-scale-ext (defrag keep --os-cloud admin '
                        r'--every .*?)\n(?:```|\n)', text, re.S)[1]
    argv = shlex.split(re.sub(r':K\d?\b', ':1',
                              command.replace('\\\n', ' ')))
    args = main.build_parser().parse_args(argv)
    mode = dsim.parse_mode(recommended.DEFRAG_MODE, ['8:8192'])
    assert (args.every, args.whole, args.drain, args.drain_spare,
            args.per_boot) == (mode.every_s, mode.whole, mode.drain,
                               mode.drain_spare, mode.per_boot)
    assert mode.burst and args.max_migrations is None


def test_moves_are_reported_to_the_on_change_callback():
    wl, requests, ledger, chooser = two_hosts(FRAGMENTED)
    seen = []
    defrag = dsim.Defrag(dsim.parse_mode('on-rejection'), ledger, requests,
                         chooser, on_change=seen.append)
    replay(wl, ledger, chooser, requests, defrag=defrag)
    assert sorted(seen) == [0, 1]           # one move: its source and target


def test_a_keeper_short_of_its_room_opens_what_it_can_unless_whole():
    # two 4c VMs on two 8c hosts: one 8c slot can be opened, not two
    rows = FRAGMENTED[:2] + [(1, 1, 3, 4)]      # a tick at t=3
    _, partial, ledger, _ = run('keeper:2s:2', rows)
    assert partial.stats.migrations == 1
    assert sorted(ledger.count.tolist()) == [0, 2]
    _, whole, ledger, _ = run('keeper:2s:2:whole', rows)
    assert whole.stats.migrations == 0 and whole.stats.passes > 0
    assert sorted(ledger.count.tolist()) == [1, 1]


def test_a_burst_keeper_keeps_room_for_the_largest_burst_of_each_shape():
    mode = dsim.parse_mode('keeper:1h:burst:16', ['8:8192', '4:4096',
                                                  '2:2048'])
    assert mode.burst
    # 8:8192 at 0, 10 min, 50 min (three within the hour), then 3 h;
    # 4:4096 twice, hours apart; 2:2048 never (dropped)
    starts = np.array([0, 600, 3000, 10800, 0, 7200, 0], dtype=float)
    requests = np.array([[8, 8192, 0]] * 4 + [[4, 4096, 0]] * 2
                        + [[4, 8192, 0]], dtype=float)
    resolved = mode.for_workload(starts, requests)
    assert [(t.name, t.count) for t in resolved.shapes] == [
        ('8:8192', 3), ('4:4096', 1)]
    assert dsim.parse_mode('keeper:1h:2', ['8:8192']).for_workload(
        starts, requests).shapes[0].count == 2


def test_on_rejection_makes_up_to_64_migrations_per_rejection():
    assert dsim.parse_mode('on-rejection').budget.max_migrations == 64
    assert dsim.parse_mode('on-rejection:8').budget.max_migrations == 8


@pytest.mark.parametrize('text,whole,drain', [
    ('keeper:1h:2:whole', True, False),
    ('keeper:1h:2:drain', False, True),
    ('keeper:1h:2:4:whole:drain', True, True),
    ('keeper:1h:2:drain:whole', True, True),
])
def test_keeper_flags_come_after_its_settings(text, whole, drain):
    mode = dsim.parse_mode(text, ['8:8192'])
    assert (mode.whole, mode.drain) == (whole, drain)
    assert mode.shapes[0].count == 2


@pytest.mark.parametrize('text,spare', [
    ('keeper:1h:2:drain=1.5', 1.5),
    ('keeper:1h:2:drain=1:whole', 1.0),
    ('keeper:1h:2:whole:drain=1000', 1000.0),
    ('keeper:1h:2:drain', 0.0),
])
def test_a_drain_may_ask_for_capacity_to_spare(text, spare):
    mode = dsim.parse_mode(text, ['8:8192'])
    assert mode.drain and mode.drain_spare == spare


@pytest.mark.parametrize('value', ['', '0.5', '0', '-2', 'nan', 'inf',
                                   '1e9', 'x', '1.5%'])
def test_a_bad_spare_factor_is_refused(value):
    with pytest.raises(dsim.ModeError,
                       match=r'drain=F: expected a factor from 1 to 1000'):
        dsim.parse_mode(f'keeper:1h:2:drain={value}', ['8:8192'])


def test_only_drain_takes_a_value():
    with pytest.raises(dsim.ModeError, match='whole takes no value'):
        dsim.parse_mode('keeper:1h:2:whole=1', ['8:8192'])
    with pytest.raises(dsim.ModeError, match='drain is given twice'):
        dsim.parse_mode('keeper:1h:2:drain:drain=2', ['8:8192'])


def test_a_drain_with_a_spare_factor_waits_for_capacity_to_spare():
    # two 2c VMs spread on two 8c/16G hosts, a tick at t=3; the room, one
    # 4c/4G, is there: 12 vCPU free is 3 times that room, not 3.5 times
    rows = [(2, 2, 0, np.inf), (2, 2, 1, np.inf), (1, 1, 3, 4)]
    _, spare, ledger, _ = run('keeper:2s:4x4096=1:drain=3', rows)
    assert spare.stats.migrations == spare.stats.drained == 1
    assert sorted(ledger.count.tolist()) == [0, 2]
    _, short, ledger, _ = run('keeper:2s:4x4096=1:drain=3.5', rows)
    assert short.stats.migrations == 0 and short.stats.passes > 0
    assert sorted(ledger.count.tolist()) == [1, 1]


def test_a_keeper_flag_given_twice_is_refused():
    with pytest.raises(dsim.ModeError, match='drain is given twice'):
        dsim.parse_mode('keeper:1h:2:drain:drain', ['8:8192'])


def test_a_draining_keeper_empties_a_host():
    # two 2c VMs spread on two 8c hosts, a tick at t=3
    rows = [(2, 2, 0, np.inf), (2, 2, 1, np.inf), (1, 1, 3, 4)]
    _, plain, ledger, _ = run('keeper:2s:0', rows)
    assert plain.stats.migrations == 0
    assert sorted(ledger.count.tolist()) == [1, 1]
    _, drained, ledger, _ = run('keeper:2s:0:drain', rows)
    assert drained.stats.migrations == drained.stats.drained == 1
    assert sorted(ledger.count.tolist()) == [0, 2]


def test_drains_spend_a_part_of_a_per_boot_budget():
    wl, requests, ledger, chooser = two_hosts(
        [(2, 2, 0, np.inf), (2, 2, 1, np.inf), (1, 1, 3, 4)])
    mode = dsim.parse_mode('keeper:2s:0:100%:drain', ['8:8192'])
    defrag = dsim.Defrag(mode, ledger, requests, chooser, starts=wl.start)
    replay(wl, ledger, chooser, requests, defrag=defrag)
    assert defrag.stats.drained == 1
    # 1 VM started at the first tick: half of it is no migration
    defrag = dsim.Defrag(dataclasses.replace(mode, per_boot=0.5), ledger,
                         requests, chooser, starts=wl.start)
    assert defrag.drain(mode.shapes, 0.0, 0) == 0


def test_a_drain_leaves_half_of_a_per_boot_budget_to_the_room():
    wl, requests, ledger, chooser = two_hosts(
        [(2, 2, 0, np.inf), (2, 2, 1, np.inf), (1, 1, 3, 4)])
    replay(wl, ledger, chooser, requests)
    assert sorted(ledger.count.tolist()) == [1, 1]
    mode = dsim.parse_mode('keeper:2s:0:100%:drain', ['8:8192'])
    # 3 VMs started by t=3: drains stop once 1.5 migrations are made,
    # the room's included
    defrag = dsim.Defrag(mode, ledger, requests, chooser, starts=wl.start)
    defrag.stats.migrations = 1
    assert defrag.drain(mode.shapes, 3.0, 0) == 0
    defrag.stats.migrations = 0
    assert defrag.drain(mode.shapes, 3.0, 0) == 1
    assert sorted(ledger.count.tolist()) == [0, 2]


def test_a_keeper_drains_only_once_its_room_is_there():
    # three 8c VMs never fit on two 8c hosts: no room, so no drain either
    rows = [(2, 2, 0, np.inf), (2, 2, 1, np.inf), (1, 1, 3, 4)]
    _, defrag, ledger, _ = run('keeper:2s:3:4:whole:drain', rows)
    assert defrag.stats.migrations == 0
    assert sorted(ledger.count.tolist()) == [1, 1]
