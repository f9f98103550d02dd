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
"""Nova: nova.conf as DevStack and the plugin write it, the databases and
cells, nova-api, nova-conductor, nova-scheduler, the fake computes and the
availability zones.
"""

import shutil
import tempfile
import time
from pathlib import Path

from tests.e2e.settings import (
    CONTROLLER,
    FAKE_AZ,
    LIBVIRT_AZ,
    LIBVIRT_HOST,
    LOCAL_CONF,
    PORTS,
    VENV,
    VMWARE_AZ,
    VMWARE_CLUSTERS,
    ini,
    without_sections,
)


class Nova:
    """The Nova services and computes."""

    #: nova-api's worker processes (gunicorn's)
    api_workers = 2

    def base_nova_conf(self):
        """What DevStack's lib/nova writes before the plugins' post-config
        (create_nova_conf), for this machine."""
        from tests.functional.devstack import harness

        sections = {
            'DEFAULT': {
                'debug': 'True', 'transport_url': self.transport_url,
                'my_ip': '127.0.0.1', 'state_path': self.data / 'nova',
                'host': CONTROLLER, 'use_stderr': 'True',
                'graceful_shutdown_timeout': '5',
                # The fleet as the tests (and the simulator) see it.
                'cpu_allocation_ratio': '1.0', 'ram_allocation_ratio': '1.0',
                'disk_allocation_ratio': '1.0',
                'reserved_host_memory_mb': '0', 'reserved_host_disk_mb': '0',
            },
            'api': {'auth_strategy': 'keystone'},
            'wsgi': {'api_paste_config': VENV / 'etc' / 'nova' /
                     'api-paste.ini'},
            'database': {'connection': self.db_url('nova')},
            'api_database': {'connection': self.db_url('nova_api')},
            'keystone_authtoken': self._authtoken('nova'),
            'placement': self._authtoken('nova'),
            'neutron': self._authtoken('nova'),
            'oslo_concurrency': {'lock_path': self.data / 'nova' / 'locks'},
            'scheduler': {'discover_hosts_in_cells_interval': '-1',
                          'workers': '1'},
            'conductor': {'workers': '1'},
            'quota': {'driver': 'nova.quota.NoopQuotaDriver'},
            'vnc': {'enabled': 'False'},
            'filter_scheduler': {'enabled_filters':
                                 harness.DEVSTACK_FILTERS},
        }
        for section in ('placement', 'neutron', 'keystone_authtoken'):
            sections[section].pop('www_authenticate_uri', None)
        sections['keystone_authtoken']['www_authenticate_uri'] = self.url(
            'keystone', '/v3')
        return sections

    def write_nova_conf(self, **local_conf):
        """nova.conf: lib/nova's options, then the plugin's post-config."""
        from tests.functional.devstack import harness

        (self.data / 'nova' / 'locks').mkdir(parents=True, exist_ok=True)
        shutil.copy(VENV / 'etc' / 'nova' / 'api-paste.ini',
                    self.nova_conf.parent / 'api-paste.ini')
        ini(self.nova_defaults_conf, self.base_nova_conf())
        with tempfile.TemporaryDirectory() as tmp:
            host = harness.FakeDevStack(tmp, **dict(LOCAL_CONF,
                                                    **local_conf))
            shutil.copy(self.nova_defaults_conf, host.nova_conf)
            host.run(('stack', 'post-config'))
            self.nova_conf.write_text(host.nova_conf.read_text())
        self.compute_conf.write_text(without_sections(
            self.nova_conf.read_text(), ('database', 'api_database')))
        self.scheduler_conf = self.nova_conf

    def _nova_env(self, conf=None):
        conf = conf or self.nova_conf
        # nova-api reads its paste pipeline from the first file.
        return self._env(OS_NOVA_CONFIG_DIR=conf.parent,
                         OS_NOVA_CONFIG_FILES=f'api-paste.ini;{conf.name}')

    def nova_manage(self, *args):
        self._run('nova-manage', [VENV / 'bin' / 'nova-manage',
                                  '--config-file', self.nova_conf, *args],
                  self._nova_env())

    def prepare_nova(self):
        self.write_nova_conf()
        self.sync_nova_db()

    def sync_nova_db(self):
        self.nova_manage('api_db', 'sync')
        self.nova_manage('cell_v2', 'map_cell0', '--database_connection',
                         self.db_url('nova_cell0'))
        self.nova_manage('db', 'sync')
        self.nova_manage('cell_v2', 'create_cell', '--name', 'cell1',
                         '--transport-url', self.transport_url,
                         '--database_connection', self.db_url('nova'))

    def start_nova(self):
        env = self._nova_env()
        self._gunicorn('nova-api', VENV, 'nova.wsgi.osapi_compute',
                       PORTS['nova'], env, workers=self.api_workers)
        self.spawn('nova-conductor', [VENV / 'bin' / 'nova-conductor',
                                      '--config-file', self.nova_conf], env)
        self.start_scheduler(self.scheduler_conf)
        self._wait_http('nova-api', self.url('nova', '/v2.1'))

    def start_scheduler(self, conf):
        self.scheduler_conf = Path(conf)
        self.spawn('nova-scheduler', [VENV / 'bin' / 'nova-scheduler',
                                      '--config-file', conf],
                   self._nova_env(Path(conf)))

    def _services_up(self, binary, hosts):
        conn = self.connect()
        try:
            up = {s.host for s in conn.compute.services(binary=binary)
                  if s.state == 'up' and s.status == 'enabled'}
        finally:
            conn.close()
        return set(hosts) <= up

    def restart_scheduler(self, conf):
        """Restart nova-scheduler alone on another nova.conf."""
        began = time.monotonic()
        self.kill('nova-scheduler')
        # Its service record stays 'up' for a while: wait for the new
        # process's log line saying it starts its service instead. A request
        # sent before it consumes waits in its (durable) RabbitMQ queue.
        mark = self.logs / 'nova-scheduler.log'
        size = mark.stat().st_size if mark.exists() else 0
        self.start_scheduler(conf)

        def started():
            with open(mark, 'rb') as handle:
                handle.seek(size)
                return b'Starting scheduler node' in handle.read()
        self._wait('nova-scheduler', started, 120, 'to start its service')
        took = time.monotonic() - began
        self.log(f'nova-scheduler restarted on {Path(conf).name} in '
                 f'{took:.1f} s')
        return took

    def start_computes(self):
        """The fake computes and, if asked for, the libvirt compute; wait
        until placement and the API know them all."""
        hosts, nodes = list(self.fleet), list(self.fleet)
        if self.vmware:
            hosts += self.start_vmware_computes()
        if self.libvirt:
            hosts.append(LIBVIRT_HOST)
            nodes.append(self.start_libvirt_compute())
        for host, (vcpus, memory_mb, disk_gb) in self.fleet.items():
            conf = self.etc / 'nova' / f'{host}.conf'
            # The resource tracker refreshes the host's statistics every
            # second: nova-scheduler's IoOpsWeigher (on by default) counts
            # an instance as building until the next refresh after it is
            # ACTIVE, which the simulator does not model.
            ini(conf, {'DEFAULT': {
                'host': host,
                'compute_driver': 'scale_ext_e2e.SizedFakeDriver',
                'state_path': self.data / host,
                'update_resources_interval': '1',
                'periodic_fuzzy_delay': '0'}})
            (self.data / host).mkdir(exist_ok=True)
            env = self._env(NOVA_SCALE_EXT_E2E_FAKE_SIZE=(
                f'{vcpus},{memory_mb},{disk_gb}'))
            self.spawn(host, [VENV / 'bin' / 'python', '-m',
                              'tests.e2e.fake_compute', '--config-file',
                              self.compute_conf, '--config-file', conf], env)
        if self.vmware:
            nodes += self.vmware_nodes().values()
        self.wait_for_hosts(hosts, nodes)

    def wait_for_hosts(self, hosts, nodes, timeout=180):
        """Wait until placement has the providers of the hosts' nodes, then
        map the hosts to the cell and wait until the API sees them up."""
        conn = self.connect()

        def providers():
            names = {rp.name for rp in conn.placement.resource_providers()}
            return set(nodes) <= names
        try:
            self._wait(hosts, providers, timeout, 'to report to placement')
        finally:
            conn.close()
        self.nova_manage('cell_v2', 'discover_hosts')
        self._wait(hosts, lambda: self._services_up('nova-compute', hosts),
                   60, 'to report up')

    def create_zones(self):
        conn = self.connect()
        try:
            zones = [(FAKE_AZ, list(self.fleet))]
            if self.libvirt:
                zones.append((LIBVIRT_AZ, [LIBVIRT_HOST]))
            if self.vmware:
                zones.append((VMWARE_AZ, list(VMWARE_CLUSTERS)))
            for zone, hosts in zones:
                aggregate = conn.compute.create_aggregate(
                    name=zone, availability_zone=zone)
                for host in hosts:
                    conn.compute.add_host_to_aggregate(aggregate, host)
        finally:
            conn.close()
