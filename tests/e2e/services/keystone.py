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
"""Keystone (fernet tokens, bootstrapped), the ``clouds.yaml`` of the
``e2e-admin`` cloud, and the service accounts and catalog DevStack creates.
"""

from tests.e2e.settings import (
    CACHE,
    CLOUD,
    PASSWORD,
    PORTS,
    REGION,
    SERVICE_USERS,
    ini,
)


class Keystone:
    """Identity, and what the other services need of it."""

    def _authtoken(self, user):
        return {
            'www_authenticate_uri': self.url('keystone', '/v3'),
            'auth_url': self.url('keystone', '/v3'),
            'auth_type': 'password', 'username': user, 'password': PASSWORD,
            'project_name': 'service', 'user_domain_name': 'Default',
            'project_domain_name': 'Default', 'region_name': REGION,
        }

    def start_keystone(self):
        venv = CACHE / 'keystone'
        conf = self.etc / 'keystone.conf'
        keys = self.data / 'keystone'
        ini(conf, {
            'DEFAULT': {'log_file': self.logs / 'keystone-app.log'},
            'database': {'connection': self.db_url('keystone')},
            'token': {'provider': 'fernet'},
            'fernet_tokens': {'key_repository': keys / 'fernet-keys'},
            'fernet_receipts': {'key_repository': keys / 'fernet-keys'},
            'credential': {'key_repository': keys / 'credential-keys'},
            'cache': {'enabled': 'false'},
        })
        for sub in ('fernet-keys', 'credential-keys'):
            (keys / sub).mkdir(parents=True, exist_ok=True)
        env = self._env(OS_KEYSTONE_CONFIG_FILES=conf, PYTHONPATH='')
        manage = [venv / 'bin' / 'keystone-manage', '--config-file', conf]
        self._run('keystone-manage', manage + ['db_sync'], env)
        for what in ('fernet_setup', 'credential_setup'):
            self._run('keystone-manage', manage + [
                what, '--keystone-user', 'root', '--keystone-group', 'root'],
                env)
        url = self.url('keystone', '/v3')
        self._run('keystone-manage', manage + [
            'bootstrap', '--bootstrap-password', PASSWORD,
            '--bootstrap-admin-url', url, '--bootstrap-internal-url', url,
            '--bootstrap-public-url', url,
            '--bootstrap-region-id', REGION], env)
        self._gunicorn('keystone', venv, 'keystone.wsgi.api',
                       PORTS['keystone'], env)
        self._wait_http('keystone', url)
        self.clouds_yaml.write_text(
            'clouds:\n'
            f'  {CLOUD}:\n'
            '    auth:\n'
            f'      auth_url: {url}\n'
            '      username: admin\n'
            f'      password: {PASSWORD}\n'
            '      project_name: admin\n'
            '      user_domain_name: Default\n'
            '      project_domain_name: Default\n'
            f'    region_name: {REGION}\n'
            '    identity_api_version: 3\n'
            '    interface: public\n')

    def connect(self):
        """An openstacksdk connection to the ``e2e-admin`` cloud."""
        import openstack
        from openstack import config as os_config

        config = os_config.OpenStackConfig(
            config_files=[str(self.clouds_yaml)])
        return openstack.connection.Connection(
            config=config.get_one(cloud=CLOUD))

    def create_accounts(self):
        """Service project, users and catalog, as DevStack creates them."""
        conn = self.connect()
        identity = conn.identity
        project = identity.create_project(name='service',
                                          domain_id='default')
        roles = {r.name: r for r in identity.roles()}
        if 'service' not in roles:
            roles['service'] = identity.create_role(name='service')
        for name in SERVICE_USERS:
            user = identity.create_user(name=name, password=PASSWORD,
                                        domain_id='default',
                                        default_project_id=project.id)
            for role in ('admin', 'service'):
                identity.assign_project_role_to_user(project, user,
                                                     roles[role])
        for name, kind, port, path in (
                ('nova', 'compute', 'nova', '/v2.1'),
                ('placement', 'placement', 'placement', ''),
                ('glance', 'image', 'glance', ''),
                ('neutron', 'network', 'neutron', '')):
            service = identity.create_service(name=name, type=kind)
            identity.create_endpoint(service_id=service.id,
                                     interface='public',
                                     url=self.url(port, path),
                                     region_id=REGION)
        conn.close()
