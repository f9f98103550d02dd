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
"""Lower bound and the hosts-needed search."""

import math
import os
import re

import numpy as np
import pytest

from nova_scale_ext.simulate import compact, engine_fast, engine_nova, model
from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import policy as policy_mod
from nova_scale_ext.simulate import workload as wl_mod
from nova_scale_ext.simulate.replay import replay

HUAWEI = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                      'shared',
                      'traces', 'huawei-east-1-lt.csv')


def _workload(rows):
    """rows: (vcpus, memory_mb, start, end)."""
    n = len(rows)
    return wl_mod.Workload(
        'hand', [str(i) for i in range(n)],
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.array([r[2] for r in rows], dtype=np.float64),
        np.array([r[3] for r in rows], dtype=np.float64))


def test_lower_bound_is_peak_demand_over_host_capacity():
    # at t=5 alive: 3 VMs of 4 vCPU / 12 GiB = 12 vCPU / 36 GiB
    wl = _workload([(4, 12288, 0, 10), (4, 12288, 1, 10),
                    (4, 12288, 5, 20), (8, 1024, 10, 30)])
    fleet = fleet_mod.identical(1, '8c/16G')
    bound = compact.lower_bound(wl, fleet, wl.requests(False))
    # memory: 36 GiB / 16 GiB -> 3 hosts; vCPU: 12 / 8 -> 2 hosts
    assert bound == 3


def test_departures_come_before_arrivals_at_the_same_second():
    wl = _workload([(8, 1024, 0, 10), (8, 1024, 10, 20)])
    fleet = fleet_mod.identical(1, '8c/16G')
    assert compact.lower_bound(wl, fleet, wl.requests(False)) == 1


def test_hosts_for_is_exact_at_integers():
    assert compact.hosts_for(160, 80) == 2
    assert compact.hosts_for(161, 80) == 3
    assert compact.hosts_for(0, 80) == 0


def _brute_force(loaded, workload, base, bound, top):
    requests = workload.requests(base.offers_disk)
    shapes, shape_of = model.shapes_of(requests)
    eng = engine_nova.ReferenceEngine(loaded, workload, shapes, shape_of,
                                      base.offers_disk)
    for n in range(max(bound, 1), top + 1):
        ledger = model.Ledger(base.resized(n), len(workload))
        out = replay(workload, ledger, eng.chooser(ledger), requests,
                     stop_at_first_rejection=True)
        if out.completed and out.rejections == 0:
            return n
    return None


def _policy(name):
    """A built-in policy, or ``spare-S``: the recommended configuration
    with ``large_slot_spare_host_share = S``."""
    if not name.startswith('spare-'):
        return policy_mod.builtin(name)
    from nova_scale_ext import recommended
    text = re.sub(r'(?m)^large_slot_spare_host_share = .*$',
                  f'large_slot_spare_host_share = {name[6:]}',
                  recommended.NOVA_CONF)
    assert text != recommended.NOVA_CONF
    return policy_mod.Policy(name, text)


def _search_cases():
    """Sizes and seeds where the policies need different, non-trivial
    numbers of hosts (above the lower bound). Nova's default spreads, so it
    needs many sizes above the bound: tried at one size, where that costs
    seconds with Nova's code, not minutes."""
    for size, seed in [('32c/64G', 4), ('16c/32G', 3), ('24c/64G', 3)]:
        for name in policy_mod.BUILTIN + ('spare-0.2', 'spare-0.8'):
            if name != 'nova-default' or size == '24c/64G':
                yield size, seed, name


@pytest.mark.parametrize('size,seed,name', list(_search_cases()))
def test_search_equals_trying_every_size_with_nova_code(size, seed, name):
    workload = wl_mod.synthetic(300, seed, alive=80)
    base = fleet_mod.identical(1, size)
    requests = workload.requests(False)
    shapes, shape_of = model.shapes_of(requests)
    bound = compact.lower_bound(workload, base, requests)
    with policy_mod.loaded(_policy(name)) as loaded:
        fast = engine_fast.FastEngine(loaded, workload, shapes, shape_of,
                                      False)
        assert fast.shares_prefixes
        found = compact.search(fast.chooser, workload, requests, base, bound,
                               share_prefixes=fast.shares_prefixes,
                               spare_share=fast.spare_share,
                               max_candidates=fast.limit)
        expected = _brute_force(loaded, workload, base, bound,
                                workload.peak_alive_vms() + 1)
    assert found.hosts_needed == expected
    assert found.hosts_needed >= bound
    # every size from the bound up to the answer was decided
    assert sorted(found.tested) == list(range(bound,
                                              found.hosts_needed + 1))
    assert [n for n, ok in found.tested.items() if ok] == [
        found.hosts_needed]


def test_search_reads_the_spare_share_from_the_chooser():
    """A caller that does not pass ``spare_share`` still gets the right
    answer: on this workload a search blind to the large-slot weigher's
    regime (one shared replay on 7 hosts standing for 6) finds 7 hosts,
    though the recommended policy places every VM on 6."""
    workload = wl_mod.synthetic(600, 6, alive=150)
    base = fleet_mod.identical(1, '80c/180G')
    requests = workload.requests(False)
    shapes, shape_of = model.shapes_of(requests)
    bound = compact.lower_bound(workload, base, requests)
    with policy_mod.loaded(policy_mod.builtin('scale-ext')) as loaded:
        fast = engine_fast.FastEngine(loaded, workload, shapes, shape_of,
                                      False)
        assert fast.spare_share is not None
        found = compact.search(fast.chooser, workload, requests, base, bound)
        replays = {}
        for n in range(bound, found.hosts_needed + 1):
            ledger = model.Ledger(base.resized(n), len(workload))
            out = replay(workload, ledger, fast.chooser(ledger), requests,
                         stop_at_first_rejection=True)
            replays[n] = out.completed and out.rejections == 0
    # every size replayed from the start: the first that passes is the one
    assert [n for n, ok in replays.items() if ok] == [found.hosts_needed]
    assert found.tested == replays


def test_search_reports_a_vm_larger_than_any_host():
    wl = _workload([(4, 1024, 0, 10), (64, 1024, 1, 10)])
    base = fleet_mod.identical(1, '32c/64G')
    requests = wl.requests(False)
    shapes, shape_of = model.shapes_of(requests)
    with policy_mod.loaded(policy_mod.builtin('nova-stack')) as loaded:
        eng = engine_fast.FastEngine(loaded, wl, shapes, shape_of, False)
        found = compact.search(eng.chooser, wl, requests, base, 1)
    assert found.hosts_needed is None
    assert 'does not fit an empty host' in found.note


@pytest.mark.skipif(not os.path.exists(HUAWEI),
                    reason='the Huawei trace is not in ../shared/traces')
@pytest.mark.parametrize('size,bound', [('80c/180G', 54), ('96c/384G', 45)])
def test_huawei_lower_bound(size, bound):
    wl = wl_mod.read(HUAWEI, 'huawei-lt')
    assert len(wl) == 116313
    base = fleet_mod.identical(1, size)
    assert compact.lower_bound(wl, base, wl.requests(False)) == bound
    peak = wl.alive_peak(wl.requests(False))
    assert math.isclose(peak[0], 4273)


class _Pool:
    def __init__(self, cand, empty):
        self.pool = (cand, empty)


@pytest.mark.parametrize('pool,split', [
    # 10 candidates, 5 empty: neutral at 10 hosts; with n hosts 10 - n
    # fewer candidates, all empty: below half empty, it counts losses
    ((10, 5), [5, 6, 7, 8, 9]),
    # 8 of 10 empty: still at least half empty down to 6 hosts (4 of 6)
    ((10, 8), []),
    # 7 of 10 empty: 6 hosts leave 3 of 6 (neutral), 5 hosts 2 of 5
    ((10, 7), [5]),
    # no empty candidate: the extra hosts are not candidates either
    ((10, 0), []),
])
def test_a_size_whose_large_slot_regime_differs_goes_its_own_way(pool,
                                                                  split):
    ledger = model.Ledger(fleet_mod.identical(10, '16c/32G'), 1)
    window = compact._Window(5, 10, ledger, True, spare_share=0.5)
    window.chooser = _Pool(*pool)
    assert window.regime_splits() == split
    window(0, 0, 0)
    assert sorted(window.forks) == split
    assert window.pending == [n for n in range(5, 10) if n not in split]
