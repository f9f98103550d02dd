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
generates (trimmed), for tests that need no Nova services, and the schemas
to check them: small ones written by the tests, or libvirt's own."""

import errno
import os

from nova_scale_ext.virt import schema
from tests import requirements

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


def _any_element_but(names=()):
    """A Relax-NG schema: any XML whose elements are not called ``names``."""
    name_class = '<anyName/>'
    if names:
        name_class = ('<anyName><except>' +
                      ''.join(f'<name>{n}</name>' for n in names) +
                      '</except></anyName>')
    return f"""<grammar xmlns="http://relaxng.org/ns/structure/1.0">
  <start><ref name="any"/></start>
  <define name="any">
    <element>
      {name_class}
      <zeroOrMore>
        <choice>
          <attribute><anyName/></attribute>
          <text/>
          <ref name="any"/>
        </choice>
      </zeroOrMore>
    </element>
  </define>
</grammar>
"""


#: Any XML passes: for tests of the tuning, not of libvirt's schema.
ANY_XML_RNG = _any_element_but()
#: Any XML but a ``<turbo>`` element (what the driver's tests add to a
#: domain to make it invalid), wherever it is.
NO_TURBO_RNG = _any_element_but(['turbo'])


def write_schema(directory, text=ANY_XML_RNG):
    """Write a schema into ``directory``; its path."""
    path = os.path.join(str(directory), 'domain.rng')
    with open(path, 'w') as f:
        f.write(text)
    return path


def libvirt_schema():
    """libvirt's own domain schema, compiled; the test skips (fails with
    ``NOVA_SCALE_EXT_REQUIRE_LIBVIRT=1``) when it cannot be loaded."""
    found = schema.DomainSchema()
    try:
        found.load()
        return found
    except schema.SchemaUnavailable as exc:
        problem = ('is missing' if exc.reason == os.strerror(errno.ENOENT)
                   else f'cannot be loaded ({exc.reason})')
    requirements.unavailable(
        f"libvirt's domain schema {found.path} {problem}",
        f'install the package that ships it ({schema.PROVIDED_BY}), e.g. '
        f'`apt-get install libvirt-daemon libvirt-clients`, or run '
        f'`bash tools/test.sh` as root, which installs it')
