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
"""Names, ports and sizes of the end-to-end cloud, and small helpers its
services share.
"""

import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get('NOVA_SCALE_EXT_E2E_CACHE',
                            '/var/cache/nova-scale-ext-e2e'))
#: The project's virtualenv: Nova, Placement, openstacksdk.
VENV = Path(sys.prefix)
CLOUD = 'e2e-admin'
#: [DEFAULT] host of nova-api, nova-conductor and nova-scheduler.
CONTROLLER = 'e2e-controller'
PASSWORD = 'e2e-secret'
REGION = 'RegionOne'
SERVICE_USERS = ('nova', 'placement', 'glance', 'neutron')

#: Below Linux's ephemeral range (32768-60999): a port in it can be taken,
#: while the cloud comes up, by the outgoing connection of another service.
PORTS = {
    'mariadb': 13306, 'rabbit': 16672, 'rabbit_dist': 16673,
    'epmd': 14369, 'keystone': 15357, 'placement': 18778,
    'glance': 19292, 'nova': 18774, 'neutron': 19696, 'vcsim': 18989,
}

#: The fake computes: host name -> (vCPUs, memory MiB, local disk GiB).
FLEET = {
    'e2e-small': (4, 8192, 100),
    'e2e-medium': (8, 12288, 100),
    'e2e-large': (16, 32768, 100),
}

#: Availability zones (host aggregates) of the fake computes and of the
#: libvirt compute, so that each test's servers go to its own hosts.
FAKE_AZ = 'e2e-fake'
LIBVIRT_AZ = 'e2e-libvirt'
VMWARE_AZ = 'e2e-vmware'
#: The VMware computes: host name -> the simulated vCenter cluster it runs.
VMWARE_CLUSTERS = {'e2e-vmw-c1': 'c1', 'e2e-vmw-c2': 'c2'}
#: The ESXi hosts of each simulated cluster, (threads, memory MiB), as
#: tools/e2e/vcsim builds them.
VMWARE_ESXI = {'c1': ((8, 32768), (16, 65536), (4, 16384)),
               'c2': ((12, 49152), (24, 98304))}
#: The image of the VMware computes' servers (a sparse VMDK).
VMWARE_IMAGE = 'e2e-vmdk'
LIBVIRT_HOST = 'e2e-libvirt'
#: The image every test boots (1 MiB of zeros: the fake computes ignore it,
#: and the libvirt guests need no operating system to be inspected).
IMAGE = 'e2e-image'
#: How the DevStack plugin is configured (local.conf) for this cloud.
LOCAL_CONF = {
    'NOVA_SCALE_EXT_USE_SHIM': 'True',
    'NOVA_SCALE_EXT_TUNING_POLICY': 'hugepage_no_ksm=True',
}

#: Erlang's distribution (RabbitMQ's inter-node port) on 127.0.0.1 only.
LOOPBACK_DIST = '-kernel inet_dist_use_interface {127,0,0,1}'

DB_USER = 'e2e'
DATABASES = ('keystone', 'placement', 'glance', 'neutron', 'nova_api',
             'nova_cell0', 'nova')


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(('127.0.0.1', port)) == 0


def ini(path, sections):
    """Write ``{section: {option: value or [values]}}`` as an ini file."""
    lines = []
    for section, options in sections.items():
        lines.append(f'[{section}]')
        for option, value in options.items():
            values = value if isinstance(value, list) else [value]
            lines += [f'{option} = {v}' for v in values]
        lines.append('')
    Path(path).write_text('\n'.join(lines))


def without_sections(text, names):
    """An ini text without the sections ``names`` (lines kept as they are,
    so repeated options survive)."""
    out, keep = [], True
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith('[') and stripped.endswith(']'):
            keep = stripped[1:-1] not in names
        if keep:
            out.append(line)
    return '\n'.join(out) + '\n'


def with_option(conf_text, section, option, value):
    """``conf_text`` with ``[section] option`` set to ``value``."""
    out, current, done = [], None, False
    for line in conf_text.splitlines():
        stripped = line.strip()
        if stripped.startswith('[') and stripped.endswith(']'):
            if current == section and not done:
                out.append(f'{option} = {value}')
                done = True
            current = stripped[1:-1]
        elif current == section and stripped.split('=')[0].strip() == option:
            if not done:
                out.append(f'{option} = {value}')
                done = True
            continue
        out.append(line)
    if not done:
        if current != section:
            out.append(f'[{section}]')
        out.append(f'{option} = {value}')
    return '\n'.join(out) + '\n'
