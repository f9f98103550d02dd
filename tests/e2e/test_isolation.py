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
"""Tenant isolation in the real cloud: two Keystone projects, one of them
isolated by nova-scheduler's nova.conf; servers booted through openstacksdk
in each project; ``nova-scale-ext audit`` finds the violation an admin
makes on purpose (a server forced onto a host, which skips every filter)
and reports clean once it is gone; on the libvirt compute, it finds the
guests of two projects sharing the host without ``<nosharepages/>``, and
none once the host is marked multi-tenant and the guests hard rebooted."""

import configparser
import json
import os
import subprocess
import sys
import time

import pytest

from tests.e2e import cloud as cloud_mod
from tests.e2e.settings import (
    CLOUD,
    FAKE_AZ,
    LIBVIRT_AZ,
    LIBVIRT_HOST,
    with_option,
)
from tests.e2e.test_extra_specs import set_extra_specs
from tests.e2e.test_libvirt import live_domain
from tests.e2e.test_packing import SETTLE_S, flavor_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _project_conn(e2e_cloud, admin, name):
    """A project ``name`` in which the admin user is an admin, and a
    connection scoped to it."""
    import openstack
    from openstack import config as os_config

    identity = admin.identity
    project = identity.find_project(name, domain_id='default') or \
        identity.create_project(name=name, domain_id='default')
    user = identity.find_user('admin', domain_id='default')
    role = identity.find_role('admin')
    identity.assign_project_role_to_user(project, user, role)
    config = os_config.OpenStackConfig(
        config_files=[str(e2e_cloud.clouds_yaml)])
    region = config.get_one(cloud=CLOUD, project_name=name,
                            project_id=project.id)
    return project, openstack.connection.Connection(config=region)


def _boot(conn, name, host=None, zone=FAKE_AZ, flavor=None):
    image = conn.image.find_image(cloud_mod.IMAGE)
    flavor = flavor or flavor_for(conn, 1, 512)
    server = conn.compute.create_server(
        name=name, image_id=image.id, flavor_id=flavor.id, networks='none',
        availability_zone=f'{zone}:{host}' if host else zone)
    server = conn.compute.wait_for_server(server, interval=0.5, wait=300)
    time.sleep(SETTLE_S)        # the compute reports the new instance
    return server


def _audit(e2e_cloud, conf, *argv):
    res = subprocess.run(
        [sys.executable, '-m', 'nova_scale_ext.cmd.main', 'audit',
         '--os-cloud', CLOUD, '--config-file', str(conf), '--json', *argv],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(e2e_cloud.clouds_yaml)))
    assert 'Traceback' not in res.stderr, res.stderr
    return res.returncode, json.loads(res.stdout) if res.stdout else None


@pytest.fixture(scope='module')
def scene(e2e_cloud):
    admin = e2e_cloud.connect()
    bank, bank_conn = _project_conn(e2e_cloud, admin, 'e2e-bank')
    shop, shop_conn = _project_conn(e2e_cloud, admin, 'e2e-shop')
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(e2e_cloud.nova_conf.read_text())
    enabled = parser.get('filter_scheduler', 'enabled_filters')
    text = with_option(e2e_cloud.nova_conf.read_text(), 'filter_scheduler',
                       'enabled_filters',
                       enabled + ',ScaleExtTenantIsolationFilter')
    text = with_option(text, 'scale_ext_isolation', 'isolated_projects',
                       bank.id)
    conf = e2e_cloud.nova_conf.with_name('nova-isolation.conf')
    conf.write_text(text)
    e2e_cloud.restart_scheduler(conf)
    servers = []
    try:
        yield {'bank': bank_conn, 'shop': shop_conn, 'conf': conf,
               'servers': servers, 'bank_id': bank.id}
    finally:
        for conn, server in servers:
            conn.compute.delete_server(server, ignore_missing=True)
        for conn, server in servers:
            conn.compute.wait_for_delete(server, interval=0.5, wait=120)
        e2e_cloud.restart_scheduler(e2e_cloud.nova_conf)
        for conn in (bank_conn, shop_conn, admin):
            conn.close()


def test_an_isolated_project_never_shares_a_host(e2e_cloud, scene):
    shop, bank = scene['shop'], scene['bank']
    first = _boot(shop, 'iso-shop-1')
    scene['servers'].append((shop, first))
    own = _boot(bank, 'iso-bank-1')
    scene['servers'].append((bank, own))
    assert own.compute_host != first.compute_host
    again = _boot(bank, 'iso-bank-2')
    scene['servers'].append((bank, again))
    assert again.compute_host == own.compute_host       # packed, its own
    second = _boot(shop, 'iso-shop-2')
    scene['servers'].append((shop, second))
    assert second.compute_host != own.compute_host
    code, data = _audit(e2e_cloud, scene['conf'])
    assert code == 0, data
    assert data['summary'].startswith('CLEAN')
    assert list(data['groups'][scene['bank_id']]['hosts']) == [
        own.compute_host]

    # an admin forces a shop server onto the bank's host: no filter runs
    forced = _boot(shop, 'iso-forced', host=own.compute_host)
    assert forced.compute_host == own.compute_host
    code, data = _audit(e2e_cloud, scene['conf'])
    assert code == 3
    (violation,) = data['violations']
    assert violation['host'] == own.compute_host
    assert forced.id in {i['id'] for i in violation['instances']}
    # fixed: the forced server is gone, the audit is clean again
    shop.compute.delete_server(forced)
    shop.compute.wait_for_delete(forced, interval=0.5, wait=120)
    time.sleep(SETTLE_S)
    code, data = _audit(e2e_cloud, scene['conf'])
    assert code == 0, data


def _hardened(server):
    dom = live_domain(server.instance_name)
    return dom.find('./memoryBacking/nosharepages') is not None


def test_the_audit_finds_guests_without_hardening(libvirt_cloud, scene):
    admin = libvirt_cloud.connect()         # the admin project: a tenant too
    # The libvirt compute has one shared CPU and one dedicated: a guest on
    # each (neither flavor asks for huge pages, whose guests the shim
    # keeps out of KSM merging anyway).
    shared = flavor_for(admin, 1, 256)
    pinned = admin.compute.create_flavor(name='e2e.iso-pinned', vcpus=1,
                                         ram=256, disk=0)
    set_extra_specs(admin, pinned, {'hw:cpu_policy': 'dedicated'})
    guests = []
    try:
        for conn, name, flavor in ((scene['shop'], 'iso-lv-shop', shared),
                                   (admin, 'iso-lv-admin', pinned)):
            guests.append((conn, _boot(conn, name, zone=LIBVIRT_AZ,
                                       flavor=flavor)))
        assert {s.compute_host for _, s in guests} == {LIBVIRT_HOST}
        assert not any(_hardened(s) for _, s in guests)
        code, data = _audit(libvirt_cloud, scene['conf'],
                            '--libvirt-uri', 'qemu:///system')
        assert code == 3, data
        assert not data['violations']
        found = {g['id']: g for g in data['hardening']['unhardened']}
        assert set(found) == {s.id for _, s in guests}
        assert {g['why'] for g in found.values()} == {
            'on a host shared by 2 projects'}
        assert data['summary'].startswith('UNHARDENED: 2 guest(s)')
        # the bank's guests are on fake computes: said, not guessed
        unchecked = {g['reason'] for g in data['hardening']['unchecked']}
        assert unchecked == {'hypervisor type fake: not a libvirt host'}

        # the remedy the docs give: mark the host multi-tenant, hard reboot
        extra = scene['conf'].with_name('libvirt-multi-tenant.conf')
        extra.write_text('[scale_ext_libvirt]\nmulti_tenant_host = True\n')
        libvirt_cloud.restart_libvirt_compute(extra)
        try:
            for conn, server in guests:
                conn.compute.reboot_server(server, 'HARD')
            for conn, server in guests:
                # HARD_REBOOT until the compute is done with it
                server = conn.compute.get_server(server)
                assert server.status in ('HARD_REBOOT', 'ACTIVE')
                conn.compute.wait_for_server(server, interval=0.5, wait=300)
            assert all(_hardened(s) for _, s in guests)
            code, data = _audit(libvirt_cloud, scene['conf'],
                                '--libvirt-uri', 'qemu:///system')
            assert code == 0, data
            assert data['hardening']['hardened'] == 2
            assert not data['hardening']['unhardened']
        finally:
            libvirt_cloud.restart_libvirt_compute()
    finally:
        for conn, server in guests:
            conn.compute.delete_server(server, ignore_missing=True)
        for conn, server in guests:
            conn.compute.wait_for_delete(server, interval=0.5, wait=120)
        admin.compute.delete_flavor(pinned)
        admin.close()
