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
it (arbitrary host states, requests and aggregate metadata), and any text
as an aggregate override or a flavor extra spec of ours is used or
refused, never raising anything else."""

import math
from unittest import mock

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from nova import exception, objects
from nova.api.validation.extra_specs import validators as nova_validators
from nova.scheduler import filters as nova_filters
from nova.scheduler import host_manager
from nova.scheduler import weights as nova_weights
from oslo_config import cfg
from oslo_utils import strutils

from nova_scale_ext import common, conf
from nova_scale_ext.scheduler import adapters
from nova_scale_ext.scheduler import filters as our_filters
from nova_scale_ext.scheduler import weights as our_weights
from nova_scale_ext.scheduler.filters import headroom
from nova_scale_ext.virt import policy, tuning
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


# --- aggregate metadata and flavor extra specs: any text -------------------

#: Texts that have broken or fooled number and boolean parsers.
ODD_TEXTS = (
    '', ' ', 'nan', '-nan', 'NaN', 'inf', '-inf', 'Infinity', '1e400',
    '-1e400', '1e308', '-1e308', '5e-324', '1e-400', '-0', '-0.0', '0',
    '0.5', '0.99', '0.990001', '1', '1.0', '-1', '2', '9' * 400, '1' * 5000,
    '\u00b2', '\u0663', '\uff11', '1_0', '0x10', ' 1 ', '\t0.1\n', '1,5',
    '\x00', '\ufeff1', 'true', 'True', 'FALSE', ' yes ', 'on', 'Y', 'fail',
    'fallback', 'FAIL', ' fallback ', 'x' * 300, "'true'", 'None', '[]',
)
texts = st.one_of(st.sampled_from(ODD_TEXTS), st.text(max_size=10),
                  st.floats(allow_nan=True, allow_infinity=True).map(str),
                  st.integers().map(str))


def _range(group, name):
    kind = [opt for grp, opts in conf.list_opts() if grp.name == group
            for opt in opts if opt.name == name][0].type
    return kind.min, kind.max


def _used(text, low, high):
    """``text`` as the number an aggregate sets, or None if invalid."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or (low is not None and value < low) or (
            high is not None and value > high):
        return None
    return value


HEADROOM_RANGES = {name: _range('scale_ext_filters', name)
                   for name in headroom.HEADROOM_OPTIONS}
MULTIPLIER_KEYS = {cls.multiplier_option: cls
                   for cls in our_weights.all_weighers()}
AGGREGATE_KEYS = tuple(HEADROOM_RANGES) + tuple(MULTIPLIER_KEYS)


@st.composite
def aggregated_hosts(draw):
    """A host in 0 to 3 aggregates setting any of our keys to any text."""
    state = host_manager.HostState('h', 'h', 'cell')
    metadata = draw(st.lists(st.dictionaries(
        st.sampled_from(AGGREGATE_KEYS + ('other',)), texts, max_size=4),
        max_size=3))
    state.aggregates = [objects.Aggregate(id=k, name=f'agg{k}', hosts=[],
                                          metadata=md)
                        for k, md in enumerate(metadata)]
    return state, metadata


def _check_override(value, key, default, low, high, metadata, warnings):
    used = [v for v in (_used(md[key], low, high)
                        for md in metadata if key in md) if v is not None]
    assert math.isfinite(value)
    assert value == (min(used) if used else default)
    if used:
        assert (low is None or value >= low) and (
            high is None or value <= high)
    for k, md in enumerate(metadata):
        if key in md and _used(md[key], low, high) is None:
            assert (f'agg{k}', key, md[key]) in warnings, (k, key, md[key])


@SETTINGS
@given(host_and_metadata=aggregated_hosts(), data=st.data())
def test_aggregate_overrides_are_used_or_ignored_with_a_warning(
        host_and_metadata, data):
    """Any text for any of our aggregate metadata keys: the filter and the
    weighers use it (a finite number within the option's range, the
    smallest of the host's aggregates winning) or ignore it with a
    warning naming the aggregate, the key and the value."""
    state, metadata = host_and_metadata
    common.once.reset()
    with mock.patch.object(adapters.LOG, 'warning') as warning:
        defaults = [data.draw(st.floats(low, high), label=name)
                    for name, (low, high) in HEADROOM_RANGES.items()]
        shares = headroom.ScaleExtHeadroomFilter().host_headroom(
            state, defaults)
        multipliers = {}
        for key, cls in MULTIPLIER_KEYS.items():
            weigher = cls()
            weigher._configured_multiplier = data.draw(
                st.floats(-10.0, 10.0), label=key)
            multipliers[key] = (weigher._configured_multiplier,
                                weigher.weight_multiplier(state))
    warnings = {(call.args[1]['agg'], call.args[1]['key'],
                 call.args[1]['value']) for call in warning.call_args_list}
    event('a value ignored' if warnings else 'no value ignored')
    assert len(shares) == len(defaults)
    for (key, (low, high)), default, share in zip(HEADROOM_RANGES.items(),
                                                  defaults, shares):
        assert (low, high) == (0.0, headroom.MAX_HEADROOM)
        _check_override(share, key, default, low, high, metadata, warnings)
    for key, (default, multiplier) in multipliers.items():
        low, high = _range('scale_ext_weights', key)
        _check_override(multiplier, key, default, low, high, metadata,
                        warnings)


POLICY_BASE = tuning.TuningPolicy(**{
    field: conf.default_of('scale_ext_libvirt', field)
    for field in tuning.POLICY_FIELDS})


@SETTINGS
@given(field=st.sampled_from(tuning.POLICY_FIELDS), text=st.one_of(
    st.sampled_from(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off',
                     ' TRUE ', 'fail', 'fallback']), texts))
def test_extra_specs_are_accepted_or_refused_by_nova_api(field, text):
    """Any text for any of our flavor extra specs: nova-api's validation
    accepts it or raises Nova's ValidationError, and the compute host then
    uses the value, or ignores one the API would have refused with a
    warning; neither raises anything else."""
    key = policy.extra_spec_key(field)
    try:
        nova_validators.validate(key, text)
    except exception.ValidationError as exc:
        accepted = False
        assert key in str(exc)
    else:
        accepted = True
    common.once.reset()
    with mock.patch.object(common.LOG, 'warning') as warning:
        got = getattr(policy.for_flavor({key: text}, 'f', POLICY_BASE),
                      field)
    if field == 'on_invalid_xml':
        assert got in tuning.ON_INVALID_XML_CHOICES
        expected = text if accepted else None
    else:
        assert isinstance(got, bool)
        expected = (strutils.bool_from_string(text, strict=True)
                    if accepted else None)
    event('accepted' if accepted else 'refused')
    if accepted:
        assert got == expected and not warning.called
    elif warning.called:
        assert got == getattr(POLICY_BASE, field)
    else:           # the driver is more lenient than the API: ' FAIL '
        assert got == text.strip().lower()
