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
"""Glance with a file store, and the image every test boots.
"""

from tests.e2e.settings import CACHE, IMAGE, PORTS, ini


class Glance:
    """The image service."""

    def start_glance(self):
        venv = CACHE / 'glance'
        conf_dir = self.etc / 'glance'
        conf_dir.mkdir(exist_ok=True)
        images = self.data / 'glance'
        ini(conf_dir / 'glance-api.conf', {
            'DEFAULT': {'log_file': self.logs / 'glance-app.log',
                        'enabled_backends': 'fs:file',
                        'bind_host': '127.0.0.1',
                        'bind_port': PORTS['glance']},
            'database': {'connection': self.db_url('glance')},
            'keystone_authtoken': self._authtoken('glance'),
            'paste_deploy': {'flavor': 'keystone', 'config_file':
                             venv / 'etc' / 'glance' /
                             'glance-api-paste.ini'},
            'glance_store': {'default_backend': 'fs'},
            'fs': {'filesystem_store_datadir': images / 'images'},
            'os_glance_staging_store': {
                'filesystem_store_datadir': images / 'staging'},
            'os_glance_tasks_store': {
                'filesystem_store_datadir': images / 'tasks'},
        })
        env = self._env(OS_GLANCE_CONFIG_DIR=conf_dir, PYTHONPATH='')
        self._run('glance-manage', [
            venv / 'bin' / 'glance-manage', '--config-dir', conf_dir,
            'db_sync'], env)
        self._gunicorn('glance', venv, 'glance.wsgi.api',
                       PORTS['glance'], env, workers=1)
        self._wait_http('glance', self.url('glance'))

    def upload_image(self):
        conn = self.connect()
        try:
            conn.image.create_image(
                name=IMAGE, data=b'\0' * 2**20, disk_format='raw',
                container_format='bare', visibility='public',
                wait=True)
        finally:
            conn.close()
