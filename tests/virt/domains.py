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
"""Domain XML documents shaped like the ones Nova 34's libvirt driver
generates (trimmed), for tests that need no Nova services."""

import os

import pytest

from nova_scale_ext.virt import schema

NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/1.1'

HUGEPAGES = """
  <memoryBacking>
    <hugepages>
      <page size="2048" nodeset="0" unit="KiB"/>
    </hugepages>
  </memoryBacking>"""

PINNED_CPUTUNE = """
  <cputune>
    <vcpupin vcpu="0" cpuset="6"/>
    <vcpupin vcpu="1" cpuset="7"/>
    <emulatorpin cpuset="6-7"/>
    <iothreadpin iothread="1" cpuset="6-7"/>
  </cputune>
  <numatune>
    <memory mode="strict" nodeset="0"/>
    <memnode cellid="0" mode="strict" nodeset="0"/>
  </numatune>"""


def domain(virt_type='kvm', hugepages=False, pinned=False, nova=True,
           memory_kib=1048576):
    """A domain XML string."""
    metadata = f"""
  <metadata>
    <nova:instance xmlns:nova="{NOVA_NS}">
      <nova:name>vm</nova:name>
    </nova:instance>
  </metadata>""" if nova else ''
    return f"""<domain type="{virt_type}">
  <uuid>8c4c78b7-0150-44a4-a35b-15890bf6672f</uuid>
  <name>instance-00000001</name>
  <memory>{memory_kib}</memory>{HUGEPAGES if hugepages else ''}
  <vcpu>2</vcpu>{metadata}
  <os>
    <type arch="x86_64" machine="pc">hvm</type>
    <boot dev="hd"/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <iothreads>1</iothreads>{PINNED_CPUTUNE if pinned else ''}
  <clock offset="utc"/>
  <cpu mode="host-model" match="exact">
    <topology sockets="2" cores="1" threads="1"/>
  </cpu>
  <devices>
    <disk type="file" device="disk">
      <driver name="qemu" type="raw" cache="none"/>
      <source file="/var/lib/nova/instances/x/disk"/>
      <target dev="vda" bus="virtio"/>
    </disk>
    <disk type="file" device="cdrom">
      <driver name="qemu" type="raw"/>
      <source file="/var/lib/nova/instances/x/disk.config"/>
      <target dev="hda" bus="ide"/>
    </disk>
    <controller type="scsi" index="0" model="virtio-scsi"/>
    <serial type="pty"/>
    <memballoon model="virtio">
      <stats period="10"/>
    </memballoon>
  </devices>
</domain>
"""


needs_schema = pytest.mark.skipif(
    not os.path.exists(schema.DEFAULT_SCHEMA),
    reason=f'libvirt\'s domain schema {schema.DEFAULT_SCHEMA} is not '
           f'installed (Debian: libvirt-daemon or libvirt-clients)')
