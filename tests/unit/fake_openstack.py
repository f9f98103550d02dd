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
"""An in-memory cloud behind the few openstacksdk calls the commands make.

:class:`FakeCloud` holds hosts (placement providers with inventories and
usages, PCPU among them when a host has dedicated CPUs, compute services,
hypervisors), flavors, servers (with the scheduler hints they were booted
with), server groups and aggregates; :meth:`FakeCloud.connect` gives a
connection whose ``compute`` and ``placement`` answer like openstacksdk's
proxies, with openstacksdk's own exceptions. Servers are listed at
``microversion`` (default 2.100, which shows their ``scheduler_hints``;
before it they show none, as openstacksdk gives them). A live migration
runs as Nova's does: the scheduler's checks at the request (host enabled
and up, room, hard anti-affinity, different_host and same_host hints),
then the server ``MIGRATING`` while it holds both hosts
for ``polls`` reads of it, then ``ACTIVE`` on the target. The test can
make the cloud refuse or fail a migration, delete a server or disable a
host at any moment (``on_migrate``), or be unreachable.
"""

import itertools
import types
import uuid

import requests
from keystoneauth1 import exceptions as ksa_exceptions
from openstack import exceptions

NO_VALID_HOST = ('No valid host was found. Unable to move instance {id} to '
                 'host {host}. The host does not satisfy the request.')


def http_error(cls, status, text):
    """An openstacksdk HTTP exception as a real response gives it."""
    response = requests.Response()
    response.status_code = status
    return cls(message=f'{cls.__name__}: {status}', response=response,
               details=text)


class FakeCloud:
    def __init__(self, polls=2, release_polls=0):
        self.polls = polls
        #: reads of a completed migration's allocations that still show
        #: the source's (Nova drops them just after marking it completed)
        self.release_polls = release_polls
        self.hosts = {}
        self.flavors = {}
        self.servers = {}
        self.groups = {}
        self.aggregates = {}
        self.migrations = []
        self.refuse = {}            # server id -> message
        self.fail = set()           # server ids whose migration errors
        self.on_migrate = []        # callables(server id, target)
        self.unreachable = False
        self.forbidden = False
        #: the compute API microversion servers are listed at
        self.microversion = '2.100'
        self.live_migrate_calls = []
        self._ids = itertools.count(1)

    # --- building the cloud ----------------------------------------------

    def add_host(self, name, vcpus=16, memory_mb=16384, disk_gb=100,
                 cpu_ratio=1.0, reserved_mb=0, enabled=True, up=True,
                 pcpus=0, reserved_pcpus=0, hypervisor_type='QEMU'):
        inventories = {'VCPU': (vcpus, 0, cpu_ratio),
                       'MEMORY_MB': (memory_mb, reserved_mb, 1.0),
                       'DISK_GB': (disk_gb, 0, 1.0)}
        usages = {'VCPU': 0.0, 'MEMORY_MB': 0.0, 'DISK_GB': 0.0}
        if pcpus:
            inventories['PCPU'] = (pcpus, reserved_pcpus, 1.0)
            usages['PCPU'] = 0.0
        self.hosts[name] = types.SimpleNamespace(
            name=name, uuid=str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
            inventories=inventories, usages=usages, enabled=enabled, up=up,
            hypervisor_type=hypervisor_type)

    def add_flavor(self, name, vcpus, ram, disk=0, extra_specs=None):
        self.flavors[name] = types.SimpleNamespace(
            id=f'flavor-{name}', name=name, original_name=name, vcpus=vcpus,
            ram=ram, disk=disk, ephemeral=0, swap=0,
            extra_specs=dict(extra_specs or {}))

    def add_group(self, policy, max_server_per_host=None):
        gid = f'group-{next(self._ids)}'
        rules = ({'max_server_per_host': max_server_per_host}
                 if max_server_per_host else {})
        self.groups[gid] = types.SimpleNamespace(
            id=gid, policy=policy, policies=None, member_ids=[], rules=rules)
        return gid

    def add_aggregate(self, name, hosts, metadata=None):
        self.aggregates[name] = types.SimpleNamespace(
            name=name, hosts=list(hosts), metadata=dict(metadata or {}))

    def boot(self, name, host, flavor, project='project-a', group=None,
             status='ACTIVE', from_volume=False, hints=None):
        """A server on ``host``; ``hints`` are its scheduler hints
        (``{'different_host': [id, ...]}``, as Nova keeps them)."""
        sid = f'{name}-{next(self._ids):04d}-0000-0000-000000000000'
        self.servers[sid] = types.SimpleNamespace(
            id=sid, name=name, compute_host=host, status=status,
            task_state=None, project_id=project,
            flavor=self.flavors[flavor],
            image=None if from_volume else types.SimpleNamespace(
                id='image-1'),
            claims=[host], pending=None, hints=dict(hints or {}))
        self._claim(sid, host, +1)
        if group:
            self.groups[group].member_ids.append(sid)
        return sid

    def delete(self, sid):
        server = self.servers.pop(sid)
        for host in server.claims:
            self._claim_request(server, host, -1)
        for group in self.groups.values():
            if sid in group.member_ids:
                group.member_ids.remove(sid)

    def disable(self, host):
        self.hosts[host].enabled = False

    # --- what the tests read -----------------------------------------------

    def host_of(self, name):
        return next(s.compute_host for s in self.servers.values()
                    if s.name == name)

    def id_of(self, name):
        return next(s.id for s in self.servers.values() if s.name == name)

    def used(self, host):
        return dict(self.hosts[host].usages)

    # --- Nova and placement's behaviour -----------------------------------

    def _request(self, server):
        f = server.flavor
        disk = (0 if server.image is None else f.disk) + f.ephemeral
        dedicated = f.extra_specs.get('hw:cpu_policy') == 'dedicated'
        return {'PCPU' if dedicated else 'VCPU': f.vcpus,
                'MEMORY_MB': f.ram, 'DISK_GB': disk}

    def _claim_request(self, server, host, sign):
        usages = self.hosts[host].usages
        for rc, amount in self._request(server).items():
            usages[rc] = usages.get(rc, 0.0) + sign * amount

    def _claim(self, sid, host, sign):
        self._claim_request(self.servers[sid], host, sign)

    def _free(self, host, rc):
        h = self.hosts[host]
        if rc not in h.inventories:
            return 0.0
        total, reserved, ratio = h.inventories[rc]
        return (total - reserved) * ratio - h.usages.get(rc, 0.0)

    def _holds(self, host, ids):
        """Whether ``host`` holds any of ``ids`` (Nova counts a migrating
        server on its source until the migration ends)."""
        return any(self.servers[i].compute_host == host
                   for i in ids if i in self.servers)

    def _hints_pass(self, server, target):
        """DifferentHostFilter and SameHostFilter."""
        def ids(key):
            value = server.hints.get(key) or []
            return [value] if isinstance(value, str) else list(value)
        if ids('different_host') and self._holds(target,
                                                 ids('different_host')):
            return False
        return not ids('same_host') or self._holds(target, ids('same_host'))

    def _schedule(self, server, target):
        """Nova's conductor and scheduler on a requested destination."""
        if target not in self.hosts:
            raise http_error(exceptions.BadRequestException, 400,
                             f'Compute host {target} could not be found.')
        if server.status != 'ACTIVE' or server.task_state:
            raise http_error(exceptions.ConflictException, 409,
                             f'Cannot \'os-migrateLive\' instance '
                             f'{server.id} while it is in task_state '
                             f'{server.task_state}')
        host = self.hosts[target]
        fits = all(self._free(target, rc) >= amount
                   for rc, amount in self._request(server).items())
        anti = all(
            not (g.policy == 'anti-affinity' and server.id in g.member_ids
                 and sum(1 for m in g.member_ids if m != server.id and
                         self.servers[m].compute_host == target)
                 >= g.rules.get('max_server_per_host', 1))
            for g in self.groups.values())
        hints = self._hints_pass(server, target)
        if not (host.enabled and host.up and fits and anti and hints) or \
                server.id in self.refuse:
            message = self.refuse.get(server.id) or NO_VALID_HOST.format(
                id=server.id, host=target)
            raise http_error(exceptions.BadRequestException, 400, message)

    def live_migrate(self, sid, target, block_migration):
        self.live_migrate_calls.append((sid, target, block_migration))
        server = self.servers.get(sid)
        if server is None:
            raise http_error(exceptions.NotFoundException, 404,
                             f'Instance {sid} could not be found.')
        self._schedule(server, target)
        migration = types.SimpleNamespace(
            id=str(uuid.uuid4()), server_id=sid, status='running',
            migration_type='live-migration', source=server.compute_host,
            dest=target, left=self.polls, holding=0,
            created_at=f'2026-12-02T00:00:{len(self.migrations):02d}')
        self.migrations.append(migration)
        server.status, server.task_state = 'MIGRATING', 'migrating'
        server.claims.append(target)
        self._claim(sid, target, +1)
        server.pending = migration
        for hook in list(self.on_migrate):
            hook(sid, target)

    def _advance(self, server):
        migration = server.pending
        if migration is None:
            return
        migration.left -= 1
        if migration.left > 0:
            return
        server.pending = None
        server.status, server.task_state = 'ACTIVE', None
        if server.id in self.fail:
            migration.status = 'error'
            drop = migration.dest
        else:
            migration.status = 'completed'
            migration.holding = self.release_polls
            drop = server.compute_host
            server.compute_host = migration.dest
        server.claims.remove(drop)
        self._claim(server.id, drop, -1)


class _Proxy:
    def __init__(self, cloud):
        self.cloud = cloud

    def _reach(self):
        if self.cloud.unreachable:
            raise ksa_exceptions.ConnectFailure(
                'Unable to establish connection to '
                'http://127.0.0.1:5000/v3/auth/tokens')
        if self.cloud.forbidden:
            raise http_error(exceptions.ForbiddenException, 403,
                             'Policy does not allow this request to be '
                             'performed.')


class Placement(_Proxy):
    def resource_providers(self):
        self._reach()
        return [types.SimpleNamespace(id=h.uuid, name=h.name)
                for h in self.cloud.hosts.values()]

    def get_resource_provider(self, uuid_):
        self._reach()
        host = next(h for h in self.cloud.hosts.values() if h.uuid == uuid_)
        return types.SimpleNamespace(id=host.uuid, name=host.name)

    def _host(self, rp):
        return next(h for h in self.cloud.hosts.values() if h.uuid == rp.id)

    def resource_provider_inventories(self, rp):
        self._reach()
        return [types.SimpleNamespace(resource_class=rc, total=total,
                                      reserved=reserved,
                                      allocation_ratio=ratio, max_unit=total)
                for rc, (total, reserved, ratio)
                in self._host(rp).inventories.items()]

    def get(self, url):
        """``/allocations/{consumer}``: a running migration holds the
        source's resources."""
        self._reach()
        consumer = url.rsplit('/', 1)[-1]
        held = {}
        for m in self.cloud.migrations:
            if m.id == consumer and (m.status == 'running' or m.holding):
                held[m.source] = {'resources': {}}
                m.holding = max(m.holding - 1, 0)
        return types.SimpleNamespace(json=lambda: {'allocations': held})

    def fetch_resource_provider_usages(self, rp):
        self._reach()
        return types.SimpleNamespace(usages=dict(self._host(rp).usages))


class Compute(_Proxy):
    def flavors(self, details=True):
        self._reach()
        return list(self.cloud.flavors.values())

    def fetch_flavor_extra_specs(self, flavor):
        return flavor

    def services(self, binary=None, host=None):
        self._reach()
        return [types.SimpleNamespace(
                    host=h.name, binary='nova-compute',
                    status='enabled' if h.enabled else 'disabled',
                    state='up' if h.up else 'down')
                for h in self.cloud.hosts.values()
                if host is None or h.name == host]

    def hypervisors(self, details=True, microversion=None):
        self._reach()
        assert microversion is None or microversion < '2.88', \
            'no uptime: it costs an RPC call to every compute'
        return [types.SimpleNamespace(id=h.uuid, name=h.name,
                                      hypervisor_type=h.hypervisor_type,
                                      service_details={'host': h.name})
                for h in self.cloud.hosts.values()]

    def _shown(self, server):
        """A server as openstacksdk gives it at the cloud's microversion:
        ``scheduler_hints`` from 2.100 on (None before)."""
        version = tuple(int(p) for p in self.cloud.microversion.split('.'))
        return types.SimpleNamespace(
            **vars(server), microversion=self.cloud.microversion,
            scheduler_hints=(dict(server.hints) if version >= (2, 100)
                             else None))

    def servers(self, details=True, all_projects=False):
        self._reach()
        return [self._shown(s) for s in self.cloud.servers.values()]

    def get_server(self, sid):
        self._reach()
        server = self.cloud.servers.get(sid)
        if server is None:
            raise http_error(exceptions.NotFoundException, 404,
                             f'Instance {sid} could not be found.')
        self.cloud._advance(server)
        return self._shown(server)

    def server_groups(self, all_projects=False):
        self._reach()
        return [types.SimpleNamespace(**vars(g))
                for g in self.cloud.groups.values()]

    def aggregates(self):
        self._reach()
        return list(self.cloud.aggregates.values())

    def live_migrate_server(self, server, host=None, force=False,
                            block_migration=None):
        self._reach()
        assert not force, 'the commands never force a live migration'
        self.cloud.live_migrate(server, host, block_migration)

    def migrations(self, instance_uuid=None, migration_type=None):
        self._reach()
        return [m for m in self.cloud.migrations
                if m.server_id == instance_uuid
                and migration_type in (None, m.migration_type)]


class FakeConnection:
    def __init__(self, cloud):
        self.compute = Compute(cloud)
        self.placement = Placement(cloud)
        self.closed = False

    def close(self):
        self.closed = True


def connector(cloud, name='fake'):
    """``connect(cloud_name)`` for the commands."""
    def connect(requested):
        if requested != name:
            raise exceptions.ConfigException(
                f'Cloud {requested} was not found.')
        if cloud.unreachable:
            raise ksa_exceptions.ConnectFailure(
                'Unable to establish connection to '
                'http://127.0.0.1:5000/v3/auth/tokens')
        return FakeConnection(cloud)
    return connect
