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
"""``nova-scale-ext capacity --os-cloud NAME`` against the end-to-end cloud.

The installed command reads the cloud through the same ``clouds.yaml`` as
the other tests; with one server booted on the fake computes, its counts
must match the fleet's sizes minus that server.
"""

import json
import os
import subprocess

import pytest

from tests.e2e import cloud as cloud_mod

COMMAND = cloud_mod.VENV / 'bin' / 'nova-scale-ext'


def run_capacity(e2e_cloud, *argv, command='capacity'):
    """The installed command, with the cloud's clouds.yaml, as a user runs
    it."""
    result = subprocess.run(
        [COMMAND, command, '--os-cloud', cloud_mod.CLOUD, *argv],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(
            e2e_cloud.clouds_yaml)))
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def one_server(conn):
    flavor = conn.compute.create_flavor(name='e2e.cap-4c8g', vcpus=4,
                                        ram=8192, disk=0)
    image = conn.image.find_image(cloud_mod.IMAGE)
    server = conn.compute.create_server(
        name='e2e-capacity', image_id=image.id, flavor_id=flavor.id,
        networks='none', availability_zone=cloud_mod.FAKE_AZ)
    try:
        server = conn.compute.wait_for_server(server, interval=0.5, wait=120)
        yield server
    finally:
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=0.5, wait=120)
        conn.compute.delete_flavor(flavor)


def test_capacity_counts_what_still_fits_per_flavor(e2e_cloud, one_server):
    data = json.loads(run_capacity(e2e_cloud, '--json'))

    row = data['flavors']['e2e.cap-4c8g']
    expected = {}
    for host, (vcpus, memory_mb, _) in cloud_mod.FLEET.items():
        used = (4, 8192) if host == one_server.compute_host else (0, 0)
        expected[host] = min((vcpus - used[0]) // 4,
                             (memory_mb - used[1]) // 8192)
    fake = {h: n for h, n in row['where'].items() if h in cloud_mod.FLEET}
    assert fake == {h: n for h, n in expected.items() if n}
    assert data['resources']['MEMORY_MB']['used'] >= 8192
    assert 0 < data['resources']['VCPU']['utilisation'] < 1


def test_capacity_prints_a_table(e2e_cloud, one_server):
    out = run_capacity(e2e_cloud)
    assert 'e2e.cap-4c8g' in out
    assert '| Flavor' in out and '| Where' in out
    out = run_capacity(e2e_cloud, '--resources')
    assert 'MEMORY_MB' in out and '| Stranded' in out


def test_openstackclient_runs_the_same_command(e2e_cloud, one_server):
    """``openstack scale-ext capacity``, through OpenStackClient's own
    connection, lists what ``nova-scale-ext capacity`` lists."""
    ours = json.loads(run_capacity(e2e_cloud, '-f', 'json'))
    result = subprocess.run(
        [cloud_mod.VENV / 'bin' / 'openstack', '--os-cloud',
         cloud_mod.CLOUD, 'scale-ext', 'capacity', '-f', 'json'],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(
            e2e_cloud.clouds_yaml)))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ours
    assert any(row['Flavor'] == 'e2e.cap-4c8g' for row in ours)


def test_a_saved_snapshot_gives_the_live_report(e2e_cloud, one_server,
                                                tmp_path):
    path = tmp_path / 'cloud.json'
    run_capacity(e2e_cloud, '-o', str(path), command='snapshot')
    saved = json.loads(path.read_text())
    assert one_server.id in {i['id'] for i in saved['instances']}
    live = json.loads(run_capacity(e2e_cloud, '--json'))
    result = subprocess.run(
        [COMMAND, 'capacity', '--snapshot', str(path), '--json'],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == live
