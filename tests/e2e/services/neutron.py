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
"""neutron-server's API (ML2, no service plugins, no agents).
"""

from tests.e2e.settings import CACHE, PORTS, ini


class Neutron:
    """The network service."""

    def start_neutron(self):
        """neutron-server's API (ML2, no service plugins, no agents):
        Nova asks it about every server's ports even when it has none."""
        venv = CACHE / 'neutron'
        conf_dir = self.etc / 'neutron'
        conf_dir.mkdir(exist_ok=True)
        state = self.data / 'neutron'
        ini(conf_dir / 'neutron.conf', {
            'DEFAULT': {
                'log_file': self.logs / 'neutron-app.log',
                'state_path': state, 'transport_url': self.transport_url,
                'auth_strategy': 'keystone', 'core_plugin': 'ml2',
                'service_plugins': '',
                'api_paste_config': venv / 'etc' / 'neutron' /
                'api-paste.ini',
                # No ports, so nothing to tell Nova about.
                'notify_nova_on_port_status_changes': 'False',
                'notify_nova_on_port_data_changes': 'False'},
            'database': {'connection': self.db_url('neutron')},
            'keystone_authtoken': self._authtoken('neutron'),
            'ml2': {'type_drivers': 'flat', 'tenant_network_types': '',
                    'mechanism_drivers': '', 'extension_drivers': ''},
            'oslo_concurrency': {'lock_path': state / 'lock'},
        })
        env = self._env(OS_NEUTRON_CONFIG_DIR=conf_dir,
                        OS_NEUTRON_CONFIG_FILES='neutron.conf',
                        PYTHONPATH='')
        self._run('neutron-db-manage', [
            venv / 'bin' / 'neutron-db-manage', '--config-file',
            conf_dir / 'neutron.conf', 'upgrade', 'heads'], env)
        self._gunicorn('neutron', venv, 'neutron.wsgi.api',
                       PORTS['neutron'], env, workers=1)
        self._wait_http('neutron', self.url('neutron'))
