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
"""The security audit of co-residency (``nova-scale-ext audit``).

Over a :class:`~nova_scale_ext.model.Snapshot` of a cloud and a tenant
isolation policy (:mod:`nova_scale_ext.core.isolation`):

* **violations**: hosts where an isolated group's instance shares the host
  with an instance of anyone else (each host with its instances, their
  projects and groups; how each got there when migration records say);
* each isolated group's hosts and how full they are;
* hosts shared by several projects (the multi-tenant hosts, where guest
  hardening matters);
* guests that should be hardened against cross-guest side channels (every
  guest of an isolated group, every guest on a host shared by several
  projects) and are not: their libvirt domain has no
  ``<memoryBacking><nosharepages/>`` (what the driver shim adds for
  ``[scale_ext_libvirt] multi_tenant_host`` and isolated projects).

Nothing here talks to a cloud or to libvirt: the command fetches, this
judges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lxml import etree

from nova_scale_ext import model
from nova_scale_ext.core import isolation

#: exit status of ``nova-scale-ext audit`` when it finds a violation
EXIT_VIOLATIONS = 3

_SHOWN = ('VCPU', 'MEMORY_MB')

#: hypervisor types Nova's libvirt driver reports (``QEMU`` for both
#: ``virt_type = kvm`` and ``qemu``)
LIBVIRT_TYPES = frozenset({'QEMU', 'KVM'})

#: what a hardened guest's domain XML has
HARDENING = 'memoryBacking/nosharepages'


def _fill(snapshot: model.Snapshot, host: model.Host) -> dict[str, float]:
    used = snapshot.used_of(host)
    return {rc: round(used.get(rc, 0.0) / host.capacity[rc], 4)
            for rc in _SHOWN if host.capacity.get(rc)}


def _on_host(snapshot: model.Snapshot) -> dict[str, list[model.Instance]]:
    on_host: dict[str, list[model.Instance]] = {}
    for inst in snapshot.instances:
        if inst.host:
            on_host.setdefault(inst.host, []).append(inst)
    return on_host


def to_harden(snapshot: model.Snapshot, policy: isolation.Policy
              ) -> dict[str, list[tuple[model.Instance, str]]]:
    """The guests that should be hardened, by host, each with why: every
    guest on a host shared by several projects, and every guest of an
    isolated group."""
    out: dict[str, list[tuple[model.Instance, str]]] = {}
    for name, insts in sorted(_on_host(snapshot).items()):
        projects = {i.project for i in insts}
        for inst in sorted(insts, key=lambda i: i.id):
            group = policy.group_of(inst.project or None)
            if len(projects) > 1:
                why = f'on a host shared by {len(projects)} projects'
            elif group != isolation.SHARED:
                why = f'of isolated group {group}'
            else:
                continue
            out.setdefault(name, []).append((inst, why))
    return out


def hardened_xml(xml: str | bytes) -> bool:
    """Whether a libvirt domain XML keeps the guest's memory out of KSM
    merging (``<memoryBacking><nosharepages/>``). Raises ValueError for
    text that is not XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True,
                             huge_tree=False)
    try:
        dom = etree.fromstring(
            xml.encode() if isinstance(xml, str) else xml, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f'domain XML cannot be read: {exc}') from None
    return dom.find(f'./{HARDENING}') is not None


def _hardening(snapshot: model.Snapshot, policy: isolation.Policy,
               guests: Mapping[str, bool | str] | None) -> dict:
    """The hardening part of the report. ``guests``: for an instance id,
    True (hardened), False (not) or why it could not be checked; None: no
    guest was checked."""
    data: dict = {'checked': guests is not None, 'hardened': 0,
                  'unhardened': [], 'unchecked': []}
    if guests is None:
        return data
    for host, wanted in to_harden(snapshot, policy).items():
        for inst, why in wanted:
            state = guests.get(inst.id, 'not read')
            entry = {'host': host, 'id': inst.id, 'project': inst.project,
                     'why': why}
            if state is True:
                data['hardened'] += 1
            elif state is False:
                data['unhardened'].append(entry)
            else:
                data['unchecked'].append(dict(entry, reason=str(state)))
    return data


def report(snapshot: model.Snapshot, policy: isolation.Policy,
           arrivals: Mapping[str, str] | None = None,
           guests: Mapping[str, bool | str] | None = None) -> dict:
    """The audit as a dict (what ``--json`` prints). ``arrivals``: for an
    instance id, how it came to its host (from migration records).
    ``guests``: for an instance id, whether its guest is hardened (True,
    False) or why that could not be read; None when guests were not
    read."""
    arrivals = arrivals or {}
    on_host = _on_host(snapshot)
    hosts = snapshot.host_by_name
    violations, groups, shared = [], {}, []
    for name in sorted(on_host):
        insts = sorted(on_host[name], key=lambda i: i.id)
        owner = policy.owner(i.project or None for i in insts)
        host = hosts.get(name)
        fill = _fill(snapshot, host) if host is not None else {}
        projects = sorted({i.project for i in insts})
        if owner == isolation.MIXED:
            violations.append({
                'host': name, 'projects': projects,
                'groups': sorted({policy.group_of(i.project or None)
                                  for i in insts}),
                'instances': [{
                    'id': i.id, 'project': i.project,
                    'group': policy.group_of(i.project or None),
                    'arrived': arrivals.get(i.id, 'no migration record: '
                                            'booted there')}
                    for i in insts]})
        elif owner not in (isolation.SHARED, isolation.EMPTY):
            entry = groups.setdefault(owner, {'hosts': {}, 'instances': 0})
            entry['hosts'][name] = fill
            entry['instances'] += len(insts)
        if len(projects) > 1:
            shared.append({'host': name, 'projects': len(projects)})
    for name in policy.names():
        groups.setdefault(name, {'hosts': {}, 'instances': 0})
    # violations count for the groups too: their hosts, all of them
    for v in violations:
        for group in v['groups']:
            if group in groups:
                groups[group]['hosts'].setdefault(
                    v['host'], _fill(snapshot, hosts[v['host']])
                    if v['host'] in hosts else {})
    isolated = sum(1 for i in snapshot.instances
                   if policy.group_of(i.project or None) != isolation.SHARED)
    hardening = _hardening(snapshot, policy, guests)
    return {
        'policy': {'groups': {n: sorted(p for p, g in policy.groups.items()
                                        if g == n) for n in policy.names()}},
        'violations': violations,
        'groups': {n: groups[n] for n in sorted(groups)},
        'multi_tenant_hosts': shared,
        'hardening': hardening,
        'summary': summary(len(violations), len(groups), isolated,
                           len(shared), policy.active, hardening),
        'clean': not violations and not hardening['unhardened'],
    }


def summary(violations: int, groups: int, isolated: int, shared: int,
            active: bool, hardening: Mapping | None = None) -> str:
    """The one line a monitoring check shows."""
    hardening = hardening or {'checked': False}
    unhardened = len(hardening.get('unhardened', ()))
    if violations:
        state = (f'VIOLATION: {violations} host(s) where an isolated group '
                 'shares a host with others')
    elif unhardened:
        state = (f'UNHARDENED: {unhardened} guest(s) that share a host or '
                 'belong to an isolated group without <nosharepages/>')
    else:
        state = 'CLEAN'
    if active:
        line = (f'{state}; {groups} isolated group(s), {isolated} isolated '
                f'instance(s)')
    else:
        line = (f'{state}: no project is isolated ([scale_ext_isolation] '
                'is empty)')
    line += f'; {shared} host(s) shared by several projects'
    if not hardening['checked']:
        return line + '; guest hardening not checked (no --libvirt-uri)'
    checked = hardening['hardened'] + unhardened
    line += f'; {hardening["hardened"]} of {checked} guest(s) hardened'
    if hardening['unchecked']:
        line += f', {len(hardening["unchecked"])} not checked'
    return line


def text(data: Mapping) -> str:
    """The report for a terminal: violations first, the summary last."""
    lines: list[str] = []
    for v in data['violations']:
        lines.append(f'VIOLATION on {v["host"]}: groups '
                     f'{", ".join(v["groups"])}')
        for inst in v['instances']:
            lines.append(f'    {inst["id"]}  project {inst["project"] or "?"}'
                         f'  group {inst["group"]}  ({inst["arrived"]})')
    hardening = data.get('hardening') or {}
    for guest in hardening.get('unhardened', ()):
        lines.append(f'UNHARDENED {guest["id"]} on {guest["host"]}: project '
                     f'{guest["project"] or "?"}, {guest["why"]}: no '
                     '<nosharepages/>')
    for guest in hardening.get('unchecked', ()):
        lines.append(f'not checked: {guest["id"]} on {guest["host"]} '
                     f'({guest["reason"]})')
    for name, group in data['groups'].items():
        hosts = group['hosts']
        if not hosts:
            lines.append(f'group {name}: no instance')
            continue
        fills = ', '.join(
            f'{h} ({_fill_text(f)})' for h, f in sorted(hosts.items()))
        lines.append(f'group {name}: {group["instances"]} instance(s) on '
                     f'{len(hosts)} host(s): {fills}')
    lines.append(data['summary'])
    return '\n'.join(lines)


def _fill_text(fill: Mapping[str, float]) -> str:
    names = {'VCPU': 'vCPU', 'MEMORY_MB': 'memory'}
    return ', '.join(f'{names[rc]} {share:.0%}' for rc, share in fill.items())


def arrivals_from(migrations: Sequence[Mapping]) -> dict[str, str]:
    """How instances came to their hosts: for each instance, the newest
    finished migration (``instance_uuid``, ``dest_compute``,
    ``migration_type``, ``updated_at`` or ``created_at``, ``status``)."""
    out: dict[str, tuple[str, str]] = {}
    for mig in migrations:
        uuid = mig.get('instance_uuid')
        if not uuid or mig.get('status') not in ('completed', 'finished',
                                                 'confirmed', 'done'):
            continue
        when = str(mig.get('updated_at') or mig.get('created_at') or '')
        kind = str(mig.get('migration_type') or 'migration')
        text = (f'{kind} from {mig.get("source_compute") or "?"} to '
                f'{mig.get("dest_compute") or "?"} at {when or "?"}')
        if uuid not in out or when > out[uuid][0]:
            out[uuid] = (when, text)
    return {uuid: text for uuid, (_, text) in out.items()}
