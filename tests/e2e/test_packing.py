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
"""The deployed nova.conf packs servers where the simulator says.

Servers are booted and deleted through openstacksdk, one step after the
other, on the fake computes of the end-to-end cloud; the host each lands
on is read back from the API. nova-scheduler runs first on the nova.conf
the DevStack plugin's post-config phase wrote, then, restarted alone, on
the same file without the plugin's lines (Nova's defaults).
"""

import re
import time

import pytest

from tests.e2e import cloud as cloud_mod
from tests.e2e import sequence
from tests.e2e.settings import with_option

SETTLE_S = 2.5


def flavor_for(conn, vcpus, memory_mb):
    name = f'e2e.{vcpus}c{memory_mb}m'
    flavor = conn.compute.find_flavor(name)
    if flavor is None:
        flavor = conn.compute.create_flavor(name=name, vcpus=vcpus,
                                            ram=memory_mb, disk=0)
    return flavor


def run_sequence(conn, steps, prefix):
    """Boot and delete as ``steps`` says; ``{name: host}`` of each boot."""
    image = conn.image.find_image(cloud_mod.IMAGE)
    servers, landed = {}, {}
    try:
        for step in steps:
            if step[0] == 'boot':
                _, name, vcpus, memory_mb = step
                server = conn.compute.create_server(
                    name=f'{prefix}-{name}', image_id=image.id,
                    flavor_id=flavor_for(conn, vcpus, memory_mb).id,
                    networks='none', availability_zone=cloud_mod.FAKE_AZ)
                server = conn.compute.wait_for_server(server, interval=0.5,
                                                      wait=120)
                servers[name] = server
                landed[name] = server.compute_host
            else:
                server = servers.pop(step[1])
                conn.compute.delete_server(server)
                conn.compute.wait_for_delete(server, interval=0.5, wait=120)
            # Let the computes' resource trackers (every second) refresh
            # their records: nova-scheduler refreshes a host only from a
            # record newer than its own last change (the database keeps whole
            # seconds), and its IoOpsWeigher counts a server as building
            # until then.
            time.sleep(SETTLE_S)
    finally:
        for server in servers.values():
            conn.compute.delete_server(server)
        for server in servers.values():
            conn.compute.wait_for_delete(server, interval=0.5, wait=120)
    return landed


def scheduler_workers(log_path, since):
    """The process ids that logged a selected host in nova-scheduler's log
    after byte ``since``."""
    with open(log_path, 'rb') as handle:
        handle.seek(since)
        text = handle.read().decode(errors='replace')
    return {re.split(r'\s+', line.strip())[2] for line in text.splitlines()
            if 'Selected host:' in line}


@pytest.fixture(scope='module')
def placements(e2e_cloud):
    """Where the sequence landed and where the simulator puts it, with the
    plugin's nova.conf (with one nova-scheduler worker, and with two) and
    with Nova's defaults."""
    conn = e2e_cloud.connect()
    two_workers = e2e_cloud.nova_conf.with_name('nova-2-schedulers.conf')
    two_workers.write_text(with_option(e2e_cloud.nova_conf.read_text(),
                                       'scheduler', 'workers', '2'))
    log = e2e_cloud.logs / 'nova-scheduler.log'
    out = {}
    try:
        for label, conf in (('recommended', e2e_cloud.nova_conf),
                            ('two-schedulers', two_workers),
                            ('defaults', e2e_cloud.nova_defaults_conf)):
            if e2e_cloud.scheduler_conf != conf:
                e2e_cloud.restart_scheduler(conf)
            since = log.stat().st_size
            real = run_sequence(conn, sequence.SEQUENCE, label)
            out[label + ' workers'] = scheduler_workers(log, since)
            predicted = sequence.predict(e2e_cloud.fleet, sequence.SEQUENCE,
                                         conf.read_text(), label)
            out[label] = (real, predicted)
    finally:
        if e2e_cloud.scheduler_conf != e2e_cloud.nova_conf:
            e2e_cloud.restart_scheduler(e2e_cloud.nova_conf)
        conn.close()
    return out


def test_the_plugin_wrote_the_scheduler_configuration(e2e_cloud):
    text = e2e_cloud.nova_conf.read_text()
    assert 'nova_scale_ext.scheduler.weights.all_weighers' in text
    assert 'ScaleExtHeadroomFilter' in text
    assert 'nova_scale_ext' not in e2e_cloud.nova_defaults_conf.read_text()


def test_recommended_configuration_places_as_simulated(placements):
    real, predicted = placements['recommended']
    assert real == predicted


def test_two_scheduler_workers_place_as_one_does(placements):
    """Each of two nova-scheduler worker processes makes some of the
    decisions, and together they place as the simulator (and one worker)
    does: nothing of the plugins' lives in one process only."""
    real, predicted = placements['two-schedulers']
    assert real == predicted == placements['recommended'][0]
    assert len(placements['two-schedulers workers']) == 2
    assert len(placements['recommended workers']) == 1


def test_nova_defaults_place_as_simulated(placements):
    real, predicted = placements['defaults']
    assert real == predicted


def test_the_two_configurations_place_differently(placements):
    recommended, _ = placements['recommended']
    defaults, _ = placements['defaults']
    assert recommended != defaults
    # Both open the large host first; once it has less free memory than the
    # medium host, Nova's defaults spread onto the medium one while the
    # recommended configuration keeps filling the host in use.
    assert defaults['a'] == recommended['a'] == 'e2e-large'
    assert defaults['d'] == defaults['e'] == 'e2e-medium'
    assert recommended['d'] == recommended['e'] == 'e2e-large'


def test_every_host_of_the_fleet_is_a_hypervisor(conn):
    names = {h.name for h in conn.compute.hypervisors()}
    assert set(cloud_mod.FLEET) <= names


def test_hypervisor_details_carry_each_fake_computes_uptime(conn):
    """At microversion 2.88 a hypervisor's details include its uptime, which
    nova-api asks the compute for: the fake computes answer as Nova's
    libvirt driver does (the host's ``uptime`` line), not with a
    NotImplementedError traceback in their log."""
    by_name = {h.name: h for h in conn.compute.hypervisors()}
    for name in cloud_mod.FLEET:
        response = conn.compute.get(f'/os-hypervisors/{by_name[name].id}',
                                    microversion='2.88')
        assert response.status_code == 200, response.text
        uptime = response.json()['hypervisor']['uptime']
        assert 'load average' in uptime, (name, uptime)
