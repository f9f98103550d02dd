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
"""The interface between a packing weigher and its callers."""

import math

import numpy as np
import pytest

from nova_scale_ext.core import candidates
from nova_scale_ext.scheduler import weights as our_weights

CAPACITY = np.array([[8.0, 16384.0, 100.0]] * 3)
USED = np.array([[0.0, 0.0, 0.0], [4.0, 8192.0, 10.0], [2.0, 2048.0, 0.0]])
REQUEST = np.array([2.0, 4096.0, 10.0])
WEIGHTS = np.ones(3)


def hosts(instances):
    return candidates.Candidates(CAPACITY, USED, REQUEST, WEIGHTS, instances)


def test_empty_hosts_are_those_with_no_instance_and_unknown_is_in_use():
    got = hosts(np.array([0.0, 3.0, math.nan])).empty()
    assert got.tolist() == [True, False, False]
    assert hosts(None).empty() is None
    assert hosts(np.array([0.0, 1.0])).empty() is None   # not one per host


@pytest.mark.parametrize('cls', our_weights.all_weighers())
def test_every_weigher_of_ours_scores_candidates_and_nothing_else(cls):
    """Each weigher answers the one interface: one finite weight per
    candidate, from the candidates alone."""
    weigher = cls()
    assert isinstance(weigher, candidates.Scorer)
    raw = np.asarray(weigher.score(hosts(np.array([0.0, 3.0, 1.0]))))
    assert raw.shape == (3,)
    assert np.isfinite(raw).all()
    assert isinstance(weigher.counts_empty_hosts(), bool)


def test_the_base_interface_scores_nothing_by_itself():
    with pytest.raises(NotImplementedError):
        candidates.Scorer().score(hosts(None))
    assert candidates.Scorer().counts_empty_hosts() is False
