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
"""The fast engine makes the reference engine's decisions.

The reference engine runs Nova's own HostState, HostFilterHandler and
HostWeightHandler; the fast engine vectorises the same pipeline.  Both
replay sampled workloads on tight fleets (so that rejections happen and
choices matter) under every built-in policy and a few custom nova.conf
files, and every decision must be the same.
"""

import numpy as np
import pytest

from nova_scale_ext.simulate import engine_fast, engine_nova, model
from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import policy as policy_mod
from nova_scale_ext.simulate import workload as wl_mod
from nova_scale_ext.simulate.replay import replay

MIXED_FLEET = fleet_mod.Fleet(
    (fleet_mod.HostClass('small', 4, 16, 32768, disk_gb=400,
                         reserved_memory_mb=1024),
     fleet_mod.HostClass('big', 3, 48, 131072, disk_gb=800,
                         cpu_allocation_ratio=2.0, reserved_vcpus=2,
                         aggregates=('oc',)),
     fleet_mod.HostClass('mem', 2, 32, 262144, disk_gb=400,
                         aggregates=('highmem',))),
    {'oc': {'best_fit_weight_multiplier': '2.0',
            'cpu_weight_multiplier': '-2.0'},
     'highmem': {'headroom_memory_ratio': '0.25',
                 'large_slot_weight_multiplier': 'garbage'}},
    'mixed')

CUSTOM = {
    'stranded': """\
[filter_scheduler]
weight_classes = nova_scale_ext.scheduler.weights.all_weighers
available_filters = nova.scheduler.filters.all_filters
available_filters = nova_scale_ext.scheduler.filters.all_filters
enabled_filters = ComputeFilter,ScaleExtHeadroomFilter
[scale_ext_weights]
stranded_capacity_weight_multiplier = 2.0
large_slot_flavors = 8:16384
[scale_ext_filters]
headroom_vcpu_ratio = 0.1
""",
    'mixed-nova': """\
[filter_scheduler]
ram_weight_multiplier = -1.0
cpu_weight_multiplier = 0.5
num_instances_weight_multiplier = -0.5
""",
    # Nova's random picks: the same draws in both engines
    'random-picks': policy_mod.builtin('scale-ext').conf_text + """\
[filter_scheduler]
host_subset_size = 3
shuffle_best_same_weighed_hosts = true
""",
    'shuffled-stack': policy_mod.NOVA_STACK_CONF + """\
shuffle_best_same_weighed_hosts = true
""",
}


def _policies():
    out = [policy_mod.builtin(name) for name in policy_mod.BUILTIN]
    out += [policy_mod.Policy(name, text) for name, text in CUSTOM.items()]
    return out


def _decisions(engine_cls, loaded, workload, fleet):
    with_disk = fleet.offers_disk
    requests = workload.requests(with_disk)
    shapes, shape_of = model.shapes_of(requests)
    eng = engine_cls(loaded, workload, shapes, shape_of, with_disk)
    ledger = model.Ledger(fleet, len(workload))
    seen = []

    def observe(pos, vm, host):
        seen.append((vm, host))
        return False

    out = replay(workload, ledger, eng.chooser(ledger), requests,
                 observer=observe)
    return seen, out.rejections


CASES = [
    ('identical', 11, lambda: fleet_mod.identical(6, '16c/32G/200')),
    ('identical-no-disk', 12, lambda: fleet_mod.identical(5, '24c/48G')),
    ('mixed', 13, lambda: MIXED_FLEET),
]


@pytest.mark.parametrize('pol', _policies(), ids=lambda p: p.name)
@pytest.mark.parametrize('case', CASES, ids=lambda c: c[0])
def test_fast_engine_makes_the_reference_decisions(pol, case):
    _, seed, make_fleet = case
    fleet = make_fleet()
    workload = wl_mod.synthetic(250, seed, alive=60)
    with policy_mod.loaded(pol) as loaded:
        fast, fast_rej = _decisions(engine_fast.FastEngine, loaded,
                                    workload, fleet)
        ref, ref_rej = _decisions(engine_nova.ReferenceEngine, loaded,
                                  workload, fleet)
    assert len(fast) == len(ref) == len(workload)
    first = next((i for i, (a, b) in enumerate(zip(fast, ref)) if a != b),
                 None)
    assert first is None, (
        f'{pol.name}: decision {first} differs: fast {fast[first]}, '
        f'reference {ref[first]}')
    assert fast_rej == ref_rej
    # the case exercises choices: several hosts used
    used = {host for _, host in ref if host >= 0}
    assert len(used) > 1


def test_policies_really_differ_on_these_workloads():
    fleet = MIXED_FLEET
    workload = wl_mod.synthetic(250, 13, alive=60)
    outcomes = {}
    for pol in _policies()[:3]:
        with policy_mod.loaded(pol) as loaded:
            outcomes[pol.name] = _decisions(
                engine_fast.FastEngine, loaded, workload, fleet)[0]
    assert outcomes['nova-default'] != outcomes['nova-stack']
    assert outcomes['nova-stack'] != outcomes['scale-ext']


def test_fast_engine_names_what_it_cannot_model():
    pol = policy_mod.Policy('metrics', """\
[filter_scheduler]
weight_classes = nova.scheduler.weights.metrics.MetricsWeigher
[metrics]
weight_setting = cpu.percent=1.0
""")
    workload = wl_mod.synthetic(20, 1)
    fleet = fleet_mod.identical(3, '16c/32G')
    requests = workload.requests(False)
    shapes, shape_of = model.shapes_of(requests)
    with policy_mod.loaded(pol) as loaded:
        try:
            engine_fast.FastEngine(loaded, workload, shapes, shape_of,
                                   False)
        except engine_fast.FastUnsupported as exc:
            assert 'Metrics' in str(exc)
        else:
            # modelled: then it must agree with the reference engine
            fast, _ = _decisions(engine_fast.FastEngine, loaded, workload,
                                 fleet)
            ref, _ = _decisions(engine_nova.ReferenceEngine, loaded,
                                workload, fleet)
            assert fast == ref


def test_tie_break_ignores_float_noise_and_prefers_low_index():
    weights = np.array([0.3, 0.1 + 0.2, 0.2])
    assert weights[1] > weights[0]          # 0.30000000000000004
    assert model.choose(weights) == 0
    assert model.choose(np.array([0.1, 0.5, 0.5])) == 1
    assert model.choose(np.array([])) == -1


def test_picker_without_random_picks_is_the_tie_break():
    picker = model.Picker()
    assert not picker.random
    weights = np.array([0.3, 0.1 + 0.2, 0.2])
    assert picker.choose(weights) == model.choose(weights) == 0
    assert picker.choose(np.array([])) == -1


def test_picker_shuffles_only_the_best_weights():
    picker = model.Picker(shuffle=True, seed=5)
    weights = np.array([0.2, 0.9, 0.5, 0.1 + 0.8, 0.9])
    picks = {picker.choose(weights) for _ in range(200)}
    # all three of the best (0.9 up to float noise), nothing else
    assert picks == {1, 3, 4}


def test_picker_draws_from_the_subset_of_best_weights():
    picker = model.Picker(subset_size=2, seed=5)
    weights = np.array([0.2, 0.9, 0.5, 0.7, 0.1])
    picks = [picker.choose(weights) for _ in range(200)]
    assert set(picks) == {1, 3}
    # a subset larger than the hosts is all of them
    wide = model.Picker(subset_size=10, seed=5)
    assert {wide.choose(weights) for _ in range(300)} == set(range(5))
    # repeatable: the same seed, the same picks
    again = model.Picker(subset_size=2, seed=5)
    assert [again.choose(weights) for _ in range(200)] == picks


def test_random_picks_change_the_decisions_and_stop_prefix_sharing():
    fleet = MIXED_FLEET
    workload = wl_mod.synthetic(250, 13, alive=60)
    requests = workload.requests(fleet.offers_disk)
    shapes, shape_of = model.shapes_of(requests)
    plain, picked = (policy_mod.builtin('scale-ext'),
                     policy_mod.Policy('random-picks',
                                       CUSTOM['random-picks']))
    out = {}
    for pol in (plain, picked):
        with policy_mod.loaded(pol) as loaded:
            eng = engine_fast.FastEngine(loaded, workload, shapes, shape_of,
                                         fleet.offers_disk)
            out[pol.name] = (eng.pick, eng.shares_prefixes,
                             _decisions(engine_fast.FastEngine, loaded,
                                        workload, fleet)[0])
    assert out['scale-ext'][:2] == ((1, False), True)
    assert out['random-picks'][:2] == ((3, True), False)
    assert out['scale-ext'][2] != out['random-picks'][2]
