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
"""A real OpenStack control plane on 127.0.0.1, in one directory.

:class:`Cloud` starts, as separate processes it owns, MariaDB, RabbitMQ
(with its own epmd), Keystone (fernet tokens, bootstrapped), Placement,
Glance (file store), neutron-server (ML2 without agents or mechanism
drivers: enough for servers without ports), nova-api, nova-conductor,
nova-scheduler, one nova-compute per entry of ``fleet``
(:mod:`tests.e2e.fake_compute`), with ``libvirt=True`` a nova-compute
with the libvirt driver shim on the host's libvirtd and, with
``vmware=True``, a simulated vCenter and a nova-compute with Nova's VMware
driver on each of its two clusters. It writes a
``clouds.yaml`` with an
``e2e-admin`` cloud that tests and tools use as a user would, and stops
every process it started, by process group, in :meth:`Cloud.stop`.

The ``nova.conf`` of the Nova services is the one the DevStack plugin's
post-config phase writes (``devstack/plugin.sh stack post-config``, run with
the stand-ins of ``tests/functional/devstack``) on top of the options
DevStack's lib/nova writes first; nova-scheduler can be restarted on Nova's
defaults (the same file without the plugin's lines) with
:meth:`Cloud.restart_scheduler`.

The pieces: :mod:`tests.e2e.supervisor` starts, waits for and stops the
processes; :mod:`tests.e2e.services` has a module per service (its
configuration and start); :mod:`tests.e2e.settings` the names, ports and
sizes. :class:`Cloud` composes them and orders the bring-up.

What is installed where: ``tools/e2e/install-e2e.sh``. Run by hand::

    python -m tests.e2e.cloud check             # can it run here?
    python -m tests.e2e.cloud up [--dir DIR]    # Ctrl-C tears it down
"""

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.e2e.services.glance import Glance
from tests.e2e.services.keystone import Keystone
from tests.e2e.services.libvirt_compute import LibvirtCompute
from tests.e2e.services.mariadb import MariaDB
from tests.e2e.services.neutron import Neutron
from tests.e2e.services.nova import Nova
from tests.e2e.services.placement import Placement
from tests.e2e.services.rabbitmq import RabbitMQ
from tests.e2e.services.vmware import (  # noqa: F401 (for the tests)
    VMwareComputes,
    vmware_unavailable,
)
from tests.e2e.settings import (  # noqa: F401 (the tests' names)
    CACHE,
    CLOUD,
    CONTROLLER,
    FAKE_AZ,
    FLEET,
    IMAGE,
    LIBVIRT_AZ,
    LIBVIRT_HOST,
    PORTS,
    VENV,
    VMWARE_AZ,
    VMWARE_CLUSTERS,
    VMWARE_IMAGE,
    port_open,
)
from tests.e2e.supervisor import CloudError, Supervisor  # noqa: F401


def missing_requirements():
    """What this machine lacks to run the cloud, as sentences ([]: ok)."""
    missing = []
    if os.geteuid() != 0:
        missing.append('the end-to-end cloud runs as root')
    for tool in ('mariadbd', 'mariadb-install-db', 'epmd'):
        if not shutil.which(tool, path=os.environ.get('PATH', '') +
                            ':/usr/sbin:/usr/bin'):
            missing.append(f'{tool} is not installed (mariadb-server, '
                           'rabbitmq-server)')
    if not Path('/usr/lib/rabbitmq/bin/rabbitmq-server').exists():
        missing.append('rabbitmq-server is not installed')
    for venv in ('keystone', 'glance', 'neutron'):
        if not (CACHE / venv / '.installed').exists():
            missing.append(f'no {venv} virtualenv in {CACHE}')
    if not (CACHE / 'nova-site' / '.installed').exists():
        missing.append(f'no gunicorn/PyMySQL/python-memcached in '
                       f'{CACHE}/nova-site')
    if missing:
        missing.append('run tools/e2e/install-e2e.sh as root')
    return missing


def libvirt_unavailable():
    """Why the libvirt compute cannot run here (None: it can)."""
    if os.geteuid() != 0:
        return 'the libvirt compute runs as root'
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return 'libvirt-python is not installed'
    if not shutil.which('qemu-img'):
        return 'qemu-img is not installed (qemu-utils)'
    if not shutil.which('virsh'):
        return 'virsh is not installed (libvirt-clients)'
    probe = subprocess.run(['virsh', '-c', 'qemu:///system', 'version'],
                           capture_output=True, text=True)
    if probe.returncode:
        return ('libvirtd does not answer on qemu:///system (run '
                'tools/start-libvirtd.sh)')
    free = Path('/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages')
    if not free.exists() or int(free.read_text()) < 128:
        return 'fewer than 128 free 2 MiB huge pages'
    if (os.cpu_count() or 1) < 2:
        return 'one CPU: nothing to split into dedicated and shared sets'
    return None


class Cloud(Supervisor, MariaDB, RabbitMQ, Keystone, Placement, Glance,
            Neutron, Nova, LibvirtCompute, VMwareComputes):
    """One control plane and its fake computes, in ``root``."""

    def __init__(self, root, fleet=None, log=print, libvirt=False,
                 vmware=False):
        Supervisor.__init__(self, root, log)
        self.libvirt = libvirt
        self.vmware = vmware
        self.fleet = dict(FLEET if fleet is None else fleet)
        self.etc = self.root / 'etc'
        self.data = self.root / 'data'
        self.clouds_yaml = self.etc / 'clouds.yaml'
        self.nova_conf = self.etc / 'nova' / 'nova.conf'
        self.nova_defaults_conf = self.etc / 'nova' / 'nova-defaults.conf'
        self.compute_conf = self.etc / 'nova' / 'nova-cpu.conf'
        self.scheduler_conf = None
        self.bring_up_s = None
        #: Guests on the host's libvirtd before the libvirt compute came up
        #: (None: it did not).
        self._guests_before = None

    def start(self):
        began = time.monotonic()
        for path in (self.etc / 'nova', self.logs, self.data):
            path.mkdir(parents=True, exist_ok=True)
        busy = [f'{name} ({port})' for name, port in PORTS.items()
                if port_open(port)]
        if busy:
            raise CloudError(
                'ports of the cloud already in use on 127.0.0.1: '
                f'{", ".join(busy)} (is another end-to-end cloud running?)')
        # What the steps import, imported here: two threads importing the
        # same modules for the first time can see one half initialised.
        import openstack  # noqa: F401

        from tests.functional.devstack import harness  # noqa: F401

        # Steps on one line run at once (they wait on MariaDB, Keystone or
        # each other's migrations more than on the CPU).
        try:
            self._steps(('mariadb', self.start_mariadb),
                        ('rabbitmq', self.start_rabbitmq),
                        *([('vcsim', self.start_vcsim)] if self.vmware
                          else []))
            self._steps(('keystone', self.start_keystone))
            self._steps(('accounts', self.create_accounts),
                        ('nova-db', self.prepare_nova),
                        ('neutron', self.start_neutron),
                        ('placement', self.start_placement),
                        ('glance', self.start_glance))
            self._steps(('nova-services', self.start_nova),
                        ('image', self.upload_image),
                        *([('vmdk', self.upload_vmware_image)]
                          if self.vmware else []))
            self._steps(('computes', self.start_computes))
            self._steps(('zones', self.create_zones))
        except BaseException:
            self.stop()
            raise
        self.bring_up_s = time.monotonic() - began
        steps = ', '.join(f'{k} {v:.1f}' for k, v in self.timings.items())
        self.log(f'e2e cloud up in {self.bring_up_s:.1f} s (steps, some at '
                 f'once: {steps}); {len(self.processes)} services, '
                 f'{self.memory_mib():.0f} MiB resident')
        return self

    def stop(self):
        """Stop every process of the cloud: the Nova services first (so
        that they do not log the loss of their database and broker), then
        the rest."""
        self._stopping = True
        names = list(self.processes)
        nova = [n for n in names if n.startswith(('nova-', 'e2e-'))]
        for group in (nova, list(self.processes)):
            try:
                self.kill(*group)
            except CloudError as exc:
                self.log(str(exc))
        if self._guests_before is not None:
            self.remove_guests()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def url(self, service, path=''):
        return f'http://127.0.0.1:{PORTS[service]}{path}'


def interrupt(signum, frame):
    """A signal handler that stops the cloud as Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='check: say whether this machine can run the cloud '
                    '(exit status 1 if not); up: bring it up until Ctrl-C.')
    parser.add_argument('action', choices=['check', 'up'])
    parser.add_argument('--dir', help='directory for configuration, data '
                        'and logs (default: a new temporary directory)')
    args = parser.parse_args(argv)
    missing = missing_requirements()
    if missing:
        print('; '.join(missing), file=sys.stderr)
        return 1
    no_libvirt = libvirt_unavailable()
    no_vmware = vmware_unavailable()
    if args.action == 'check':
        print('the end-to-end cloud can run here' + (
            f', without its libvirt compute: {no_libvirt}' if no_libvirt
            else ', with its libvirt compute') + (
            f'; without its VMware computes: {no_vmware}' if no_vmware
            else ', with its VMware computes'))
        return 0
    root = args.dir or tempfile.mkdtemp(prefix='nova-scale-ext-e2e-')
    cloud = Cloud(root, libvirt=no_libvirt is None,
                  vmware=no_vmware is None)
    # A TERM (from kill or timeout) tears the cloud down like Ctrl-C.
    signal.signal(signal.SIGTERM, interrupt)
    with cloud:
        print(f'OS_CLIENT_CONFIG_FILE={cloud.clouds_yaml} '
              f'OS_CLOUD={CLOUD}; Ctrl-C stops it', flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == '__main__':
    sys.exit(main())
