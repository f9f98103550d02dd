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
"""Our filter and weighers driven through Nova's own handlers, on real
HostState and RequestSpec objects."""

import copy
import logging

import pytest
from nova.scheduler import filters as nova_filters
from nova.scheduler import weights as nova_weights
from nova.scheduler.weights import cpu as nova_cpu
from nova.scheduler.weights import ram as nova_ram
from oslo_config import cfg
from oslo_config import fixture as cfg_fixture

from nova_scale_ext.scheduler.filters import headroom
from nova_scale_ext.scheduler.weights import best_fit, stranded_capacity
from tests import nova_objects as nobj


@pytest.fixture
def conf():
    fixture = cfg_fixture.Config(cfg.CONF)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


def best_host(weigher_classes, hosts, spec):
    weighers = [cls() for cls in weigher_classes]
    weighed = nova_weights.HostWeightHandler().get_weighed_objects(
        weighers, hosts, spec)
    return weighed[0].obj.host


def passing(hosts, spec, filter_cls=headroom.ScaleExtHeadroomFilter):
    result = nova_filters.HostFilterHandler().get_filtered_objects(
        [filter_cls()], hosts, spec)
    return sorted(h.host for h in (result or []))


# A small empty host and a big host already half full. Nova's stacking
# (RAM and CPU weighers at -1.0) compares absolute free amounts and opens the
# small empty host; best fit continues on the big host, the fuller one.
def small_empty_and_big_half_full():
    small = nobj.host('small', vcpus=8, memory_mb=16384)
    big = nobj.host('big', vcpus=64, memory_mb=131072, vcpus_used=32,
                    memory_mb_used=65536)
    return [small, big]


def test_nova_stacking_opens_the_small_empty_host(conf):
    conf.config(group='filter_scheduler', ram_weight_multiplier=-1.0,
                cpu_weight_multiplier=-1.0)
    hosts = small_empty_and_big_half_full()
    spec = nobj.request(2, 4096)
    assert best_host([nova_ram.RAMWeigher, nova_cpu.CPUWeigher], hosts,
                     spec) == 'small'


def test_best_fit_continues_on_the_fuller_big_host(conf):
    hosts = small_empty_and_big_half_full()
    assert best_host([best_fit.ScaleExtBestFitWeigher], hosts,
                     nobj.request(2, 4096)) == 'big'


def test_best_fit_opens_the_biggest_empty_host(conf):
    # As a share of its own capacity the small host would fill most; with
    # nothing in use anywhere the biggest host is opened instead.
    hosts = [nobj.host('small', 8, 16384), nobj.host('big', 64, 131072),
             nobj.host('middle', 32, 65536)]
    assert best_host([best_fit.ScaleExtBestFitWeigher], hosts,
                     nobj.request(2, 4096)) == 'big'
    hosts.append(nobj.host('used', 8, 16384, vcpus_used=1,
                           memory_mb_used=512))
    assert best_host([best_fit.ScaleExtBestFitWeigher], hosts,
                     nobj.request(2, 4096)) == 'used'


def test_best_fit_prefers_the_host_it_fills_most(conf):
    hosts = [nobj.host('a', 16, 32768, vcpus_used=4, memory_mb_used=8192),
             nobj.host('b', 16, 32768, vcpus_used=12, memory_mb_used=24576),
             nobj.host('c', 16, 32768)]
    assert best_host([best_fit.ScaleExtBestFitWeigher], hosts,
                     nobj.request(1, 2048)) == 'b'


def test_best_fit_applies_allocation_ratios(conf):
    # 'a' has 4x CPU overcommit: 8 used of 32 is only a quarter full.
    hosts = [nobj.host('a', 8, 16384, vcpus_used=8, memory_mb_used=4096,
                       cpu_ratio=4.0),
             nobj.host('b', 8, 16384, vcpus_used=4, memory_mb_used=8192)]
    conf.config(group='scale_ext_weights',
                packing_resource_weights={'VCPU': 1.0, 'MEMORY_MB': 1.0})
    assert best_host([best_fit.ScaleExtBestFitWeigher], hosts,
                     nobj.request(1, 1024)) == 'b'


def test_negative_best_fit_multiplier_spreads(conf):
    conf.config(group='scale_ext_weights', best_fit_weight_multiplier=-1.0)
    hosts = small_empty_and_big_half_full()
    assert best_host([best_fit.ScaleExtBestFitWeigher], hosts,
                     nobj.request(2, 4096)) == 'small'


def test_aggregate_metadata_overrides_the_multiplier(conf):
    spread = nobj.aggregate('spread', best_fit_weight_multiplier='-1.0')
    small = nobj.host('small', 8, 16384)
    big = nobj.host('big', 64, 131072, vcpus_used=32, memory_mb_used=65536,
                    aggregates=[spread])
    weigher = best_fit.ScaleExtBestFitWeigher()
    assert weigher.weight_multiplier(big) == -1.0
    assert weigher.weight_multiplier(small) == 1.0
    assert best_host([best_fit.ScaleExtBestFitWeigher], [small, big],
                     nobj.request(2, 4096)) == 'small'


def test_smallest_aggregate_multiplier_wins(conf):
    aggs = [nobj.aggregate('x', best_fit_weight_multiplier='3'),
            nobj.aggregate('y', best_fit_weight_multiplier='0.5')]
    host = nobj.host('h', 8, 16384, aggregates=aggs)
    assert best_fit.ScaleExtBestFitWeigher().weight_multiplier(host) == 0.5


def test_garbage_aggregate_multiplier_is_logged_once_and_ignored(
        conf, caplog):
    bad = nobj.aggregate('rack7', best_fit_weight_multiplier='lots')
    host = nobj.host('h', 8, 16384, aggregates=[bad])
    weigher = best_fit.ScaleExtBestFitWeigher()
    with caplog.at_level(logging.WARNING):
        values = [weigher.weight_multiplier(host) for _ in range(3)]
    assert values == [1.0, 1.0, 1.0]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING
                and 'rack7' in r.getMessage()]
    assert len(warnings) == 1
    assert 'best_fit_weight_multiplier' in warnings[0].getMessage()
    assert "'lots'" in warnings[0].getMessage()


def test_stranded_weigher_avoids_leaving_idle_cpus_behind(conf):
    # After a 1c/4G instance, 'lopsided' would have RAM full and 11 vCPUs
    # idle; 'balanced' keeps room in the request's proportions.
    lopsided = nobj.host('lopsided', 16, 32768, vcpus_used=4,
                         memory_mb_used=28672)
    balanced = nobj.host('balanced', 16, 32768, vcpus_used=8,
                         memory_mb_used=16384)
    assert best_host([stranded_capacity.ScaleExtStrandedCapacityWeigher],
                     [lopsided, balanced], nobj.request(1, 4096)) == (
        'balanced')


def test_a_weigher_at_multiplier_zero_does_not_score(conf, monkeypatch):
    conf.config(group='scale_ext_weights',
                stranded_capacity_weight_multiplier=0.0)
    weigher = stranded_capacity.ScaleExtStrandedCapacityWeigher()
    scored = []
    monkeypatch.setattr(weigher, 'score',
                        lambda hosts: scored.append(hosts) or [1.0, 2.0])
    hosts = [nobj.host('a', 16, 32768), nobj.host('b', 16, 32768)]
    weighed = [nova_weights.WeighedHost(h, 0.0) for h in hosts]
    assert weigher.weigh_objects(weighed, nobj.request(1, 4096)) == [0.0,
                                                                     0.0]
    assert scored == []
    # an aggregate may give some hosts a multiplier: then it scores
    hosts[1].aggregates = [nobj.aggregate(
        'x', stranded_capacity_weight_multiplier='1.0')]
    assert weigher.weigh_objects(weighed, nobj.request(1, 4096)) == [1.0,
                                                                     2.0]
    assert len(scored) == 1


def test_weighers_score_hosts_without_capacity_neutrally(conf):
    from nova.scheduler import host_manager
    fresh = host_manager.HostState('fresh', 'fresh', 'cell')  # no update yet
    hosts = [fresh, nobj.host('b', 8, 16384, vcpus_used=4,
                              memory_mb_used=8192)]
    for cls in (best_fit.ScaleExtBestFitWeigher,
                stranded_capacity.ScaleExtStrandedCapacityWeigher):
        raw = cls().weigh_objects(
            [nova_weights.WeighedHost(h, 0.0) for h in hosts],
            nobj.request(1, 1024))
        assert len(raw) == 2 and raw[0] == 0.0


def test_invalid_resource_weights_in_nova_conf_fall_back_with_warning(
        conf, tmp_path, caplog):
    path = tmp_path / 'nova.conf'
    path.write_text('[scale_ext_weights]\n'
                    'packing_resource_weights = VCPU:abc\n')
    conf.set_config_files([str(path)])
    hosts = small_empty_and_big_half_full()
    with caplog.at_level(logging.WARNING):
        host = best_host([best_fit.ScaleExtBestFitWeigher], hosts,
                         nobj.request(2, 4096))
    assert host == 'big'
    assert any('packing_resource_weights' in r.getMessage()
               for r in caplog.records)


def test_unknown_resource_name_is_ignored_with_warning(conf, caplog):
    conf.config(group='scale_ext_weights',
                packing_resource_weights={'VCPU': 1.0, 'GPU': 1.0})
    with caplog.at_level(logging.WARNING):
        best_host([best_fit.ScaleExtBestFitWeigher],
                  small_empty_and_big_half_full(), nobj.request(2, 4096))
    assert any("'GPU'" in r.getMessage() for r in caplog.records)


def test_headroom_filter_keeps_the_configured_share_free(conf):
    conf.config(group='scale_ext_filters', headroom_memory_ratio=0.25)
    hosts = [nobj.host('roomy', 16, 32768, memory_mb_used=16384),
             nobj.host('tight', 16, 32768, memory_mb_used=23552)]
    assert passing(hosts, nobj.request(1, 2048)) == ['roomy']


def test_headroom_filter_passes_everything_by_default(conf):
    hosts = [nobj.host('full', 16, 32768, vcpus_used=15,
                       memory_mb_used=30720)]
    assert passing(hosts, nobj.request(1, 2048)) == ['full']


def test_headroom_aggregate_override_applies_to_its_hosts_only(conf):
    ha = nobj.aggregate('ha', headroom_vcpu_ratio='0.5')
    hosts = [nobj.host('in-ha', 16, 32768, vcpus_used=6, aggregates=[ha]),
             nobj.host('other', 16, 32768, vcpus_used=6)]
    assert passing(hosts, nobj.request(4, 1024)) == ['other']


def test_headroom_bad_aggregate_value_falls_back_to_config(conf, caplog):
    conf.config(group='scale_ext_filters', headroom_vcpu_ratio=0.5)
    bad = nobj.aggregate('typo', headroom_vcpu_ratio='1.5')
    hosts = [nobj.host('h', 16, 32768, vcpus_used=6, aggregates=[bad])]
    with caplog.at_level(logging.WARNING):
        assert passing(hosts, nobj.request(4, 1024)) == []
    assert any('typo' in r.getMessage() and '1.5' in r.getMessage()
               for r in caplog.records)


def test_headroom_filter_does_not_judge_rebuilds(conf):
    from nova import objects
    conf.config(group='scale_ext_filters', headroom_vcpu_ratio=0.5)
    spec = nobj.request(4, 1024)
    spec.scheduler_hints = {'_nova_check_type': ['rebuild']}
    spec.requested_destination = objects.Destination(host='h')
    hosts = [nobj.host('h', 16, 32768, vcpus_used=14)]
    assert passing(hosts, spec) == ['h']


def test_headroom_filter_counts_overcommit(conf):
    conf.config(group='scale_ext_filters', headroom_vcpu_ratio=0.5)
    hosts = [nobj.host('h', 16, 32768, vcpus_used=20, cpu_ratio=4.0)]
    # capacity 64 vCPUs, 20 + 4 used leaves more than half free
    assert passing(hosts, nobj.request(4, 1024)) == ['h']


def test_a_fleet_of_twenty_thousand_hosts_is_weighed_and_filtered(conf):
    conf.config(group='scale_ext_filters', headroom_memory_ratio=0.1)
    template = small_empty_and_big_half_full()
    hosts = []
    for i in range(20000):
        state = copy.copy(template[i % 2])
        state.host = state.nodename = f'h{i}'
        hosts.append(state)
    spec = nobj.request(2, 4096)
    weighers = [cls() for cls in (best_fit.ScaleExtBestFitWeigher,
                                  stranded_capacity.ScaleExtStrandedCapacityWeigher)]
    weighed = nova_weights.HostWeightHandler().get_weighed_objects(
        weighers, hosts, spec)
    assert len(weighed) == 20000
    assert weighed[0].obj.host.startswith('h') and int(
        weighed[0].obj.host[1:]) % 2 == 1      # a big, half-full host
    assert len(passing(hosts, spec)) == 20000


def test_large_slot_weigher_uses_slack_before_breaking_a_large_slot(conf):
    from nova_scale_ext.scheduler.weights import large_slot
    conf.config(group='scale_ext_weights',
                large_slot_flavors=['32:65536', '64:131072'])
    # 'fuller' has exactly one 32-vCPU slot left, which a 4-vCPU instance
    # would destroy; 'slack' keeps 16 vCPUs beyond its two 32-vCPU slots.
    fuller = nobj.host('fuller', 80, 184320, vcpus_used=48,
                       memory_mb_used=98304)
    slack = nobj.host('slack', 80, 184320, vcpus_used=8,
                      memory_mb_used=16384)
    spec = nobj.request(4, 8192)
    assert best_host([best_fit.ScaleExtBestFitWeigher], [fuller, slack],
                     spec) == 'fuller'
    assert best_host([large_slot.ScaleExtLargeSlotWeigher], [fuller, slack],
                     spec) == 'slack'


def test_large_slot_weigher_opens_an_empty_host_when_none_are_spare(conf):
    from nova_scale_ext.scheduler.weights import large_slot
    conf.config(group='scale_ext_weights', large_slot_weight_multiplier=3.0,
                large_slot_flavors=['32:65536', '64:131072'])
    # An 8-vCPU instance cuts a 64-vCPU slot on either host in use and
    # none on the empty host: one host of three is empty.
    hosts = [nobj.host('used', 80, 184320, vcpus_used=10,
                       memory_mb_used=20480),
             nobj.host('fuller', 80, 184320, vcpus_used=12,
                       memory_mb_used=24576),
             nobj.host('empty', 80, 184320)]
    weighers = [best_fit.ScaleExtBestFitWeigher,
                large_slot.ScaleExtLargeSlotWeigher]
    spec = nobj.request(8, 16384)
    assert best_host(weighers, hosts, spec) == 'fuller'    # default 0.0
    conf.config(group='scale_ext_weights', large_slot_spare_host_share=0.5)
    assert large_slot.ScaleExtLargeSlotWeigher().counts_empty_hosts()
    assert best_host(weighers, hosts, spec) == 'empty'
    # with two empty hosts of four, half are spare: large slots are
    # plentiful, the large-slot weigher is neutral and best fit packs
    hosts.append(nobj.host('empty2', 80, 184320))
    assert best_host(weighers, hosts, spec) == 'fuller'
    weigher = large_slot.ScaleExtLargeSlotWeigher()
    raw = weigher.weigh_objects(
        [nova_weights.WeighedHost(h, 0.0) for h in hosts], spec)
    assert raw == [0.0] * 4
    # one spare host of three again: 'used' and 'fuller' both lose a
    # 64-vCPU and a 32-vCPU slot, the empty host none
    raw = weigher.weigh_objects(
        [nova_weights.WeighedHost(h, 0.0) for h in hosts[:3]], spec)
    assert raw == [-96.0, -96.0, 0.0]


def test_large_slot_weigher_skips_unreadable_flavor_items(conf, caplog):
    from nova_scale_ext.scheduler.weights import large_slot
    conf.config(group='scale_ext_weights',
                large_slot_flavors=['32:65536', 'big', '0:10', '64'])
    with caplog.at_level(logging.WARNING):
        shapes = large_slot.configured_shapes()
    assert shapes.tolist() == [[32.0, 65536.0, 0.0]]
    messages = ' '.join(r.getMessage() for r in caplog.records)
    assert "'big'" in messages and "'0:10'" in messages and "'64'" in messages
