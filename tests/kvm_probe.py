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
"""Whether a KVM guest really starts here, with a given CPU mode.

A readable ``/dev/kvm`` is not enough: on some virtual machines QEMU
aborts when it sets up the virtual CPU with ``host-model`` or
``host-passthrough`` ("failed to set MSR ..."), while a guest with QEMU's
default CPU model starts. The tests that boot guests use KVM only when a
throwaway paused guest with their CPU mode starts, and TCG otherwise.
"""

import os


def kvm_boots(cpu_mode=None, uri='qemu:///system'):
    """True if a paused one-vCPU KVM guest with ``cpu_mode`` starts."""
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return False
    try:
        import libvirt
        # libvirt prints every error on stderr by default: a guest that
        # does not start (QEMU's own assertion included) is an answer here,
        # not noise for whoever reads the bring-up output.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    except Exception:
        return False
    try:
        return _boots(libvirt, cpu_mode, uri)
    finally:
        libvirt.registerErrorHandler(None, None)


def _boots(libvirt, cpu_mode, uri):
    try:
        conn = libvirt.open(uri)
    except Exception:
        return False
    cpu = f"<cpu mode='{cpu_mode}'/>" if cpu_mode else ''
    xml = (f"<domain type='kvm'><name>nse-kvm-probe-{os.getpid()}</name>"
           "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
           "<os><type arch='x86_64'>hvm</type></os>"
           f"{cpu}<devices/></domain>")
    try:
        dom = conn.createXML(xml, libvirt.VIR_DOMAIN_START_PAUSED)
    except Exception:
        return False
    else:
        dom.destroy()
        return True
    finally:
        conn.close()
