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
"""Plugin registration: stevedore namespaces, Nova's loaders, HostManager."""

import configparser
import logging
import pathlib
import re
from importlib import metadata

import fixtures
import pytest
from nova import test as nova_test
from nova.scheduler import filters as nova_filters
from nova.scheduler import host_manager
from oslo_config import cfg
from oslo_config import fixture as cfg_fixture
from stevedore import extension

from nova_scale_ext import recommended
from nova_scale_ext.scheduler import filters as our_filters
from nova_scale_ext.scheduler import loading
from nova_scale_ext.scheduler import weights as our_weights
from nova_scale_ext.scheduler.filters import headroom

CONF = cfg.CONF
ROOT = pathlib.Path(__file__).resolve().parents[3]


def readme_nova_conf():
    """The first ```ini block of README.md: the lines operators copy."""
    text = (ROOT / 'README.md').read_text()
    match = re.search(r'```ini\n(.*?)```', text, re.S)
    assert match, 'README.md has no ```ini block'
    return match.group(1)


def test_readme_shows_exactly_the_recommended_configuration():
    assert readme_nova_conf() == recommended.NOVA_CONF


def test_the_recommended_lists_are_novas_own_followed_by_ours():
    """The literal lines of the recommended nova.conf hold what the
    installed Nova gives (its default filters; its weighers but those that
    spread), then ours: they are what the DevStack plugin writes."""
    conf = configparser.ConfigParser(strict=False)
    conf.read_string(recommended.NOVA_CONF)
    nova = recommended.nova_lists()
    assert nova['available_filters'] == ['nova.scheduler.filters.all_filters']
    enabled = conf['filter_scheduler']['enabled_filters'].split(',')
    assert enabled == nova['enabled_filters'] + ['ScaleExtHeadroomFilter']
    classes = conf['filter_scheduler']['weight_classes'].split(',')
    assert classes == nova['weight_classes'] + [
        'nova_scale_ext.scheduler.weights.all_weighers']
    assert not any(path.rsplit('.', 1)[1] in recommended.SPREADING_WEIGHERS
                   for path in classes)


def test_all_filters_returns_our_registered_filters():
    names = [cls.__name__ for cls in our_filters.all_filters()]
    assert names == ['ScaleExtHeadroomFilter', 'ScaleExtTenantIsolationFilter']


def test_all_weighers_returns_our_registered_weighers():
    names = [cls.__name__ for cls in our_weights.all_weighers()]
    assert names == ['ScaleExtBestFitWeigher', 'ScaleExtLargeSlotWeigher',
                     'ScaleExtStrandedCapacityWeigher']


def test_our_class_names_never_clash_with_novas():
    nova_names = {cls.__name__ for cls in
                  nova_filters.HostFilterHandler().get_matching_classes(
                      ['nova.scheduler.filters.all_filters',
                       'nova.scheduler.weights.all_weighers'])
                  if hasattr(cls, '__name__')}
    ours = {c.__name__ for c in our_filters.all_filters()
            + our_weights.all_weighers()}
    assert not nova_names & ours
    assert all(name.startswith('ScaleExt') for name in ours)


def test_a_broken_plugin_is_logged_and_the_others_still_load(
        monkeypatch, caplog):
    group = loading.FILTERS_NAMESPACE
    good = metadata.EntryPoint(
        name='headroom', group=group,
        value='nova_scale_ext.scheduler.filters.headroom:'
              'ScaleExtHeadroomFilter')
    broken = metadata.EntryPoint(name='broken', group=group,
                                 value='nova_scale_ext.no_such_module:X')
    not_a_filter = metadata.EntryPoint(name='odd', group=group,
                                       value='os.path:join')
    monkeypatch.setattr(extension.ExtensionManager, 'list_entry_points',
                        lambda self: [broken, good, not_a_filter])
    with caplog.at_level(logging.ERROR):
        classes = our_filters.all_filters()
    assert classes == [headroom.ScaleExtHeadroomFilter]
    messages = ' '.join(r.getMessage() for r in caplog.records)
    assert 'broken' in messages and 'no_such_module' in messages
    assert 'odd' in messages and 'not a subclass' in messages


def test_empty_namespace_warns_instead_of_failing(caplog):
    with caplog.at_level(logging.WARNING):
        assert loading.load_classes('nova_scale_ext.nothing.here',
                                    nova_filters.BaseHostFilter) == []
    assert any('No nova-scale-ext plugins' in r.getMessage()
               for r in caplog.records)


class HostManagerLoadsReadmeConfiguration(nova_test.TestCase):
    """nova-scheduler's HostManager, configured by README's nova.conf."""

    def setUp(self):
        super().setUp()
        path = pathlib.Path(self.useFixture(fixtures.TempDir()).path) / (
            'nova.conf')
        path.write_text(readme_nova_conf())
        self.useFixture(cfg_fixture.Config()).set_config_files([str(path)])

    def test_our_filters_and_weighers_load_next_to_novas(self):
        manager = host_manager.HostManager()
        filters = [type(f).__name__ for f in manager.enabled_filters]
        weighers = [type(w).__name__ for w in manager.weighers]
        self.assertEqual('ScaleExtHeadroomFilter', filters[-1])
        self.assertIn('ComputeFilter', filters)
        self.assertIn('ScaleExtBestFitWeigher', weighers)
        self.assertIn('ScaleExtLargeSlotWeigher', weighers)
        self.assertIn('ScaleExtStrandedCapacityWeigher', weighers)
        self.assertIn('BuildFailureWeigher', weighers)
        self.assertNotIn('RAMWeigher', weighers)
        self.assertEqual(3.0,
                         CONF.scale_ext_weights.large_slot_weight_multiplier)
        self.assertEqual(['32:65536', '32:131072', '64:131072'],
                         CONF.scale_ext_weights.large_slot_flavors)


@pytest.mark.parametrize('cls', our_filters.all_filters()
                         + our_weights.all_weighers())
def test_every_plugin_has_a_docstring_saying_what_it_does(cls):
    assert cls.__doc__ and len(cls.__doc__.strip()) > 20
