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
"""A nova-compute with the plugin's libvirt driver shim on the host's
libvirtd, and the removal of guests it leaves behind.
"""

import os
import subprocess
import time

from tests import kvm_probe
from tests.e2e.settings import LIBVIRT_HOST, VENV, ini


class LibvirtCompute:
    """The libvirt compute."""

    def start_libvirt_compute(self):
        """nova-compute with the driver the plugin configured (our shim)
        on this host's libvirtd: CPU 0 shared, the others dedicated.
        Returns the name of its node."""
        import libvirt

        connection = libvirt.open('qemu:///system')
        try:
            self._guests_before = {d.name()
                                   for d in connection.listAllDomains()}
        finally:
            connection.close()
        host = LIBVIRT_HOST
        state = self.data / host
        (state / 'instances').mkdir(parents=True, exist_ok=True)
        # Everything runs as root: Nova's privilege helpers need no sudo.
        shims = self.root / 'bin'
        shims.mkdir(exist_ok=True)
        sudo = shims / 'sudo'
        sudo.write_text('#!/bin/sh\nexec "$@"\n')
        sudo.chmod(0o755)
        kvm = kvm_probe.kvm_boots('host-passthrough')
        cpus = sorted(os.sched_getaffinity(0))
        conf = self.etc / 'nova' / f'{host}.conf'
        ini(conf, {
            'DEFAULT': {'host': host, 'state_path': state,
                        'instances_path': state / 'instances'},
            'libvirt': {'virt_type': 'kvm' if kvm else 'qemu',
                        'cpu_mode': 'host-passthrough' if kvm else 'none'},
            'compute': {'cpu_shared_set': str(cpus[0]),
                        'cpu_dedicated_set': ','.join(
                            str(c) for c in cpus[1:])},
            'workarounds': {'disable_rootwrap': 'True'},
        })
        env = self._env()
        env['PATH'] = f'{shims}{os.pathsep}{env["PATH"]}'
        self._libvirt_compute = ([VENV / 'bin' / 'nova-compute',
                                  '--config-file', self.compute_conf,
                                  '--config-file', conf], env)
        self.spawn(host, *self._libvirt_compute)
        # The libvirt driver names its node after the machine.
        return subprocess.run(
            ['virsh', '-c', 'qemu:///system', 'hostname'], check=True,
            capture_output=True, text=True).stdout.strip()

    def restart_libvirt_compute(self, *extra_conf):
        """Restart the libvirt compute with ``extra_conf`` files after its
        own (none: as it started). Its guests keep running in libvirtd;
        returns once the new process has gone through ``init_host`` (which
        clears the task state of its instances) and consumes requests."""
        began = time.monotonic()
        host = LIBVIRT_HOST
        self.kill(host)
        log = self.logs / f'{host}.log'
        size = log.stat().st_size if log.exists() else 0
        argv, env = self._libvirt_compute
        for path in extra_conf:
            argv = [*argv, '--config-file', path]
        self.spawn(host, argv, env)

        def started():
            with open(log, 'rb') as handle:
                handle.seek(size)
                return b'Join ServiceGroup membership' in handle.read()
        self._wait(host, started, 180, 'to start its service')
        self.log(f'{host} restarted in {time.monotonic() - began:.1f} s')

    def remove_guests(self):
        """Destroy and undefine the guests the libvirt compute left on the
        host's libvirtd (a test that failed before deleting its server):
        libvirtd, not the cloud, is their parent."""
        import libvirt

        connection = libvirt.open('qemu:///system')
        try:
            for domain in connection.listAllDomains():
                name = domain.name()
                if (not name.startswith('instance-') or
                        name in self._guests_before):
                    continue
                self.log(f'e2e cloud: removing guest {name} left behind')
                if domain.isActive():
                    domain.destroy()
                domain.undefineFlags(
                    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                    libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        finally:
            connection.close()
