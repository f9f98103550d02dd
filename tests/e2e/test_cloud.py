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
"""The end-to-end cloud itself: what runs, where it listens, what a user
sees through openstacksdk."""

from tests.e2e import cloud as cloud_mod

#: 127.0.0.1 and ::1 as /proc/net/tcp* write them.
LOOPBACK = {'0100007F', '00000000000000000000000001000000'}


def test_every_service_listens_on_loopback_only(e2e_cloud):
    listening = e2e_cloud.listening()
    assert set(cloud_mod.PORTS.values()) <= {port for _, port in listening}
    assert {address for address, _ in listening} <= LOOPBACK, listening


def test_the_catalog_has_every_service(conn):
    types = {service.type for service in conn.identity.services()}
    assert {'identity', 'compute', 'placement', 'image', 'network'} <= types


def test_every_nova_service_is_up(conn, e2e_cloud):
    up = {(s.binary, s.host) for s in conn.compute.services()
          if s.state == 'up' and s.status == 'enabled'}
    assert ('nova-conductor', cloud_mod.CONTROLLER) in up
    assert ('nova-scheduler', cloud_mod.CONTROLLER) in up
    computes = {host for binary, host in up if binary == 'nova-compute'}
    assert set(e2e_cloud.fleet) <= computes
    if e2e_cloud.libvirt:
        assert cloud_mod.LIBVIRT_HOST in computes


def test_the_network_service_is_neutron_server_with_ml2(conn):
    aliases = {extension.alias for extension in conn.network.extensions()}
    assert 'binding' in aliases
    assert list(conn.network.ports()) == []


def test_every_service_loads_every_plugin_it_looks_for(e2e_cloud):
    """No ``Could not load`` from stevedore in any service's log: the cache
    backends oslo.cache registers (Nova) and the store drivers glance_store
    registers (Glance) are all importable, as in DevStack."""
    noisy = {}
    logs = sorted(e2e_cloud.logs.glob('*.log'))
    assert {'nova-api.log', 'glance-app.log'} <= {log.name for log in logs}
    for log in logs:
        lines = [line for line in log.read_text(errors='replace')
                 .splitlines() if 'ERROR stevedore' in line
                 and 'Could not load' in line]
        if lines:
            noisy[log.name] = lines[0]
    assert noisy == {}
