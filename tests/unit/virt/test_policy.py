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
"""The policy of a guest: configuration, flavor extra specs, and the
validators nova-api loads for the ``scale_ext:`` namespace."""

import logging

import pytest
from nova import exception
from nova.api.validation.extra_specs import validators as nova_validators
from oslo_config import cfg
from oslo_config import fixture as cfg_fixture
from stevedore import extension

from nova_scale_ext.virt import extra_specs, policy, tuning

GROUP = policy.GROUP


@pytest.fixture
def conf():
    fixture = cfg_fixture.Config(cfg.CONF)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


# -- configuration and flavor overrides --------------------------------------

def test_defaults_apply_every_tuning(conf):
    assert policy.from_config() == tuning.TuningPolicy()
    assert policy.from_config().on_invalid_xml == 'fallback'


def test_flavor_extra_specs_override_the_configuration(conf):
    conf.config(group=GROUP, guest_halt_polling=False)
    pol = policy.for_flavor({'scale_ext:guest_halt_polling': 'yes',
                             'scale_ext:free_page_reporting': 'False',
                             'scale_ext:on_invalid_xml': 'fail',
                             'hw:cpu_policy': 'dedicated'}, 'm1.pinned')
    assert pol.guest_halt_polling is True
    assert pol.free_page_reporting is False
    assert pol.on_invalid_xml == 'fail'
    assert pol.hugepage_no_ksm is True  # not overridden


def test_bad_flavor_value_is_logged_once_and_config_used(conf, caplog):
    conf.config(group=GROUP, hugepage_no_balloon=False)
    specs = {'scale_ext:hugepage_no_balloon': 'perhaps'}
    with caplog.at_level(logging.WARNING):
        pol = policy.for_flavor(specs, 'm1.huge')
        policy.for_flavor(specs, 'm1.huge')
    assert pol.hugepage_no_balloon is False
    warnings = [r.getMessage() for r in caplog.records
                if 'scale_ext:hugepage_no_balloon' in r.getMessage()]
    assert len(warnings) == 1
    assert "m1.huge" in warnings[0]
    assert "'perhaps'" in warnings[0]
    assert '[scale_ext_libvirt] hugepage_no_balloon = False' in warnings[0]


def test_bad_configuration_value_falls_back_to_the_default(conf, caplog):
    conf.load_raw_values(group=GROUP, iothread_on_virtio_disks='often',
                         on_invalid_xml='explode')
    with caplog.at_level(logging.WARNING):
        pol = policy.from_config()
    assert pol.iothread_on_virtio_disks is True
    assert pol.on_invalid_xml == 'fallback'
    text = caplog.text
    assert '[scale_ext_libvirt] iothread_on_virtio_disks' in text
    assert '[scale_ext_libvirt] on_invalid_xml' in text


# -- extra spec validators, loaded the way nova-api loads them ---------------

def _loaded_by_stevedore():
    mgr = extension.ExtensionManager('nova.api.extra_spec_validators',
                                     invoke_on_load=False)
    return {ext.name: ext.plugin for ext in mgr}


def test_validators_are_registered_under_novas_entry_point():
    plugins = _loaded_by_stevedore()
    assert plugins['scale_ext'] is extra_specs
    names = {v.name for v in plugins['scale_ext'].register()}
    assert names == {f'scale_ext:{f}' for f in tuning.POLICY_FIELDS}
    # ...and nova-api's registry, filled at import, has them.
    assert names <= set(nova_validators.VALIDATORS)
    assert 'scale_ext' in nova_validators.NAMESPACES


@pytest.mark.parametrize('key, value', [
    ('scale_ext:guest_halt_polling', 'true'),
    ('scale_ext:hugepage_no_ksm', 'False'),
    ('scale_ext:free_page_reporting', '0'),
    ('scale_ext:on_invalid_xml', 'fail'),
    ('scale_ext:on_invalid_xml', 'fallback'),
])
def test_nova_api_accepts_good_values(key, value):
    nova_validators.validate(key, value)


@pytest.mark.parametrize('key, value, expected', [
    ('scale_ext:guest_halt_polling', 'sometimes',
     "Invalid value 'sometimes' for flavor extra spec "
     "scale_ext:guest_halt_polling (a boolean such as true or false)"),
    ('scale_ext:on_invalid_xml', 'explode',
     "Invalid value 'explode' for flavor extra spec "
     "scale_ext:on_invalid_xml (one of: fallback, fail)"),
])
def test_nova_api_refuses_bad_values_naming_the_key(key, value, expected):
    with pytest.raises(exception.ValidationError) as info:
        nova_validators.validate(key, value)
    assert expected in str(info.value)


def test_nova_api_refuses_a_misspelt_key_in_our_namespace():
    with pytest.raises(exception.ValidationError,
                       match='scale_ext:guest_halt_poling'):
        nova_validators.validate('scale_ext:guest_halt_poling', 'true')


def test_every_option_a_flavor_overrides_has_a_validator():
    described = {v.name: v.description for v in extra_specs.register()}
    for field in tuning.POLICY_FIELDS:
        assert f'[scale_ext_libvirt] {field}' in ' '.join(
            described[f'scale_ext:{field}'].split())


# -- hardening against cross-guest side channels ---------------------------

def test_guests_of_isolated_projects_or_on_multi_tenant_hosts_are_hardened(
        conf, caplog):
    assert not policy.hardened('shop')
    conf.config(group='scale_ext_isolation', isolated_projects=['bank'],
                isolation_groups=['lab:physics'])
    assert policy.hardened('bank') and policy.hardened('physics')
    assert not policy.hardened('shop')
    conf.config(group=GROUP, multi_tenant_host=True)
    assert policy.hardened('shop')
    # a policy that cannot be read hardens everyone, saying so once
    conf.config(group=GROUP, multi_tenant_host=False)
    conf.config(group='scale_ext_isolation', isolation_groups=['lab:bank'])
    assert policy.hardened('shop') and policy.hardened('blog')
    warned = [r for r in caplog.records if 'every guest is hardened'
              in r.getMessage()]
    assert len(warned) == 1
