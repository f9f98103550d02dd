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
"""``nova-scale-ext defrag plan|apply`` against the end-to-end cloud.

The fake computes (4 vCPU / 8 GiB, 8 / 12, 16 / 32) are fragmented by a
sequence of boots and a delete, each boot on a named host (microversion
2.74), until a 16 GiB server fits nowhere although 24 GiB are free. The
installed command plans, then live-migrates through Nova's API; the tests
run in this file's order, each on the cloud the previous one left:

1. room for the large flavor (it boots afterwards);
2. ``free-hosts`` empties a host;
3. a plan whose target was disabled after planning is refused whole;
4. ``keep --drain`` keeps the room and empties a host;
5. the planner keeps a server's ``different_host`` hint;
6. a move Nova's scheduler refuses (``different_host``, a hint the
   planner does not see) stops ``apply``, the journal saying why.

After each, the server group's anti-affinity holds, placement's usage of
every fake host is what its servers' flavors add up to, every server has
its allocation on its own host and none is in ERROR.
"""

import json
import os
import re
import subprocess

import pytest
from openstack import exceptions

from tests.e2e import cloud as cloud_mod

COMMAND = cloud_mod.VENV / 'bin' / 'nova-scale-ext'
SMALL, MEDIUM, LARGE = 'e2e-small', 'e2e-medium', 'e2e-large'
GIB = 1024
SLOT = ('e2e.df-4g', 1, 4 * GIB)
BIG = ('e2e.df-16g', 4, 16 * GIB)

#: (action, server, host): 6 servers of 4 GiB on the large host with a
#: hole, 2 on the medium one, 1 on the small one; d0 and d5 in the
#: anti-affinity group.
FRAGMENT = (
    ('boot', 'd0', LARGE), ('boot', 'd1', LARGE), ('boot', 'd2', LARGE),
    ('boot', 'd3', LARGE), ('boot', 'd4', LARGE), ('boot', 'x', LARGE),
    ('boot', 'd5', MEDIUM), ('boot', 'd6', LARGE), ('delete', 'x', None),
    ('boot', 'd7', MEDIUM), ('boot', 'd8', SMALL),
)
GROUPED = ('d0', 'd5')


class Scene:
    """The servers of this module and the tools to look at them."""

    def __init__(self, e2e_cloud, conn, workdir):
        self.cloud = e2e_cloud
        self.conn = conn
        self.workdir = workdir
        self.image = conn.image.find_image(cloud_mod.IMAGE)
        self.flavors = {}
        for name, vcpus, ram in (SLOT, BIG):
            self.flavors[name] = conn.compute.create_flavor(
                name=name, vcpus=vcpus, ram=ram, disk=0)
        self.group = conn.compute.create_server_group(
            name='e2e-defrag-anti', policy='anti-affinity')
        self.servers = {}
        #: server name -> every host it has been on
        self.visited = {}
        self.ram = {}
        self.disabled = []

    def boot(self, name, host=None, flavor=SLOT[0], hints=None,
             expect='ACTIVE'):
        hints = dict(hints or {})
        if name in GROUPED:
            hints['group'] = self.group.id
        extra = {'host': host} if host else {}
        if hints:
            extra['scheduler_hints'] = hints
        server = self.conn.compute.create_server(
            name=f'e2e-defrag-{name}', image_id=self.image.id,
            flavor_id=self.flavors[flavor].id, networks='none',
            availability_zone=cloud_mod.FAKE_AZ, **extra)
        self.servers[name] = server
        try:
            server = self.conn.compute.wait_for_server(server, interval=0.5,
                                                       wait=120)
        except exceptions.ResourceFailure:
            server = self.conn.compute.get_server(server.id)
        assert server.status == expect, (name, server.fault)
        self.visited[name] = {server.compute_host}
        self.ram[name] = self.flavors[flavor].ram
        return server

    def delete(self, name):
        server = self.servers.pop(name)
        self.conn.compute.delete_server(server)
        self.conn.compute.wait_for_delete(server, interval=0.5, wait=120)

    def id(self, name):
        return self.servers[name].id

    def name_of(self, sid):
        return next(n for n, s in self.servers.items() if s.id == sid)

    def hosts(self):
        """``{server name: host}`` as Nova says now."""
        now = {s.id: s.compute_host for s in self.conn.compute.servers(
            all_projects=True, name='^e2e-defrag-')}
        return {name: now[s.id] for name, s in self.servers.items()}

    def command(self, *argv):
        """The installed command, with the cloud's clouds.yaml."""
        return subprocess.run(
            [COMMAND, 'defrag', *argv], capture_output=True, text=True,
            timeout=600, cwd=self.workdir,
            env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(
                self.cloud.clouds_yaml)))

    def plan(self, name, *goal):
        path = self.workdir / f'{name}.json'
        result = self.command('plan', '--os-cloud', cloud_mod.CLOUD,
                              '--aggregate', cloud_mod.FAKE_AZ,
                              '--goal', *goal, '--json', str(path))
        assert result.returncode == 0, result.stderr
        return json.loads(path.read_text()), path, result.stdout

    def apply(self, path, *argv):
        journal = path.with_suffix('.jsonl')
        result = self.command('apply', str(path), '--journal', str(journal),
                              '--poll', '0.5s', *argv)
        return result, self.journaled(result, journal)

    def keep(self, name, *argv):
        journal = self.workdir / f'{name}.jsonl'
        result = self.command('keep', '--os-cloud', cloud_mod.CLOUD,
                              '--aggregate', cloud_mod.FAKE_AZ,
                              '--journal', str(journal), '--poll', '0.5s',
                              *argv)
        return result, self.journaled(result, journal)

    def journaled(self, result, journal):
        """The journal's records; every server moved remembers its
        target."""
        print(result.stdout + result.stderr)    # shown when a test fails
        records = ([json.loads(line) for line in
                    journal.read_text().splitlines()]
                   if journal.exists() else [])
        for record in records:
            if record['result'] == 'migrated':
                self.visited[self.name_of(record['instance'])].add(
                    record['target'])
        return records

    def disable(self, host):
        service = next(self.conn.compute.services(binary='nova-compute',
                                                  host=host))
        self.conn.compute.disable_service(service,
                                          disabled_reason='e2e defrag')
        self.disabled.append(service)

    def enable_all(self):
        while self.disabled:
            self.conn.compute.enable_service(self.disabled.pop())

    def cleanup(self):
        self.enable_all()
        for name in list(self.servers):
            self.delete(name)
        self.conn.compute.delete_server_group(self.group)
        for flavor in self.flavors.values():
            self.conn.compute.delete_flavor(flavor)

    # --- what must hold after every step -------------------------------

    def check(self):
        hosts = self.hosts()
        members = self.conn.compute.get_server_group(self.group.id)
        on = [hosts[self.name_of(m)] for m in members.member_ids]
        assert len(on) == len(set(on)) == len(GROUPED), on
        node = {h.id: h.service_details['host']
                for h in self.conn.compute.hypervisors(
                    details=True, microversion='2.87')}
        for name, server in self.servers.items():
            held = self.conn.placement.get(
                f'/allocations/{server.id}').json()['allocations']
            assert {node[rp] for rp in held} == {hosts[name]}, name
        for host in self.cloud.fleet:
            uuid = next(u for u, h in node.items() if h == host)
            rp = self.conn.placement.get_resource_provider(uuid)
            usage = self.conn.placement.fetch_resource_provider_usages(
                rp).usages
            expected = sum(self.ram[n] for n in self.servers
                           if hosts[n] == host)
            assert usage.get('MEMORY_MB', 0) == expected, host
        states = {s.name: s.status for s in
                  self.conn.compute.servers(all_projects=True)}
        assert 'ERROR' not in states.values(), states
        return hosts


@pytest.fixture(scope='module')
def scene(e2e_cloud, tmp_path_factory):
    conn = e2e_cloud.connect()
    try:
        made = Scene(e2e_cloud, conn, tmp_path_factory.mktemp('defrag'))
        try:
            for action, name, host in FRAGMENT:
                if action == 'boot':
                    made.boot(name, host)
                else:
                    made.delete(name)
            yield made
        finally:
            made.cleanup()
    finally:
        conn.close()


def test_fragmentation_leaves_no_room_for_the_large_flavor(scene):
    probe = scene.boot('probe', flavor=BIG[0], expect='ERROR')
    assert 'No valid host' in probe.fault['message']
    scene.delete('probe')
    scene.check()


def test_a_room_plan_moves_few_servers_and_changes_nothing(scene):
    before = scene.hosts()
    data, _, out = scene.plan('room', 'room', f'{BIG[0]}:1')
    plan = data['plan']
    assert plan['reached'] and plan['slots_after'] == {BIG[0]: 1}
    moves = [(scene.name_of(m['instance']), m['source'], m['target'])
             for m in plan['moves']]
    assert len(moves) == 2 and {m[1] for m in moves} == {LARGE}, moves
    assert {m[2] for m in moves} == {SMALL, MEDIUM}, moves
    assert ('d0', LARGE, MEDIUM) not in moves       # d5 is there
    assert 'Nothing changed.' in out and f'room for {BIG[0]}' in out
    assert scene.hosts() == before


def test_apply_makes_room_and_the_large_flavor_then_boots(scene):
    data, path, _ = scene.plan('room', 'room', f'{BIG[0]}:1')
    result, records = scene.apply(path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert [r['result'] for r in records] == ['migrated', 'migrated']
    hosts = scene.check()
    for r in records:
        assert hosts[r['name'].removeprefix('e2e-defrag-')] == r['target']
    assert ': on e2e-' in result.stdout and 'started' in result.stdout
    assert scene.boot('big', flavor=BIG[0]).compute_host == LARGE
    scene.delete('big')
    scene.check()


def test_free_hosts_empties_a_host(scene):
    data, path, _ = scene.plan('free', 'free-hosts')
    freed = data['plan']['hosts_freed']
    assert freed, data['plan']['why']
    result, records = scene.apply(path, '--concurrency', '2')
    assert result.returncode == 0, result.stderr + result.stdout
    assert {r['result'] for r in records} == {'migrated'}
    hosts = scene.check()
    assert not set(freed) & set(hosts.values()), hosts


def test_a_plan_whose_target_was_disabled_is_refused_whole(scene):
    empty = (set(scene.cloud.fleet) - set(scene.hosts().values())).pop()
    scene.boot('y', empty)
    data, path, _ = scene.plan('stale', 'free-hosts')
    (move,) = [m for m in data['plan']['moves']
               if m['instance'] == scene.id('y')]
    before = scene.hosts()
    scene.disable(move['target'])
    try:
        result, records = scene.apply(path)
    finally:
        scene.enable_all()
    assert result.returncode == 1
    assert result.stderr.count('\n') == 1, result.stderr
    assert f'target {move["target"]} is disabled' in result.stderr
    assert 'nothing was moved' in result.stderr
    assert [r['result'] for r in records] == ['stale']
    assert scene.hosts() == before
    scene.delete('y')
    scene.check()


def test_keep_drain_keeps_the_room_and_empties_a_host(scene):
    empty = (set(scene.cloud.fleet) - set(scene.hosts().values())).pop()
    scene.boot('k', empty)
    # room for one more server of k's flavor is there already
    room = f'{SLOT[0]}:1'
    result, records = scene.keep('keep', '--room', room, '--drain')
    assert result.returncode == 0, result.stderr + result.stdout
    assert re.search(rf'room {re.escape(SLOT[0])} \d+ of 1 fit; nothing '
                     'to move', result.stdout), result.stdout
    (line,) = [x for x in result.stdout.splitlines() if 'drain: empt' in x]
    assert empty in line, line
    assert records and {r['result'] for r in records} == {'migrated'}
    hosts = scene.check()
    assert empty not in hosts.values(), hosts
    # the drain kept the room: the next pass has nothing to do
    result, records = scene.keep('again', '--room', room)
    assert result.returncode == 0, result.stderr + result.stdout
    assert 'nothing to move' in result.stdout and not records
    scene.delete('k')
    scene.check()


def test_the_planner_keeps_a_server_s_different_host_hint(scene):
    empty = (set(scene.cloud.fleet) - set(scene.hosts().values())).pop()
    # Nova's DifferentHostFilter keeps h off the hosts of these servers;
    # the planner reads the hint (compute API 2.100) and keeps it too.
    # (Servers that ever were on the empty host are left out: after a live
    # migration nova-scheduler still counts a server on its source until
    # its periodic sync of instance info.)
    others = [s.id for n, s in scene.servers.items()
              if empty not in scene.visited[n]]
    scene.boot('h', empty, hints={'different_host': others})
    data, _, _ = scene.plan('hinted', 'free-hosts')
    # h alone on its host is the cheapest drain, and the next test shows
    # the planner moving such a server; every host in use holds one of
    # ``others``, so with the hint h stays where it is
    assert scene.id('h') not in [m['instance']
                                 for m in data['plan']['moves']], data
    assert not data['plan'].get('warnings'), data['plan']
    scene.delete('h')
    scene.check()


def test_a_move_nova_refuses_stops_apply_and_the_journal_says_so(scene):
    empty = (set(scene.cloud.fleet) - set(scene.hosts().values())).pop()
    # ComputeCapabilitiesFilter keeps a server of this flavor on ``empty``;
    # the planner does not evaluate capabilities extra specs, so it plans
    # to drain that host, and Nova refuses the move.
    name, vcpus, ram = SLOT
    flavor = scene.conn.compute.create_flavor(
        name=f'{name}-on-{empty}', vcpus=vcpus, ram=ram, disk=0)
    scene.conn.compute.create_flavor_extra_specs(
        flavor, {'capabilities:host': f's== {empty}'})
    scene.flavors[flavor.name] = flavor
    scene.boot('h', empty, flavor=flavor.name)
    data, path, _ = scene.plan('refused', 'free-hosts')
    (move,) = [m for m in data['plan']['moves']
               if m['instance'] == scene.id('h')]
    assert move['source'] == empty and move['target'] != empty, move
    result, records = scene.apply(path)
    assert result.returncode == 1
    assert 'stopped at move' in result.stderr
    assert 'every server is on its source or its target' in result.stderr
    failed = [r for r in records if r['result'] == 'failed']
    assert len(failed) == 1 and failed[0]['instance'] == scene.id('h')
    assert 'HTTP 400' in failed[0]['error']
    assert 'No valid host' in failed[0]['error'], failed[0]['error']
    assert failed[0]['now'] == {'host': empty, 'status': 'ACTIVE'}
    assert scene.hosts()['h'] == empty
    scene.check()
