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
"""A real nova-scheduler HostManager started from the plugin's nova.conf.

The plugin's phases run against our stand-ins; the nova.conf they write is
then parsed into Nova's own configuration object, and Nova's HostManager
(inside nova.test.TestCase, which provides the databases) must load our
filters and weighers, with the multipliers the file sets.
"""

import fixtures
import nova.conf
import nova.exception
import nova.test
from nova.scheduler import host_manager

from tests import nova_objects
from tests.functional.devstack import harness

CONF = nova.conf.CONF


class TestHostManagerFromDevStackNovaConf(nova.test.TestCase):

    def start_host_manager(self, **local_conf):
        root = self.useFixture(fixtures.TempDir()).path
        devstack = harness.FakeDevStack(root, **local_conf)
        devstack.run('stack')
        # nova-scheduler reads $NOVA_CONF: the same file, into Nova's CONF
        # (the test fixtures reset it afterwards).
        CONF([], project='nova',
             default_config_files=[str(devstack.nova_conf)])
        return host_manager.HostManager()

    def test_nova_loads_our_filters_and_weighers(self):
        manager = self.start_host_manager()

        filters = [f.__class__.__name__ for f in manager.enabled_filters]
        weighers = [w.__class__.__name__ for w in manager.weighers]
        self.assertEqual(harness.DEVSTACK_FILTERS.split(',') +
                         ['ScaleExtHeadroomFilter'], filters)
        self.assertIn('ScaleExtBestFitWeigher', weighers)
        self.assertIn('ScaleExtStrandedCapacityWeigher', weighers)
        self.assertIn('ScaleExtLargeSlotWeigher', weighers)
        self.assertNotIn('RAMWeigher', weighers)

    def test_nova_reads_the_multipliers_the_plugin_wrote(self):
        manager = self.start_host_manager(
            NOVA_SCALE_EXT_BEST_FIT_WEIGHT_MULTIPLIER='2.5',
            NOVA_SCALE_EXT_HEADROOM_MEMORY_RATIO='0.2')
        host = nova_objects.host('host1', vcpus=8, memory_mb=16384)

        multipliers = {w.__class__.__name__: w.weight_multiplier(host)
                       for w in manager.weighers}
        self.assertEqual(2.5, multipliers['ScaleExtBestFitWeigher'])
        self.assertEqual(0.0, multipliers['ScaleExtStrandedCapacityWeigher'])
        self.assertEqual(3.0, multipliers['ScaleExtLargeSlotWeigher'])
        self.assertEqual(0.2, CONF.scale_ext_filters.headroom_memory_ratio)

    def test_without_our_available_filters_nova_refuses_to_start(self):
        # The check above is real: Nova fails when our filter is enabled but
        # not made available.
        self.assertRaises(nova.exception.SchedulerHostFilterNotFound,
                          self.start_host_manager,
                          NOVA_SCALE_EXT_AVAILABLE_FILTERS='')
