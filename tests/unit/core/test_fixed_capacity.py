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
"""FixedCapacity gives the scores of the plain functions, bit for bit."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_scale_ext.core import scores

SETTINGS = settings(max_examples=300, deadline=None)

#: capacities as hosts have them: some resources not offered (0), small
#: and large hosts, fractional amounts after allocation ratios
AMOUNTS = st.sampled_from([0.0, 0.5, 1.0, 2.0, 7.5, 16.0, 80.0, 96.0, 160.0,
                           1024.0, 184320.0, 393216.0, 2000.0])


@st.composite
def cases(draw):
    hosts = draw(st.integers(min_value=0, max_value=9))
    cap = np.array([[draw(AMOUNTS) for _ in range(3)] for _ in range(hosts)],
                   dtype=np.float64).reshape(hosts, 3)
    weights = np.array([draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))
                        for _ in range(3)])
    idx = np.array(sorted(draw(st.sets(
        st.integers(min_value=0, max_value=max(hosts - 1, 0)),
        max_size=hosts))) if hosts else [], dtype=np.int64)
    share = st.floats(min_value=-0.5, max_value=1.5)
    used = np.array([[draw(share) * max(cap[i, r], 1.0) for r in range(3)]
                     for i in idx], dtype=np.float64).reshape(len(idx), 3)
    request = np.array([draw(AMOUNTS) for _ in range(3)])
    empty = np.array([draw(st.booleans()) for _ in idx], dtype=bool)
    return cap, weights, idx, used, request, empty


SHAPES = st.lists(st.tuples(AMOUNTS, AMOUNTS, AMOUNTS), max_size=3)


@SETTINGS
@given(case=cases(), with_empty=st.booleans())
def test_best_fit_is_the_plain_best_fit(case, with_empty):
    cap, weights, idx, used, request, empty = case
    empty = empty if with_empty else None
    fixed = scores.FixedCapacity(cap, weights)
    expected = scores.best_fit(cap[idx], used, request, weights, empty)
    got = fixed.best_fit(idx, used, request, empty)
    assert got.tobytes() == expected.tobytes()


@SETTINGS
@given(case=cases(), shapes=SHAPES, with_empty=st.booleans(),
       spare=st.sampled_from([0.0, 0.25, 0.5, 1.0]))
def test_large_slot_loss_is_the_plain_loss(case, shapes, with_empty, spare):
    cap, weights, idx, used, request, empty = case
    empty = empty if with_empty else None
    shapes = np.array(shapes, dtype=np.float64).reshape(-1, 3)
    fixed = scores.FixedCapacity(cap, weights)
    expected = scores.large_slot_loss(cap[idx], used, request, shapes, empty,
                                      spare)
    got = fixed.large_slot_loss(idx, used, request, shapes, empty, spare)
    assert got.tobytes() == expected.tobytes()


def _slot_counts_by_definition(free, shapes):
    """Slots per host and shape, all resources at once."""
    free = np.maximum(free, 0.0)
    uses = shapes > 0
    safe = np.where(uses, shapes, 1.0)
    per_resource = np.where(uses[None, :, :],
                            free[:, None, :] / safe[None, :, :], np.inf)
    counts = np.floor(per_resource.min(axis=2) + scores.EPSILON)
    return np.where(np.isfinite(counts), counts, 0.0)


@SETTINGS
@given(free=st.lists(st.tuples(*[st.floats(min_value=-1e6, max_value=1e6)]
                               * 3), max_size=6), shapes=SHAPES)
def test_slot_counts_one_resource_at_a_time_match_the_definition(free,
                                                                  shapes):
    free = np.array(free, dtype=np.float64).reshape(-1, 3)
    shapes = np.array(shapes, dtype=np.float64).reshape(-1, 3)
    got = scores.slot_counts(free, shapes)
    assert got.tobytes() == _slot_counts_by_definition(free, shapes).tobytes()


def test_relative_sizes_follow_the_largest_candidate():
    cap = np.array([[8.0, 16.0, 0.0], [4.0, 8.0, 0.0], [2.0, 4.0, 0.0]])
    fixed = scores.FixedCapacity(cap, np.ones(3))
    used = np.zeros((2, 3))
    empty = np.ones(2, dtype=bool)
    request = np.array([1.0, 1.0, 0.0])
    # without the largest host the middle one is the largest candidate
    got = fixed.best_fit(np.array([1, 2]), used, request, empty)
    np.testing.assert_allclose(got, [0.0, -0.5])
    got = fixed.best_fit(np.array([0, 2]), used, request, empty)
    np.testing.assert_allclose(got, [0.0, -0.75])
