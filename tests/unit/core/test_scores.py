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
"""The scoring core on plain vectors (no Nova)."""

import numpy as np
import pytest

from nova_scale_ext.core import resources as res
from nova_scale_ext.core import scores

W = res.resource_weights({'VCPU': 1, 'MEMORY_MB': 1, 'DISK_GB': 1})
W_CPU_RAM = res.resource_weights({'VCPU': 1, 'MEMORY_MB': 1})


def fleet(*hosts):
    cap = res.as_fleet(h[0] for h in hosts)
    used = res.as_fleet(h[1] for h in hosts)
    return cap, used


def test_best_fit_is_the_mean_used_share_after_placement():
    cap, used = fleet(((10, 100, 0), (5, 50, 0)))
    score = scores.best_fit(cap, used, res.vector(1, 10), W)
    # disk capacity 0 is left out: (6/10 + 60/100) / 2
    assert score[0] == pytest.approx(0.6)


def test_best_fit_prefers_the_small_host_it_fills_over_the_big_one():
    small = ((8, 16384, 100), (4, 8192, 50))     # half full, 8 vCPU host
    big = ((64, 262144, 1000), (4, 8192, 50))    # same usage, 8x the size
    cap, used = fleet(small, big)
    score = scores.best_fit(cap, used, res.vector(2, 4096, 20), W)
    assert score[0] > score[1]


def test_best_fit_ranks_empty_hosts_below_used_ones_biggest_first():
    hosts = (((8, 16384, 0), (0, 0, 0)),          # small, empty
             ((64, 262144, 0), (0, 0, 0)),        # big, empty
             ((64, 262144, 0), (2, 4096, 0)),     # big, nearly empty
             ((32, 65536, 0), (0, 0, 0)))         # middle, empty
    cap, used = fleet(*hosts)
    req = res.vector(4, 8192)
    plain = scores.best_fit(cap, used, req, W)
    assert np.argmax(plain) == 0      # as a share, the small host fills most
    empty = np.array([True, True, False, True])
    ranked = scores.best_fit(cap, used, req, W, empty)
    assert ranked[2] == plain[2]      # hosts in use keep their fill share
    assert ranked[2] > ranked[1] > ranked[3] > ranked[0]
    assert ranked[1] == 0.0 and (ranked[[0, 3]] < 0).all()
    # (8/64 + 16384/262144) / 2 - 1: half its relative size, minus one
    assert ranked[0] == pytest.approx((0.125 + 0.0625) / 2 - 1.0)


def test_best_fit_with_empty_flags_keeps_rankings_on_identical_hosts():
    cap, used = fleet(((16, 32768, 0), (0, 0, 0)),
                      ((16, 32768, 0), (8, 8192, 0)),
                      ((16, 32768, 0), (12, 24576, 0)))
    req = res.vector(1, 2048)
    empty = np.array([True, False, False])
    plain = scores.best_fit(cap, used, req, W)
    ranked = scores.best_fit(cap, used, req, W, empty)
    assert np.argsort(plain).tolist() == np.argsort(ranked).tolist()


def test_relative_size_against_the_largest_of_each_resource():
    cap, _ = fleet(((10, 400, 0), (0, 0, 0)), ((40, 100, 0), (0, 0, 0)))
    assert scores.relative_size(cap, W).tolist() == [0.625, 0.625]
    assert scores.relative_size(res.as_fleet([]), W).shape == (0,)


def test_best_fit_overcommitted_host_counts_as_full_not_beyond():
    cap, used = fleet(((4, 1000, 0), (8, 2000, 0)))
    assert scores.best_fit(cap, used, res.vector(1, 100), W)[0] == 1.0


def test_stranded_is_zero_when_free_capacity_matches_the_shape():
    # 8 vCPU / 16 GiB host with a 1c/2G flavor: fills both at once.
    cap, used = fleet(((8, 16384, 0), (0, 0, 0)))
    assert scores.shape_stranded(cap, used, res.vector(1, 2048), W)[0] == 0.0


def test_stranded_counts_idle_cpus_on_a_host_whose_ram_is_full():
    cap, used = fleet(((8, 16384, 0), (2, 14336, 0)))
    # after a 1c/2G instance RAM is full, 5 of 8 vCPUs are stranded
    value = scores.shape_stranded(cap, used, res.vector(1, 2048), W_CPU_RAM)[0]
    assert value == pytest.approx((5 / 8) / 2)


def test_stranded_prefers_the_host_left_in_the_request_shape():
    balanced = ((16, 32768, 0), (8, 16384, 0))
    lopsided = ((16, 32768, 0), (2, 28672, 0))
    cap, used = fleet(balanced, lopsided)
    value = scores.shape_stranded(cap, used, res.vector(1, 2048), W_CPU_RAM)
    assert value[0] < value[1]


def test_stranded_ignores_resources_the_request_does_not_use():
    cap, used = fleet(((8, 16384, 1000), (0, 0, 0)))
    value = scores.shape_stranded(cap, used, res.vector(1, 2048, 0), W)
    assert value[0] == 0.0


def test_headroom_keeps_the_configured_share_free():
    cap, used = fleet(((10, 1000, 0), (7, 100, 0)), ((10, 1000, 0), (0, 0, 0)))
    room = np.array([0.2, 0.0, 0.0])
    ok = scores.headroom_fits(cap, used, res.vector(2, 10), room)
    assert ok.tolist() == [False, True]


def test_headroom_exactly_at_the_limit_passes():
    cap, used = fleet(((10, 1000, 0), (6, 0, 0)))
    room = np.array([0.2, 0.0, 0.0])
    assert scores.headroom_fits(cap, used, res.vector(2, 0), room)[0]


def test_headroom_does_not_judge_resources_the_host_does_not_offer():
    cap, used = fleet(((10, 0, 0), (0, 0, 0)))
    room = np.array([0.0, 0.5, 0.5])
    assert scores.headroom_fits(cap, used, res.vector(1, 4096, 20), room)[0]


@pytest.mark.parametrize('capacity, used', [
    ((0, 0, 0), (0, 0, 0)),
    ((float('nan'), -5, float('inf')), (float('nan'), 3, -1)),
    ((-8, -1024, -10), (2, 2, 2)),
    ((8, 1024, 10), (-4, -4096, -20)),
])
def test_degenerate_hosts_give_finite_scores_in_range(capacity, used):
    cap, use = fleet((capacity, used))
    req = res.vector(1, 512, 1)
    fit = scores.best_fit(cap, use, req, W)
    strand = scores.shape_stranded(cap, use, req, W)
    assert np.isfinite(fit).all() and 0.0 <= fit[0] <= 1.0
    assert np.isfinite(strand).all() and 0.0 <= strand[0] <= 1.0
    assert scores.headroom_fits(cap, use, req, np.full(3, 0.1)).dtype == bool


def test_empty_fleet_gives_empty_scores():
    cap, used = fleet()
    assert scores.best_fit(cap, used, res.vector(1, 1), W).shape == (0,)
    assert scores.shape_stranded(cap, used, res.vector(1, 1), W).shape == (0,)


def test_effective_capacity_applies_reserved_then_ratio():
    assert res.effective_capacity(100, 1.5, 20) == 120.0
    assert res.effective_capacity(None, 1.0) == 0.0
    assert res.effective_capacity(10, float('nan')) == 10.0
    assert res.effective_capacity(10, -2.0) == 10.0
    assert res.effective_capacity(float('nan'), 1.0) == 0.0
    assert res.effective_capacity(float('inf'), 1.0) == 0.0
    caps = res.effective_capacity(np.array([8.0, 8.0]), np.array([4.0, 0.0]))
    assert caps.tolist() == [32.0, 8.0]
    assert res.effective_capacity(10, 1.0, 50) == 0.0


def test_resource_weights_ignore_unknown_negative_and_garbage():
    w = res.resource_weights({'vcpu': 2, 'GPU': 5, 'MEMORY_MB': -1,
                              'DISK_GB': 'x'})
    assert w.tolist() == [2.0, 0.0, 0.0]


SHAPES = res.as_fleet([(32, 65536, 0), (64, 131072, 0)])


def test_slot_counts_are_limited_by_the_scarcest_resource():
    free = res.as_fleet([(72, 163840, 0), (72, 65536, 0), (0, 0, 0)])
    assert scores.slot_counts(free, SHAPES).tolist() == [[2, 1], [1, 0],
                                                         [0, 0]]


def test_large_slot_loss_is_zero_in_slack_no_large_flavor_can_use():
    # 80 vCPUs: two 32-vCPU slots use 64, the other 16 are slack.
    cap, used = fleet(((80, 184320, 0), (0, 0, 0)))
    loss = scores.large_slot_loss(cap, used, res.vector(8, 16384), SHAPES)
    assert loss.tolist() == [0.0]


def test_large_slot_loss_weights_destroyed_slots_by_their_vcpus():
    # 64 vCPUs free: one 64-vCPU slot and two 32-vCPU slots; a 1-vCPU
    # instance destroys the 64 slot and one 32 slot.
    cap, used = fleet(((80, 184320, 0), (16, 32768, 0)))
    loss = scores.large_slot_loss(cap, used, res.vector(1, 2048), SHAPES)
    assert loss.tolist() == [32.0 + 64.0]


def test_large_slot_loss_of_an_empty_host_is_the_worst_in_use():
    # Host 0 is empty (loses no slot to a 1-vCPU instance), host 1 would
    # lose a 32 slot, host 2 nothing: opening host 0 costs as much as the
    # worst host in use, not less.
    cap, used = fleet(((80, 184320, 0), (0, 0, 0)),
                      ((80, 184320, 0), (48, 65536, 0)),
                      ((80, 184320, 0), (10, 20480, 0)))
    empty = np.array([True, False, False])
    loss = scores.large_slot_loss(cap, used, res.vector(1, 2048), SHAPES,
                                  empty)
    assert loss.tolist() == [32.0, 32.0, 0.0]
    # an empty host keeps a larger loss of its own (48 vCPUs on an empty
    # host: a 64 and a 32 slot, against 32 on host 1); all empty: unchanged
    big = res.vector(48, 98304)
    assert scores.large_slot_loss(cap[:2], used[:2], big, SHAPES,
                                  empty[:2]).tolist() == [96.0, 32.0]
    assert scores.large_slot_loss(
        cap, used, res.vector(1, 2048), SHAPES,
        np.array([True, True, True])).tolist() == [0.0, 32.0, 0.0]


def test_large_slot_loss_is_neutral_while_hosts_are_spare():
    # Hosts 0 and 3 are empty; host 1 would lose a 32 slot, host 2 a 64
    # and a 32 slot: half of the four hosts are empty.
    cap, used = fleet(((80, 184320, 0), (0, 0, 0)),
                      ((80, 184320, 0), (48, 65536, 0)),
                      ((80, 184320, 0), (10, 20480, 0)),
                      ((80, 184320, 0), (0, 0, 0)))
    empty = np.array([True, False, False, True])
    req = res.vector(8, 16384)

    def loss(share):
        return scores.large_slot_loss(cap, used, req, SHAPES, empty,
                                      share).tolist()

    raised, plain = [96.0, 32.0, 96.0, 96.0], [0.0, 32.0, 96.0, 0.0]
    assert loss(0.0) == raised          # the default: always kept for last
    assert loss(0.5) == [0.0] * 4       # half empty: hosts to spare
    assert loss(0.25) == [0.0] * 4
    assert loss(0.6) == plain           # fewer empty than that: open one
    assert loss(1.0) == plain
    # every host empty: spare whatever the share below 1.0
    none_used = np.array([True] * 4)
    assert scores.large_slot_loss(cap, used * 0, req, SHAPES, none_used,
                                  0.5).tolist() == [0.0] * 4


def test_large_slot_loss_without_shapes_is_zero():
    cap, used = fleet(((80, 184320, 0), (16, 32768, 0)))
    empty = res.as_fleet([])
    assert scores.large_slot_loss(cap, used, res.vector(1, 2048),
                                  empty).tolist() == [0.0]
