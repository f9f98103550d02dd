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
"""VMware computes: a simulated vCenter (``tools/e2e/vcsim``, built by
``tools/e2e/install-e2e.sh`` on govmomi's simulator) with two clusters of
ESXi hosts of different sizes, and one nova-compute with Nova's
``vmwareapi.VMwareVCDriver`` per cluster, as operators run them.
"""

import re
import subprocess

from tests.e2e.settings import (
    CACHE,
    PASSWORD,
    PORTS,
    VENV,
    VMWARE_CLUSTERS,
    VMWARE_IMAGE,
    ini,
)

VCSIM = CACHE / 'vcsim' / 'vcsim-e2e'
WSDL = CACHE / 'vcsim' / 'vimService.wsdl'


def vmware_unavailable():
    """Why the VMware computes cannot run here (None: they can)."""
    if not VCSIM.exists() or not WSDL.exists():
        return (f'no vCenter simulator in {CACHE}/vcsim (run '
                'tools/e2e/install-e2e.sh as root: it builds it with '
                'golang-go and golang-github-vmware-govmomi-dev)')
    probe = subprocess.run(
        [VENV / 'bin' / 'python', '-c', 'import oslo_vmware'],
        capture_output=True, text=True,
        env={'PYTHONPATH': str(CACHE / 'nova-site')})
    if probe.returncode:
        return (f'oslo.vmware is not installed in {CACHE}/nova-site (run '
                'tools/e2e/install-e2e.sh as root)')
    return None


class VMwareComputes:
    """The simulated vCenter and its nova-computes."""

    def start_vcsim(self):
        self.spawn('vcsim', [VCSIM, '-listen',
                             f'127.0.0.1:{PORTS["vcsim"]}', '-wsdl', WSDL])
        log = self.logs / 'vcsim.log'
        self._wait('vcsim', lambda: b'vcsim ready:' in log.read_bytes(), 60)

    def start_vmware_computes(self):
        """One nova-compute per simulated cluster; returns its hosts."""
        for host, cluster in VMWARE_CLUSTERS.items():
            conf = self.etc / 'nova' / f'{host}.conf'
            ini(conf, {
                'DEFAULT': {'host': host,
                            'compute_driver': 'vmwareapi.VMwareVCDriver',
                            'state_path': self.data / host},
                'vmware': {'host_ip': '127.0.0.1',
                           'host_port': PORTS['vcsim'],
                           'host_username': 'e2e',
                           'host_password': PASSWORD,
                           'cluster_name': cluster,
                           'insecure': 'True',
                           'task_poll_interval': '0.2'},
                # Nothing listens on the simulated hosts' VNC ports.
                'vnc': {'enabled': 'False'},
            })
            (self.data / host).mkdir(exist_ok=True)
            self.spawn(host, [VENV / 'bin' / 'nova-compute', '--config-file',
                              self.compute_conf, '--config-file', conf])
        return list(VMWARE_CLUSTERS)

    def vmware_nodes(self, timeout=180):
        """The node (cluster) name each VMware compute reports, read from
        its log once it has created its compute node record."""
        nodes = {}

        def created():
            for host in VMWARE_CLUSTERS:
                text = (self.logs / f'{host}.log').read_text(errors='replace')
                found = re.search(
                    rf'Compute node record created for {host}:(\S+)', text)
                if found:
                    nodes[host] = found.group(1)
            return len(nodes) == len(VMWARE_CLUSTERS)
        self._wait(list(VMWARE_CLUSTERS), created, timeout,
                   'to create its compute node')
        return nodes

    def upload_vmware_image(self):
        """A 1 MiB sparse VMDK (the VMware driver takes VMDK and ISO
        images only)."""
        path = self.data / 'e2e.vmdk'
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'vmdk', path, '1M'],
                       check=True)
        conn = self.connect()
        try:
            conn.image.create_image(
                name=VMWARE_IMAGE, data=path.read_bytes(), disk_format='vmdk',
                container_format='bare', visibility='public',
                vmware_disktype='sparse', vmware_adaptertype='lsiLogic',
                wait=True)
        finally:
            conn.close()
