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
"""A live cloud as the operator commands see it, read through openstacksdk.

:func:`fetch` reads placement's resource providers (inventories with
reserved amounts and allocation ratios, usages) and Nova's flavors, and
with ``topology=True`` also the compute services, hypervisors, servers of
all projects (flavor embedded, microversion 2.47 and later), server groups
and aggregates. ``capacity`` reports from the providers and flavors;
:func:`snapshot` turns the whole of it into the planner's
:class:`~nova_scale_ext.defrag.Snapshot`. :class:`LiveMigrations` is the
applier's view of the same connection (:mod:`nova_scale_ext.defrag.apply`).

Hosts are compute services; a provider belongs to the host whose
hypervisor has the provider's UUID. Every call needs admin credentials.

A server's scheduler hints (``different_host``, ``same_host``) are in the
server listing from compute API microversion 2.100 on (``scheduler_hints``,
which openstacksdk negotiates). On an older cloud they cannot be read: the
snapshot then carries :data:`HINTS_WARNING`, which every plan repeats.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from nova_scale_ext import model
from nova_scale_ext.conf import filters as filter_opts
from nova_scale_ext.core import resources
from nova_scale_ext.defrag import apply as apply_mod

#: Aggregate metadata keys of ScaleExtHeadroomFilter, in resource order.
HEADROOM_KEYS = tuple(opt.name for opt in filter_opts.OPTS)
PACKED = tuple(r.name for r in resources.RESOURCES)
HYPERVISOR_MICROVERSION = '2.87'
#: The first compute API microversion that shows a server's hints.
HINTS_MICROVERSION = (2, 100)
HINTS_WARNING = ('scheduler hints not visible before compute API 2.100: '
                 'different_host/same_host not checked')


@dataclasses.dataclass
class Inventory:
    total: float
    reserved: float = 0.0
    allocation_ratio: float = 1.0
    max_unit: float = math.inf

    @property
    def capacity(self) -> float:
        return float(resources.effective_capacity(
            self.total, self.allocation_ratio, self.reserved))


@dataclasses.dataclass
class Provider:
    name: str
    inventories: dict          # resource class -> Inventory
    usages: dict               # resource class -> used amount
    uuid: str = ''

    def free(self, rc: str) -> float:
        inv = self.inventories.get(rc)
        if inv is None:
            return 0.0
        return max(inv.capacity - self.usages.get(rc, 0.0), 0.0)


def flavor_request(vcpus, ram, disk, ephemeral=0, swap=0, extra_specs=None):
    """The resources Nova asks placement for, for one flavor."""
    specs = extra_specs or {}
    cpu_rc = ('PCPU' if specs.get('hw:cpu_policy') == 'dedicated'
              else 'VCPU')
    request = {cpu_rc: vcpus, 'MEMORY_MB': ram,
               'DISK_GB': disk + ephemeral + math.ceil((swap or 0) / 1024)}
    for key, value in specs.items():
        if key.startswith('resources:'):
            try:
                request[key.split(':', 1)[1]] = int(value)
            except ValueError:
                continue
    return {rc: amount for rc, amount in request.items() if amount > 0}


@dataclasses.dataclass(frozen=True)
class Flavor:
    """A flavor as Nova shows it (also as embedded in a server)."""

    name: str
    vcpus: int
    ram: int
    disk: int = 0
    ephemeral: int = 0
    swap: int = 0
    extra_specs: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def request(self, local_root: bool = True) -> dict[str, float]:
        """What it asks placement for (no root disk when the server boots
        from a volume)."""
        return flavor_request(self.vcpus, self.ram,
                              self.disk if local_root else 0,
                              self.ephemeral, self.swap, self.extra_specs)

    @classmethod
    def from_sdk(cls, flavor: Any, extra_specs: Any = None) -> Flavor:
        specs = extra_specs if extra_specs is not None else (
            getattr(flavor, 'extra_specs', None) or {})
        return cls(getattr(flavor, 'original_name', None) or flavor.name,
                   int(flavor.vcpus or 0), int(flavor.ram or 0),
                   int(flavor.disk or 0), int(flavor.ephemeral or 0),
                   _swap_mb(flavor.swap), dict(specs))


def _swap_mb(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):      # old APIs say "" for no swap
        return 0


@dataclasses.dataclass(frozen=True)
class Server:
    id: str
    name: str
    host: str
    status: str
    project: str
    flavor: Flavor
    local_root: bool = True
    task_state: str | None = None
    #: as Nova shows them (None: not visible, compute API before 2.100)
    scheduler_hints: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class Service:
    host: str
    enabled: bool
    up: bool


@dataclasses.dataclass(frozen=True)
class ServerGroup:
    id: str
    policy: str
    members: tuple[str, ...]
    max_server_per_host: int = 1


@dataclasses.dataclass(frozen=True)
class Aggregate:
    name: str
    hosts: tuple[str, ...]
    metadata: Mapping[str, str]


@dataclasses.dataclass
class Cloud:
    """Everything the commands read, at one moment."""

    providers: list[Provider]
    flavors: dict[str, Flavor]
    #: provider (compute node) UUID -> service host
    node_host: dict[str, str] = dataclasses.field(default_factory=dict)
    #: service host -> its hypervisor type (``QEMU`` for libvirt's)
    hypervisor_types: dict[str, str] = dataclasses.field(
        default_factory=dict)
    services: dict[str, Service] = dataclasses.field(default_factory=dict)
    servers: list[Server] = dataclasses.field(default_factory=list)
    server_groups: list[ServerGroup] = dataclasses.field(
        default_factory=list)
    aggregates: list[Aggregate] = dataclasses.field(default_factory=list)
    source: str = ''
    #: what could not be read (said once, repeated by every plan)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def host_providers(self) -> dict[str, Provider]:
        """Service host -> its provider (hosts with one node only)."""
        by_host: dict[str, list[Provider]] = {}
        for p in self.providers:
            host = self.node_host.get(p.uuid)
            if host is not None:
                by_host.setdefault(host, []).append(p)
        return {h: ps[0] for h, ps in by_host.items() if len(ps) == 1}

    def names(self) -> dict[str, str]:
        return {s.id: s.name for s in self.servers}


def fetch(conn: Any, topology: bool = False, source: str = '') -> Cloud:
    """Read the cloud (see the module docstring)."""
    providers = []
    for rp in conn.placement.resource_providers():
        provider = _provider(conn, rp)
        if provider is not None:
            providers.append(provider)
    flavors = {}
    for flavor in conn.compute.flavors(details=True):
        specs = flavor.extra_specs
        if specs is None:
            specs = conn.compute.fetch_flavor_extra_specs(flavor).extra_specs
        flavors[flavor.name] = Flavor.from_sdk(flavor, specs or {})
    cloud = Cloud(providers, flavors, source=source)
    if topology:
        _read_topology(conn, cloud)
    return cloud


def _provider(conn: Any, rp: Any) -> Provider | None:
    inventories = {
        inv.resource_class: Inventory(
            total=float(inv.total), reserved=float(inv.reserved or 0),
            allocation_ratio=float(inv.allocation_ratio or 1.0),
            max_unit=float(inv.max_unit or math.inf))
        for inv in conn.placement.resource_provider_inventories(rp)}
    if not inventories:
        return None
    usages = conn.placement.fetch_resource_provider_usages(rp).usages
    return Provider(rp.name, inventories,
                    {k: float(v) for k, v in (usages or {}).items()},
                    rp.id)


def _read_topology(conn: Any, cloud: Cloud) -> None:
    compute = conn.compute
    for svc in compute.services(binary='nova-compute'):
        cloud.services[svc.host] = Service(
            svc.host, svc.status == 'enabled', svc.state == 'up')
    # 2.88 adds every host's uptime to the details: one RPC call to each
    # compute per listing. 2.87 has what is needed (compute node UUIDs,
    # service hosts) without it.
    for hyp in compute.hypervisors(details=True,
                                   microversion=HYPERVISOR_MICROVERSION):
        host = (hyp.service_details or {}).get('host')
        if host:
            cloud.node_host[hyp.id] = host
            cloud.hypervisor_types[host] = str(
                getattr(hyp, 'hypervisor_type', None) or '')
    for srv in compute.servers(details=True, all_projects=True):
        if not srv.compute_host:
            continue            # never scheduled, or shelved: holds nothing
        hints = _hints_of(srv)
        if hints is None and HINTS_WARNING not in cloud.warnings:
            cloud.warnings.append(HINTS_WARNING)
        cloud.servers.append(Server(
            srv.id, srv.name or '', srv.compute_host, srv.status or '',
            srv.project_id or '', Flavor.from_sdk(srv.flavor),
            _image_id(getattr(srv, 'image', None)) is not None,
            getattr(srv, 'task_state', None), hints))
    for group in compute.server_groups(all_projects=True):
        policy = group.policy or (group.policies or ['anti-affinity'])[0]
        rules = group.rules or {}
        cloud.server_groups.append(ServerGroup(
            group.id, policy, tuple(group.member_ids or ()),
            int(rules.get('max_server_per_host', 1) or 1)))
    for agg in compute.aggregates():
        metadata = {str(k): str(v) for k, v in (agg.metadata or {}).items()}
        cloud.aggregates.append(Aggregate(agg.name, tuple(agg.hosts or ()),
                                          metadata))


def _microversion(text: Any) -> tuple[int, int] | None:
    try:
        major, minor = str(text).split('.')
        return int(major), int(minor)
    except ValueError:
        return None


def _hints_of(srv: Any) -> dict[str, Any] | None:
    """A listed server's scheduler hints; None when the listing's
    microversion (openstacksdk's ``microversion`` of the resource) is
    before 2.100, which does not show them."""
    version = _microversion(getattr(srv, 'microversion', None))
    hints = getattr(srv, 'scheduler_hints', None)
    if version is not None:
        if version < HINTS_MICROVERSION:
            return None
        return dict(hints or {})
    return dict(hints) if isinstance(hints, Mapping) else None


def _hint_ids(server: Server, key: str) -> tuple[str, ...]:
    """The instance ids of one hint (a string or a list), the server's
    own left out."""
    value = (server.scheduler_hints or {}).get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    out: list[str] = []
    for item in value if isinstance(value, (list, tuple)) else ():
        text = str(item).strip()
        if text and text != server.id and text not in out:
            out.append(text)
    return tuple(out)


def _image_id(image: Any) -> str | None:
    """The image a server booted from (None: from a volume)."""
    if isinstance(image, Mapping):
        value = image.get('id')
    elif isinstance(image, str):
        value = image
    else:
        value = getattr(image, 'id', None)
    return value or None


# --- the planner's snapshot ------------------------------------------------


def _headroom(metadata: list[Mapping[str, str]],
              defaults: tuple[float, float, float]) -> dict[str, float]:
    """ScaleExtHeadroomFilter's shares for a host: the smallest valid
    value its aggregates set, else ``defaults``."""
    out = {}
    for rc, key, default in zip(PACKED, HEADROOM_KEYS, defaults):
        values = []
        for meta in metadata:
            try:
                value = float(meta[key])
            except (KeyError, ValueError):
                continue
            if math.isfinite(value) and 0.0 <= value <= model.MAX_HEADROOM:
                values.append(value)
        share = min(values) if values else default
        if share > 0:
            out[rc] = share
    return out


def snapshot(cloud: Cloud,
             headroom: tuple[float, float, float] = (0.0, 0.0, 0.0)
             ) -> model.Snapshot:
    """The planner's view of ``cloud`` (read with ``topology=True``).

    A host is enabled when its compute service is enabled and up. Usage is
    placement's (at least what the listed servers hold); PCPU is there
    when a host has a PCPU inventory (dedicated CPUs) or usage. A server's
    resources are its flavor's request; ``PCPU`` makes it pinned,
    ``hw:mem_page_size`` gives it huge pages, PCI aliases and other
    resource classes mark PCI devices, a root disk not on a volume is a
    local disk; its ``different_host`` and ``same_host`` hints come with
    it. ``headroom`` is ``[scale_ext_filters]`` of nova.conf (VCPU,
    MEMORY_MB, DISK_GB shares), which the API does not show; aggregate
    metadata overrides it as in the filter.
    """
    providers = cloud.host_providers()
    aggregates = {a.name: a for a in cloud.aggregates}
    in_aggs: dict[str, list[str]] = {}
    for agg in sorted(cloud.aggregates, key=lambda a: a.name):
        for host in agg.hosts:
            in_aggs.setdefault(host, []).append(agg.name)
    hosts = []
    held: dict[str, dict[str, float]] = {}
    for server in cloud.servers:
        if server.host in providers:
            req = _packed(server.flavor.request(server.local_root))
            acc = held.setdefault(server.host, {})
            for rc, amount in req.items():
                acc[rc] = acc.get(rc, 0.0) + amount
    for host in sorted(providers):
        provider = providers[host]
        service = cloud.services.get(host)
        own = held.get(host, {})
        aggs = in_aggs.get(host, [])
        kinds = PACKED + tuple(sorted(
            rc for rc in set(provider.inventories) | set(provider.usages)
            | set(own) if rc not in PACKED))
        hosts.append(model.Host(
            host,
            {rc: provider.inventories[rc].capacity if rc in
             provider.inventories else 0.0 for rc in kinds},
            {rc: max(provider.usages.get(rc, 0.0), own.get(rc, 0.0))
             for rc in kinds},
            aggregates=tuple(aggs),
            enabled=bool(service and service.enabled and service.up),
            headroom=_headroom([aggregates[a].metadata for a in aggs],
                               headroom),
            max_unit={rc: inv.max_unit
                      for rc, inv in provider.inventories.items()
                      if math.isfinite(inv.max_unit)}))
    member_of: dict[str, str] = {}
    for group in cloud.server_groups:
        for member in group.members:
            member_of.setdefault(member, group.id)
    instances = []
    present = set()
    for server in cloud.servers:
        if server.host not in providers:
            continue
        flavor = server.flavor
        request = flavor.request(server.local_root)
        specs = flavor.extra_specs
        page = str(specs.get('hw:mem_page_size', 'small')).lower()
        instances.append(model.Instance(
            server.id, server.host, _packed(request), server.project,
            flavor.name, _state(server), member_of.get(server.id),
            pinned='PCPU' in request,
            hugepages=page not in ('', 'small', 'any'),
            pci=bool('pci_passthrough:alias' in specs
                     or set(request) - set(model.RESOURCE_NAMES)),
            local_disk=server.local_root,
            different_host=_hint_ids(server, 'different_host'),
            same_host=_hint_ids(server, 'same_host')))
        present.add(server.id)
    groups = []
    for group in sorted(cloud.server_groups, key=lambda g: g.id):
        own = tuple(m for m in group.members
                    if member_of.get(m) == group.id)
        if group.policy in model.POLICIES:
            groups.append(model.ServerGroup(
                group.id, group.policy, own,
                max(group.max_server_per_host, 1)))
    known = {g.id for g in groups}
    instances = [i if i.server_group in known or i.server_group is None
                 else dataclasses.replace(i, server_group=None)
                 for i in instances]
    used_aggs = {a for h in hosts for a in h.aggregates}
    flavors = []
    for name, flavor in sorted(cloud.flavors.items()):
        asked = flavor.request()
        req = _packed(asked)
        pcpus = req.get('PCPU', 0.0)
        if req['VCPU'] or pcpus or req['MEMORY_MB']:
            flavors.append(model.Flavor(
                name, req['VCPU'], req['MEMORY_MB'], req['DISK_GB'], pcpus,
                other={rc: float(a) for rc, a in asked.items()
                       if rc not in model.RESOURCE_NAMES}))
    return model.Snapshot(
        tuple(hosts), tuple(instances), tuple(groups),
        tuple(model.Aggregate(a.name, dict(a.metadata))
              for a in sorted(cloud.aggregates, key=lambda a: a.name)
              if a.name in used_aggs),
        tuple(flavors), cloud.source, tuple(cloud.warnings))


def _state(server: Server) -> str:
    """``ACTIVE``, or ``ACTIVE/image_snapshot`` while a task runs (the
    planner moves ACTIVE servers only)."""
    if server.task_state:
        return f'{server.status}/{server.task_state}'
    return server.status


def _packed(request: Mapping[str, float]) -> dict[str, float]:
    """A request's resources in the model: VCPU, MEMORY_MB and DISK_GB,
    then every other class it asks for (PCPU for dedicated CPUs)."""
    out = {rc: float(request.get(rc, 0.0)) for rc in PACKED}
    out.update((rc, float(a)) for rc, a in request.items()
               if rc not in PACKED and a > 0)
    return out


# --- the applier's view ------------------------------------------------------


class LiveMigrations:
    """:class:`~nova_scale_ext.defrag.apply.Cloud` on an openstacksdk
    connection: Nova's live migration, without force, so that the
    scheduler checks every move."""

    def __init__(self, conn: Any, cloud: Cloud) -> None:
        self.conn = conn
        self.providers = {host: p.uuid for host, p in
                          cloud.host_providers().items()}
        self._known: dict[str, set[str]] = {}

    def server(self, instance: str) -> apply_mod.ServerNow | None:
        from openstack import exceptions
        try:
            srv = self.conn.compute.get_server(instance)
        except exceptions.NotFoundException:
            return None
        if (srv.status or '').upper() in ('DELETED', 'SOFT_DELETED'):
            return None
        return apply_mod.ServerNow(srv.id, srv.status or '',
                                   srv.compute_host or '',
                                   getattr(srv, 'task_state', None))

    def host(self, name: str) -> apply_mod.HostNow | None:
        services = list(self.conn.compute.services(binary='nova-compute',
                                                   host=name))
        services = [s for s in services if s.host == name]
        uuid = self.providers.get(name)
        if not services or uuid is None:
            return None
        rp = self.conn.placement.get_resource_provider(uuid)
        provider = _provider(self.conn, rp)
        free = ({} if provider is None else
                {rc: provider.free(rc) for rc in provider.inventories})
        svc = services[0]
        return apply_mod.HostNow(name, svc.status == 'enabled',
                                 svc.state == 'up', free)

    def _migrations(self, instance: str) -> list[Any]:
        return list(self.conn.compute.migrations(
            instance_uuid=instance, migration_type='live-migration'))

    def live_migrate(self, instance: str, target: str) -> None:
        from keystoneauth1 import exceptions as ksa_exceptions
        from openstack import exceptions
        self._known[instance] = {m.id for m in self._migrations(instance)}
        try:
            self.conn.compute.live_migrate_server(
                instance, host=target, block_migration='auto')
        except exceptions.HttpException as exc:
            raise apply_mod.Refused(_http_message(exc)) from None
        except (exceptions.SDKException,
                ksa_exceptions.ClientException) as exc:
            raise apply_mod.Refused(str(exc)) from None

    def migration(self, instance: str) -> apply_mod.MigrationNow | None:
        known = self._known.get(instance, set())
        new = [m for m in self._migrations(instance) if m.id not in known]
        if not new:
            return None
        latest = max(new, key=lambda m: (str(m.created_at or ''),
                                         str(m.id)))
        status = latest.status or ''
        return apply_mod.MigrationNow(
            str(latest.id), status,
            status != 'completed' or self._released(str(latest.id)))

    def _released(self, consumer: str) -> bool:
        """Placement holds nothing for ``consumer`` (a migration holds
        the source's allocation until Nova drops it)."""
        response = self.conn.placement.get(f'/allocations/{consumer}')
        return not (response.json() or {}).get('allocations')


def _http_message(exc: Any) -> str:
    """Nova's own words for a refusal (``badRequest.message``)."""
    details = getattr(exc, 'details', None) or ''
    status = getattr(exc, 'status_code', None)
    text = str(details or exc).strip()
    return f'HTTP {status}: {text}' if status else text
