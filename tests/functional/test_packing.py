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
"""End to end through Nova's in-process services: API -> conductor ->
scheduler -> placement -> fake computes of different sizes.

Servers are booted through the REST API and the host they land on is read
back from the API, with Nova's defaults, with Nova's stacking (negative RAM,
CPU and disk multipliers) and with the recommended configuration of
nova-scale-ext loaded from the same nova.conf text the README shows.
"""

import collections
import os
import tempfile

from nova.tests.functional import integrated_helpers
from nova.virt import fake
from oslo_config import cfg
from oslo_config import fixture as cfg_fixture

from nova_scale_ext import recommended

# Our plugins import numpy, which reads the platform (os.uname) on its first
# import: that must happen before Nova's harness forbids os.uname in a test
# (a run of this file alone would otherwise load no plugin of ours).
import numpy  # noqa: E402,F401,I001  isort:skip

CONF = cfg.CONF

NOVA_STACKING = {'ram_weight_multiplier': -1.0, 'cpu_weight_multiplier': -1.0,
                 'disk_weight_multiplier': -1.0}


class PackingFunctionalTestBase(integrated_helpers._IntegratedTestBase):
    ADMIN_API = True
    microversion = 'latest'

    #: vCPUs and MiB of memory of each fake compute, by host name.
    HOSTS = {}
    #: 'default', 'stacking' or 'scale-ext'
    POLICY = 'default'
    #: More options, {group: {name: value}}, set after the policy's nova.conf
    #: is loaded (loading a file clears earlier overrides).
    EXTRA_FLAGS = {}

    def setUp(self):
        sizes = self.HOSTS

        def load_sized_driver(virtapi, compute_driver=None):
            vcpus, memory_mb = sizes[CONF.host]
            driver_cls = type(f'SizedFakeDriver_{CONF.host}',
                              (fake.MediumFakeDriver,),
                              {'vcpus': vcpus, 'memory_mb': memory_mb,
                               'local_gb': 1000})
            return driver_cls(virtapi)

        self.stub_out('nova.virt.driver.load_compute_driver',
                      load_sized_driver)
        self.flags(group='quota', cores=-1, ram=-1, instances=-1)
        super().setUp()
        self.flavors = {}

    def _setup_scheduler_service(self):
        # nova-scheduler reads its filters and weighers when it starts.
        if self.POLICY == 'stacking':
            self.flags(group='filter_scheduler', **NOVA_STACKING)
        elif self.POLICY == 'scale-ext':
            fd, path = tempfile.mkstemp(suffix='.conf')
            with os.fdopen(fd, 'w') as conf_file:
                conf_file.write(recommended.NOVA_CONF)
            self.addCleanup(os.unlink, path)
            self.useFixture(cfg_fixture.Config(CONF)).set_config_files([path])
        for group, flags in self.EXTRA_FLAGS.items():
            self.flags(group=None if group == 'DEFAULT' else group, **flags)
        return super()._setup_scheduler_service()

    def _setup_compute_service(self):
        for name in self.HOSTS:
            self._start_compute(name)

    def flavor(self, vcpus, memory_mb):
        key = (vcpus, memory_mb)
        if key not in self.flavors:
            self.flavors[key] = self._create_flavor(
                name=f'{vcpus}c{memory_mb}m', vcpu=vcpus, memory_mb=memory_mb,
                disk=0, ephemeral=0)
        return self.flavors[key]

    def create(self, vcpus, memory_mb, host=None, expected_state='ACTIVE'):
        return self._create_server(
            flavor_id=self.flavor(vcpus, memory_mb), networks='none',
            az=f'nova:{host}' if host else None,
            expected_state=expected_state)

    def boot(self, vcpus, memory_mb, host=None):
        return self.create(vcpus, memory_mb, host)['OS-EXT-SRV-ATTR:host']


class ThreeEqualHosts:
    HOSTS = {'host1': (16, 32768), 'host2': (16, 32768),
             'host3': (16, 32768)}

    def boot_three(self):
        return collections.Counter(self.boot(1, 2048) for _ in range(3))


class NovaDefaultsSpread(ThreeEqualHosts, PackingFunctionalTestBase):
    POLICY = 'default'

    def test_three_servers_land_on_three_hosts(self):
        self.assertEqual(3, len(self.boot_three()))


class ScaleExtPacks(ThreeEqualHosts, PackingFunctionalTestBase):
    POLICY = 'scale-ext'

    def test_three_servers_share_one_host(self):
        self.assertEqual([3], list(self.boot_three().values()))

    def test_scheduler_runs_our_weighers(self):
        weighers = [type(w).__name__ for w in
                    self.scheduler.manager.host_manager.weighers]
        self.assertIn('ScaleExtBestFitWeigher', weighers)
        self.assertIn('ScaleExtStrandedCapacityWeigher', weighers)


class SmallAndHalfFullBigHost:
    """A small empty host and a big host already half full."""

    HOSTS = {'small': (8, 16384), 'big': (32, 65536)}

    def land_after_half_filling_big(self):
        self.assertEqual('big', self.boot(16, 32768, host='big'))
        return self.boot(2, 4096)


class NovaStackingOpensTheSmallHost(SmallAndHalfFullBigHost,
                                    PackingFunctionalTestBase):
    POLICY = 'stacking'

    def test_stacking_prefers_fewest_free_mib(self):
        # Fewest free MiB and vCPUs in absolute terms: the empty small host.
        self.assertEqual('small', self.land_after_half_filling_big())


class ScaleExtFillsTheHostItFitsBest(SmallAndHalfFullBigHost,
                                     PackingFunctionalTestBase):
    POLICY = 'scale-ext'

    def test_best_fit_continues_on_the_half_full_host(self):
        # As a share of its own capacity the big host is the fuller one; the
        # small host stays empty and free for a large flavor.
        self.assertEqual('big', self.land_after_half_filling_big())


class ScaleExtHeadroomIsHonoured(PackingFunctionalTestBase):
    POLICY = 'scale-ext'
    HOSTS = {'host1': (16, 32768), 'host2': (16, 32768)}
    EXTRA_FLAGS = {'scale_ext_filters': {'headroom_vcpu_ratio': 0.5}}

    def test_packing_stops_at_the_headroom(self):
        # 16 vCPUs at the harness's cpu_allocation_ratio of 4.0 offer 64; with
        # half kept free, two 16-vCPU servers fill a host to its limit.
        hosts = [self.boot(16, 2048) for _ in range(4)]
        self.assertEqual({'host1': 2, 'host2': 2},
                         dict(collections.Counter(hosts)))


class BurstOfLargeFlavorsAfterChurn:
    """Small servers come and go, then large ones arrive in a burst.

    Hosts of 12 and 16 vCPUs with memory in proportion, no overcommit, and
    a catalogue whose largest flavor is 8 vCPU / 16 GiB. After the churn the
    12-vCPU host has exactly one large slot left, the 16-vCPU host one slot
    and 6 vCPUs to spare. The next small server decides whether the burst
    of two large servers fits.
    """

    HOSTS = {'host-a': (12, 24576), 'host-b': (16, 32768)}
    EXTRA_FLAGS = {
        'DEFAULT': {'cpu_allocation_ratio': 1.0, 'ram_allocation_ratio': 1.0,
                    'reserved_host_memory_mb': 0},
        'scale_ext_weights': {'large_slot_flavors': ['8:16384']},
    }

    def churn_then_burst(self):
        for host in ('host-a', 'host-a', 'host-b'):
            self.assertEqual(host, self.boot(2, 4096, host=host))
        gone = self.create(2, 4096, host='host-b')
        self._delete_server(gone)
        small = self.boot(1, 2048)
        burst = [self.create(8, 16384, expected_state=state)
                 for state in self.BURST_STATES]
        return small, burst


class NovaStackingLosesALargeSlot(BurstOfLargeFlavorsAfterChurn,
                                  PackingFunctionalTestBase):
    POLICY = 'stacking'
    BURST_STATES = ('ACTIVE', 'ERROR')

    def test_second_large_server_finds_no_host(self):
        small, burst = self.churn_then_burst()
        # fewest free MiB: the small server breaks host-a's only large slot
        self.assertEqual('host-a', small)
        self.assertEqual('host-b', burst[0]['OS-EXT-SRV-ATTR:host'])
        self.assertIn('No valid host', burst[1]['fault']['message'])


class ScaleExtKeepsTheLargeSlot(BurstOfLargeFlavorsAfterChurn,
                                PackingFunctionalTestBase):
    POLICY = 'scale-ext'
    BURST_STATES = ('ACTIVE', 'ACTIVE')

    def test_every_large_server_is_placed(self):
        small, burst = self.churn_then_burst()
        # the small server goes into host-b's spare vCPUs
        self.assertEqual('host-b', small)
        self.assertEqual({'host-a', 'host-b'},
                         {s['OS-EXT-SRV-ATTR:host'] for s in burst})
