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
"""Our options refuse what oslo.config's own float type lets through, and
any text as an option's value is refused or read as a value the code
takes."""

import math
import os
import tempfile
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from oslo_config import cfg, types

from nova_scale_ext import conf as conf_mod
from nova_scale_ext.conf import opts as opts_mod


def float_options():
    """(group, option, text of a valid value) of every option of ours
    holding floats, a dict of floats included."""
    out = []
    for group, opts in conf_mod.list_opts():
        for opt in opts:
            kind = opt.type
            if isinstance(kind, types.Dict):
                kind = kind.value_type
                if isinstance(kind, types.Float):
                    out.append((group.name, opt.name, 'VCPU:{}'))
            elif isinstance(kind, types.Float):
                out.append((group.name, opt.name, '{}'))
    return out


FLOATS = float_options()


def test_every_float_option_is_finite():
    assert len(FLOATS) >= 6
    for _group, opts in conf_mod.list_opts():
        for opt in opts:
            kind = getattr(opt.type, 'value_type', opt.type)
            if isinstance(kind, types.Float):
                assert isinstance(kind, opts_mod.FiniteFloat), opt.name


def value_of(tmp_path, group, name, text):
    path = tmp_path / 'nova.conf'
    path.write_text(f'[{group}]\n{name} = {text}\n')
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf(['--config-file', str(path)], project='nova')
    return getattr(getattr(conf, group), name)


@pytest.mark.parametrize('group,name,form', FLOATS)
@pytest.mark.parametrize('bad', ['nan', 'NaN', 'inf', '-inf', '1e999'])
def test_nan_and_infinities_are_refused(tmp_path, group, name, form, bad):
    # a NaN passes every min/max check: ours is what refuses it (an
    # infinity may fail the range check first)
    match = 'not a finite' if bad.lower() == 'nan' else 'not valid'
    with pytest.raises(cfg.ConfigFileValueError, match=match):
        value_of(tmp_path, group, name, form.format(bad))


@pytest.mark.parametrize('group,name,form', FLOATS)
def test_a_finite_value_is_read(tmp_path, group, name, form):
    value = value_of(tmp_path, group, name, form.format('0.25'))
    assert value == ({'VCPU': 0.25} if isinstance(value, dict) else 0.25)


# --- property: any text as the value of any option of ours -----------------

#: Option values that have broken or fooled option types and readers.
ODD_VALUES = (
    '', ' ', 'nan', '-nan', 'NaN', 'inf', '-inf', 'Infinity', '1e999',
    '-1e999', '1e308', '-1e308', '5e-324', '-0', '-0.0', '0', '1', '0.5',
    '0.99', '0.991', '1.0', '1.01', '-1', '\u00b2', '\u0663', '\uff11',
    '1_0', '0x10', '1e', '.', 'true', 'FALSE', 'yes', 'On', '2', 'fail',
    'fallback', ' FAIL', 'Fallback', 'VCPU:1', 'VCPU:nan', 'VCPU:inf',
    'VCPU:-1', 'VCPU:', ':', ':1', 'VCPU:1,VCPU:2', 'vcpu:1,DISK_GB:0',
    'GPU:1', 'a:1,', ',', ',,', '"', '""', "'a'", '"a:1', '$', '$$', '$foo',
    '${foo}', '${', '$state_path', '\\', '#', ';x', '32:65536',
    '32:65536,64:nan', '0:1', 'x:y', '32:65536:1', '[', '[]', '{}',
    'x' * 1000, '\x00', '\ufeff1', '1 # comment', '/etc/passwd',
)
line_text = st.text(alphabet=st.characters(blacklist_characters='\r\n',
                                           blacklist_categories=('Cs',)),
                    max_size=12)
option_values = st.one_of(
    st.sampled_from(ODD_VALUES), line_text,
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.lists(st.one_of(st.sampled_from(ODD_VALUES[:40]), line_text),
             min_size=1, max_size=3).map(','.join),
    st.lists(st.tuples(st.sampled_from(['VCPU', 'MEMORY_MB', 'DISK_GB',
                                        'PCPU', '', '32', ' vcpu ']),
                       st.sampled_from(ODD_VALUES[:30])),
             max_size=3).map(lambda kv: ','.join(f'{k}:{v}' for k, v in kv)),
)
OPTIONS = [(group.name, opt) for group, opts in conf_mod.list_opts()
           for opt in opts]


def check_accepted(opt, value):
    """``value`` is one the code takes for ``opt``."""
    kind = opt.type
    if isinstance(opt, cfg.MultiStrOpt):
        assert isinstance(value, list)
        assert all(isinstance(item, str) for item in value)
    elif isinstance(kind, types.Float):
        assert isinstance(value, float) and math.isfinite(value), value
        assert kind.min is None or value >= kind.min
        assert kind.max is None or value <= kind.max
    elif isinstance(kind, types.Boolean):
        assert isinstance(value, bool)
    elif isinstance(kind, types.String):
        assert isinstance(value, str)
        assert not kind.choices or value in kind.choices
    elif isinstance(kind, types.Dict):
        assert isinstance(value, dict)
        for number in value.values():
            assert isinstance(number, float) and math.isfinite(number)
            assert number >= kind.value_type.min
    elif isinstance(kind, types.List):
        assert isinstance(value, list)
        assert all(isinstance(item, str) for item in value)
    else:
        raise AssertionError(f'no check for {opt.name} ({kind!r})')


def check_readers_never_raise():
    """What the filters, weighers and the driver read of the options."""
    from nova_scale_ext import common
    from nova_scale_ext.core import isolation as core_isolation
    from nova_scale_ext.scheduler import weights as our_weights
    from nova_scale_ext.scheduler.filters import isolation as isolation_filter
    from nova_scale_ext.scheduler.weights import base, large_slot
    from nova_scale_ext.virt import policy

    for group, opt in OPTIONS:
        value = common.config_value(group, opt.name)
        check_accepted(opt, value)
    for cls in our_weights.all_weighers():
        assert math.isfinite(cls().configured_multiplier())
    shapes = large_slot.configured_shapes()
    assert np.isfinite(shapes).all() and (shapes >= 0).all()
    weights = base.configured_resource_weights()
    assert np.isfinite(weights).all() and (weights >= 0).all()
    assert 0.0 <= large_slot.configured_spare_share() <= 1.0
    policy.from_config()
    # tenant isolation: a policy, or everyone isolated (never an error)
    assert isinstance(isolation_filter._Configured().policy(),
                      core_isolation.Policy)
    assert isinstance(policy.hardened('a-project'), bool)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(values=st.fixed_dictionaries(
    {(group, opt.name): option_values for group, opt in OPTIONS}))
@example(values={(group, opt.name): '' for group, opt in OPTIONS})
@example(values={(group, opt.name): '$nothing' for group, opt in OPTIONS})
def test_any_value_is_refused_or_read_as_a_value_the_code_takes(values):
    """Each option of ours set to any one-line text in nova.conf: reading
    it gives a value the code takes or oslo.config's error for a bad
    value (or for a ``$name`` that names no option); our own readers never
    raise and fall back on the default; no float is NaN or infinite."""
    from nova_scale_ext import common
    from nova_scale_ext.cmd import plugins
    from nova_scale_ext.core import isolation

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'nova.conf')
        with open(path, 'w', encoding='utf-8') as handle:
            for group in dict.fromkeys(group for group, _ in values):
                handle.write(f'[{group}]\n')
                for (grp, name), text in values.items():
                    if grp == group:
                        handle.write(f'{name} = {text}\n')
        conf = cfg.ConfigOpts()
        conf_mod.register_opts(conf)
        conf(['--config-file', path], project='nova')
        refused = set()
        for group, opt in OPTIONS:
            text = values[(group, opt.name)]
            try:
                value = getattr(getattr(conf, group), opt.name)
            except cfg.ConfigFileValueError:
                refused.add((group, opt.name))
            except (cfg.NoSuchOptError, cfg.TemplateSubstitutionError):
                assert '$' in text
                refused.add((group, opt.name))
            else:
                check_accepted(opt, value)
        common.once.reset()
        with mock.patch.object(common, 'CONF', conf), \
                mock.patch.object(cfg, 'CONF', conf):
            check_readers_never_raise()
            problems = plugins.invalid_options()
    event(f'{len(refused)} of {len(OPTIONS)} values refused')
    # besides each value refused, a tenant isolation policy whose values
    # read but do not make a policy
    policy = [p for p in problems if p.startswith(plugins.POLICY_PROBLEM)]
    problems = [p for p in problems if p not in policy]
    readable = not any(g == 'scale_ext_isolation' for g, _ in refused)
    if readable:
        try:
            isolation.Policy.from_options(
                conf.scale_ext_isolation.isolated_projects,
                conf.scale_ext_isolation.isolation_groups)
        except isolation.PolicyError:
            assert len(policy) == 1
        else:
            assert policy == []
    assert len(problems) == len(refused)
    for group, name in refused:
        assert any(p.startswith(f'[{group}] {name}:') for p in problems)
