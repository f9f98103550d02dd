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
"""Property-based tests: no filter or weigher raises, whatever Nova hands
it (arbitrary host states, requests and aggregate metadata)."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nova import objects
from nova.scheduler import filters as nova_filters
from nova.scheduler import host_manager
from nova.scheduler import weights as nova_weights
from oslo_config import cfg

from nova_scale_ext.scheduler import filters as our_filters
from nova_scale_ext.scheduler import weights as our_weights
from tests import nova_objects as nobj

numbers = st.one_of(
    st.none(),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
)
ratios = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                   st.just(0.0), st.just(-1.0))
metadata_values = st.one_of(
    st.text(max_size=8), st.sampled_from(['nan', 'inf', '-inf', '1e400',
                                          '0.5', '-2', '', ' 1 ', '0x10']))
metadata_keys = st.sampled_from([
    'best_fit_weight_multiplier', 'stranded_capacity_weight_multiplier',
    'headroom_vcpu_ratio', 'headroom_memory_ratio', 'headroom_disk_ratio',
    'other'])


@st.composite
def host_states(draw, index):
    state = host_manager.HostState(f'h{index}', f'h{index}', 'cell')
    for attr in ('vcpus_total', 'vcpus_used', 'total_usable_ram_mb',
                 'free_ram_mb', 'total_usable_disk_gb', 'free_disk_mb'):
        setattr(state, attr, draw(numbers))
    for attr in ('cpu_allocation_ratio', 'ram_allocation_ratio',
                 'disk_allocation_ratio'):
        setattr(state, attr, draw(ratios))
    aggs = draw(st.lists(st.dictionaries(metadata_keys, metadata_values,
                                         max_size=3), max_size=3))
    state.aggregates = [nobj.aggregate(f'agg{i}', **md)
                        for i, md in enumerate(aggs)]
    if draw(st.booleans()):
        state.numa_topology = None
    return state


@st.composite
def fleets(draw):
    size = draw(st.integers(min_value=0, max_value=6))
    return [draw(host_states(i)) for i in range(size)]


@st.composite
def requests(draw):
    small = st.integers(min_value=0, max_value=10**6)
    spec = nobj.request(draw(small), draw(small), root_gb=draw(small),
                        ephemeral_gb=draw(small), swap=draw(small),
                        is_bfv=draw(st.booleans()))
    if draw(st.booleans()):
        # A RequestSpec whose flavor cannot be read.
        spec = objects.RequestSpec(num_instances=1, scheduler_hints={},
                                   instance_uuid=spec.instance_uuid)
    return spec


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(fleet=fleets(), spec=requests())
def test_weighers_never_raise_and_give_finite_weights(fleet, spec):
    weighers = [cls() for cls in our_weights.all_weighers()]
    cfg.CONF.set_override('large_slot_flavors', ['2:4096', '16:32768'],
                          group='scale_ext_weights')
    try:
        weighed = nova_weights.HostWeightHandler().get_weighed_objects(
            weighers, fleet, spec)
    finally:
        cfg.CONF.clear_override('large_slot_flavors',
                                group='scale_ext_weights')
    assert len(weighed) == len(fleet)
    assert all(math.isfinite(w.weight) for w in weighed)


@SETTINGS
@given(fleet=fleets(), spec=requests())
def test_filters_never_raise_and_return_a_subset(fleet, spec):
    filters = [cls() for cls in our_filters.all_filters()]
    result = nova_filters.HostFilterHandler().get_filtered_objects(
        filters, fleet, spec)
    if result is not None:
        result = list(result)
        assert all(host in fleet for host in result)
