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
"""Placement, from the project's virtualenv.
"""

from tests.e2e.settings import PORTS, VENV, ini


class Placement:
    """The placement API."""

    def start_placement(self):
        conf_dir = self.etc / 'placement'
        conf_dir.mkdir(exist_ok=True)
        ini(conf_dir / 'placement.conf', {
            'DEFAULT': {'log_file': self.logs / 'placement-app.log'},
            'api': {'auth_strategy': 'keystone'},
            'placement_database': {'connection': self.db_url('placement')},
            'keystone_authtoken': self._authtoken('placement'),
        })
        env = self._env(OS_PLACEMENT_CONFIG_DIR=conf_dir)
        self._run('placement-manage', [
            VENV / 'bin' / 'placement-manage', '--config-file',
            conf_dir / 'placement.conf', 'db', 'sync'], env)
        self._gunicorn('placement', VENV, 'placement.wsgi.api',
                       PORTS['placement'], env)
        self._wait_http('placement', self.url('placement'))
