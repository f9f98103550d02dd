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
"""Our options refuse what oslo.config's own float type lets through."""

import pytest
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
