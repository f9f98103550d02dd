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
"""ScaleExtTenantIsolationFilter through Nova's in-process services, with
servers of three projects: an isolated one never shares a host, the others
never enter its hosts, and a host is back in the common pool once empty."""

import configparser

from nova.tests.functional.api import client

from nova_scale_ext import recommended
from tests.functional.test_packing import PackingFunctionalTestBase

BANK, SHOP, BLOG = 'bank', 'shop', 'blog'


def _recommended_filters():
    conf = configparser.ConfigParser(strict=False, interpolation=None)
    conf.read_string(recommended.NOVA_CONF)
    return conf.get('filter_scheduler', 'enabled_filters')


class TenantIsolation(PackingFunctionalTestBase):
    POLICY = 'scale-ext'
    HOSTS = {'host1': (16, 32768), 'host2': (16, 32768),
             'host3': (16, 32768)}
    EXTRA_FLAGS = {
        'filter_scheduler': {
            'available_filters': [
                'nova.scheduler.filters.all_filters',
                'nova_scale_ext.scheduler.filters.all_filters'],
            'enabled_filters': _recommended_filters().split(',')
            + ['ScaleExtTenantIsolationFilter']},
        'scale_ext_isolation': {'isolated_projects': [BANK]},
    }

    def setUp(self):
        super().setUp()
        base = self.api.base_url
        # admins of each project: they may also ask for a host, which the
        # scheduler's filters still judge (microversion 2.74)
        self.apis = {p: client.TestOpenStackClient(
            'admin', base, project_id=p,
            roles=['reader', 'member', 'admin']) for p in (BANK, SHOP, BLOG)}
        for api in self.apis.values():
            api.microversion = 'latest'

    def boot(self, project, vcpus=2, memory_mb=4096, host=None,
             expected_state='ACTIVE'):
        server = self._create_server(
            flavor_id=self.flavor(vcpus, memory_mb), networks='none',
            host=host, api=self.apis[project],
            expected_state=expected_state)
        return server

    def test_isolated_project_gets_hosts_of_its_own(self):
        shop = [self.boot(SHOP) for _ in range(2)]
        shop_host = {s['OS-EXT-SRV-ATTR:host'] for s in shop}
        self.assertEqual(1, len(shop_host))     # packed
        bank = [self.boot(BANK) for _ in range(3)]
        bank_hosts = {s['OS-EXT-SRV-ATTR:host'] for s in bank}
        # its own host, packed, never the shop's
        self.assertEqual(1, len(bank_hosts))
        self.assertFalse(bank_hosts & shop_host)
        # the others never enter the bank's host, even when asked
        blog = self.boot(BLOG)
        self.assertNotIn(blog['OS-EXT-SRV-ATTR:host'], bank_hosts)
        (bank_host,) = bank_hosts
        refused = self.boot(SHOP, host=bank_host, expected_state='ERROR')
        self.assertIn('No valid host', refused['fault']['message'])
        # nor does the bank enter a shared host, even when asked
        refused = self.boot(BANK, host=blog['OS-EXT-SRV-ATTR:host'],
                            expected_state='ERROR')
        self.assertIn('No valid host', refused['fault']['message'])
        # the bank's last server gone, its host is everyone's again
        for server in bank:
            self._delete_server(server)
        back = self.boot(SHOP, host=bank_host)
        self.assertEqual(bank_host, back['OS-EXT-SRV-ATTR:host'])
