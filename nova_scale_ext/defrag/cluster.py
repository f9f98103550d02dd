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
"""The planner's array view of a cloud and the rules every move obeys.

:class:`Cluster` holds a snapshot as arrays (hosts by index, instances by
index): built from a :class:`~.model.Snapshot`, or directly from arrays
(the simulator's ledger) without building any dataclass.
:class:`State` is a cluster in the middle of a plan; its
:meth:`State.targets` (all hosts at once, for the planner) and
:meth:`State.why_not` (one move, for :func:`~.verify.verify`) apply the
same rules:

* placement: ``used + request <= capacity`` for each resource requested
  (``VCPU``, ``MEMORY_MB``, ``DISK_GB`` and ``PCPU``: an instance with
  dedicated CPUs holds PCPU, any other holds none and needs none);
* ``ScaleExtHeadroomFilter``: :func:`~nova_scale_ext.core.scores.
  headroom_fits` with the host's headroom shares;
* the target is enabled, not the source, in the source's availability
  zone, and admits the instance's project (tenancy);
* anti-affinity: fewer than ``max_server_per_host`` members on the
  target; soft-anti-affinity: no more members on the target than on the
  source; soft-affinity: no fewer (other members, the mover left out);
* hard affinity: the group moves as one *unit* (all members, from one
  host, to one host) or not at all;
* scheduler hints: never onto a host holding an instance its
  ``different_host`` names, nor one holding an instance whose
  ``different_host`` names it; with ``same_host``, only onto a host
  holding one of the instances named; and never away from a host where an
  instance whose ``same_host`` names it would then be left without any
  of its named instances.

A unit is one instance, or the members of a hard-affinity group that may
move together; the planner moves units. Resource arrays have four columns
in the order of :data:`~.model.RESOURCE_NAMES`; the constructor also takes
three (``VCPU``, ``MEMORY_MB``, ``DISK_GB``: no PCPU anywhere).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from nova_scale_ext import model
from nova_scale_ext.core import isolation as iso
from nova_scale_ext.core import scores

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

ANTI, AFFINITY, SOFT_ANTI, SOFT_AFFINITY = range(4)
_POLICY_CODE = {name: code for code, name in enumerate(model.POLICIES)}

#: Columns of a resource array (VCPU, MEMORY_MB, DISK_GB, PCPU).
N_RESOURCES = len(model.RESOURCE_NAMES)
_EMPTY = np.zeros(0, dtype=np.int64)


def _tol(cap: FloatArray) -> FloatArray:
    return scores.EPSILON * np.maximum(np.abs(cap), 1.0)


def columns(value: npt.ArrayLike) -> FloatArray:
    """``value`` as a ``(rows, 4)`` array; three columns (VCPU, MEMORY_MB,
    DISK_GB) get a PCPU column of zeros."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2:
        arr = arr.reshape(-1, 3 if arr.size % 3 == 0 else N_RESOURCES)
    if arr.shape[1] == 3:
        arr = np.hstack([arr, np.zeros((arr.shape[0], 1))])
    if arr.shape[1] != N_RESOURCES:
        raise ValueError(f'expected 3 or {N_RESOURCES} resource columns, '
                         f'got {arr.shape[1]}')
    return arr


def _hint_map(hints: Mapping[int, Sequence[int]] | None, present: BoolArray
              ) -> dict[int, list[int]]:
    """Placed instance -> the placed instances it names (itself left
    out)."""
    out: dict[int, list[int]] = {}
    n = present.shape[0]
    for i, named in (hints or {}).items():
        i = int(i)
        if not 0 <= i < n or not present[i]:
            continue
        out[i] = sorted({int(j) for j in named
                         if 0 <= int(j) < n and int(j) != i
                         and present[int(j)]})
    return out


class Cluster:
    """A cloud as arrays. Every argument after ``requests`` is optional:
    hosts enabled, no headroom, one zone, no tenancy, every instance
    movable, in no group and with no scheduler hint.

    ``host_of[i]`` < 0 marks a slot that holds no instance (a simulator
    VM not placed); such instances are ignored. ``different_host`` and
    ``same_host`` map an instance to the instances its hints name (by
    index; an instance in ``same_host`` whose named instances are all
    missing maps to an empty list).
    """

    def __init__(self, capacity: FloatArray, used: FloatArray,
                 host_of: IntArray, requests: FloatArray, *,
                 host_names: Sequence[str] | None = None,
                 instance_ids: Sequence[str] | None = None,
                 enabled: BoolArray | None = None,
                 headroom: FloatArray | None = None,
                 zone: IntArray | None = None,
                 tenancy: IntArray | None = None,
                 tenancy_sets: Sequence[frozenset[int]] = (),
                 project: IntArray | None = None,
                 immovable: Sequence[str | None] | None = None,
                 group: IntArray | None = None,
                 group_policy: IntArray | None = None,
                 group_max: IntArray | None = None,
                 group_complete: BoolArray | None = None,
                 affinity_groups: bool = False,
                 different_host: Mapping[int, Sequence[int]] | None = None,
                 same_host: Mapping[int, Sequence[int]] | None = None,
                 isolation: IntArray | None = None
                 ) -> None:
        self.capacity = columns(capacity)
        self.used = columns(used)
        n_hosts = self.capacity.shape[0]
        self.host_of = np.asarray(host_of, dtype=np.int64).reshape(-1)
        self.requests = columns(requests)
        n = self.host_of.shape[0]
        self._host_names = host_names
        self._instance_ids = instance_ids
        self.enabled = (np.ones(n_hosts, dtype=bool) if enabled is None
                        else np.asarray(enabled, dtype=bool))
        if headroom is None:
            self.headroom = np.zeros((n_hosts, N_RESOURCES))
        else:
            head = np.asarray(headroom, dtype=np.float64)
            if head.ndim and head.shape[-1] == 3:
                pad = np.zeros(head.shape[:-1] + (1,))
                head = np.concatenate([head, pad], axis=-1)
            self.headroom = np.broadcast_to(
                head, (n_hosts, N_RESOURCES)).copy()
        self.has_headroom = bool((self.headroom > 0).any())
        self.zone = (np.zeros(n_hosts, dtype=np.int64) if zone is None
                     else np.asarray(zone, dtype=np.int64))
        self.tenancy = (np.full(n_hosts, -1, dtype=np.int64)
                        if tenancy is None
                        else np.asarray(tenancy, dtype=np.int64))
        self.tenancy_sets = list(tenancy_sets)
        self.project = (np.zeros(n, dtype=np.int64) if project is None
                        else np.asarray(project, dtype=np.int64))
        self.group = (np.full(n, -1, dtype=np.int64) if group is None
                      else np.asarray(group, dtype=np.int64))
        n_groups = int(self.group.max()) + 1 if n else 0
        if group_policy is None:
            group_policy = np.full(n_groups, ANTI, dtype=np.int64)
        self.group_policy = np.asarray(group_policy, dtype=np.int64)
        n_groups = self.group_policy.shape[0]
        self.group_max = (np.ones(n_groups, dtype=np.int64)
                          if group_max is None
                          else np.asarray(group_max, dtype=np.int64))
        self.group_complete = (np.ones(n_groups, dtype=bool)
                               if group_complete is None
                               else np.asarray(group_complete, dtype=bool))
        self.affinity_groups = affinity_groups
        self.immovable: list[str | None] = (
            [None] * n if immovable is None else list(immovable))
        #: each instance's tenant isolation group (0: shared; 1, 2, ...:
        #: isolated groups, :mod:`nova_scale_ext.core.isolation`), or None
        self.isolation = (None if isolation is None or not len(isolation)
                          or not np.asarray(isolation).any()
                          else np.asarray(isolation, dtype=np.int64))
        self.present = self.host_of >= 0
        self.memory = self.requests[:, 1]
        self._build_units()
        self._build_hints(different_host, same_host)
        self._masks: dict[tuple[int, tuple[int, ...]], BoolArray] = {}

    # --- names -------------------------------------------------------------

    @property
    def host_names(self) -> Sequence[str]:
        if self._host_names is None:
            self._host_names = [f'host-{h}'
                                for h in range(self.capacity.shape[0])]
        return self._host_names

    @property
    def instance_ids(self) -> Sequence[str]:
        if self._instance_ids is None:
            self._instance_ids = [f'vm-{i}'
                                  for i in range(self.host_of.shape[0])]
        return self._instance_ids

    def __len__(self) -> int:
        return int(self.capacity.shape[0])

    # --- units -------------------------------------------------------------

    def _build_units(self) -> None:
        """``unit[i]``: the leader of ``i``'s unit (itself unless in a
        hard-affinity group moving as one); ``unit_why[i]``: why the unit
        led by ``i`` may not move (None: it may)."""
        n = self.host_of.shape[0]
        self.unit = np.arange(n, dtype=np.int64)
        self.unit_why: list[str | None] = list(self.immovable)
        self.members: dict[int, IntArray] = {}
        self.unit_requests = self.requests.copy()
        for i in np.flatnonzero(~self.present).tolist():
            self.unit_why[i] = 'not placed'
        grouped = np.flatnonzero((self.group >= 0) & self.present)
        if not grouped.size:
            return
        hard = grouped[self.group_policy[self.group[grouped]] == AFFINITY]
        by_group: dict[int, list[int]] = {}
        for i in hard.tolist():
            by_group.setdefault(int(self.group[i]), []).append(i)
        for g, members in by_group.items():
            lead = members[0]
            why = None
            if not self.affinity_groups:
                why = ('hard affinity: Nova admits only hosts that already '
                       'hold a member of its group')
            elif not self.group_complete[g]:
                why = ('hard affinity: members of its group are not in the '
                       'snapshot')
            elif len({int(self.host_of[i]) for i in members}) > 1:
                why = 'hard affinity: its group is split across hosts'
            else:
                for i in members:
                    if self.immovable[i] is not None:
                        why = (f'hard affinity: member {self.instance_ids[i]}'
                               f' must stay ({self.immovable[i]})')
                        break
            arr = np.asarray(members, dtype=np.int64)
            self.members[lead] = arr
            self.unit[arr] = lead
            self.unit_requests[lead] = self.requests[arr].sum(axis=0)
            for i in members:
                self.unit_why[i] = (why if i == lead else
                                    f'moves with {self.instance_ids[lead]}')

    def _build_hints(self, different_host, same_host) -> None:
        """``apart[i]``: the instances ``i`` may never share a host with
        (its ``different_host`` and those whose ``different_host`` names
        it); ``together[i]``: those its ``same_host`` names;
        ``needed_by[i]``: those whose ``same_host`` names it;
        ``related[i]``: all of them (moves among them are ordered);
        ``hinted``: the leaders of units with any of these."""
        apart: dict[int, set[int]] = {}
        for i, named in _hint_map(different_host, self.present).items():
            for j in named:
                apart.setdefault(i, set()).add(j)
                apart.setdefault(j, set()).add(i)
        together = _hint_map(same_host, self.present)
        needed_by: dict[int, set[int]] = {}
        for i, named in together.items():
            for j in named:
                needed_by.setdefault(j, set()).add(i)

        def arrays(mapping) -> dict[int, IntArray]:
            return {i: np.asarray(sorted(js), dtype=np.int64)
                    for i, js in mapping.items()}

        self.apart = arrays(apart)
        self.together = arrays(together)
        self.needed_by = arrays(needed_by)
        related: dict[int, set[int]] = {}
        for mapping in (apart, together, needed_by):
            for i, js in mapping.items():
                related.setdefault(i, set()).update(js)
        self.related = arrays(related)
        self.hinted: set[int] = {int(self.unit[i]) for i in related}
        for lead in sorted(self.hinted):
            members = self.unit_members(lead).tolist()
            if len(members) > 1 and self.unit_why[lead] is None and any(
                    i in self.together or i in self.needed_by
                    for i in members):
                self.unit_why[lead] = ('hard affinity: a member has a '
                                       'same_host scheduler hint')

    def unit_members(self, lead: int) -> IntArray:
        found = self.members.get(lead)
        if found is None:
            return np.array([lead], dtype=np.int64)
        return found

    def movable_units(self) -> IntArray:
        """Leaders of the units that may move."""
        ok = np.array([w is None for w in self.unit_why], dtype=bool)
        return np.flatnonzero(ok & self.present
                              & (self.unit == np.arange(ok.size)))

    # --- static rules ------------------------------------------------------

    def _admits(self, project: int) -> BoolArray:
        out = self.tenancy < 0
        for k, projects in enumerate(self.tenancy_sets):
            if project in projects:
                out = out | (self.tenancy == k)
        return out

    def static_targets(self, lead: int) -> BoolArray:
        """Hosts the unit led by ``lead`` may ever go to (enabled, its
        zone, tenancy), whatever their usage."""
        members = self.unit_members(lead)
        zone = int(self.zone[self.host_of[lead]])
        projects = tuple(sorted({int(p) for p in self.project[members]}))
        key = (zone, projects)
        mask = self._masks.get(key)
        if mask is None:
            mask = self.enabled & (self.zone == zone)
            if self.tenancy_sets:
                for p in projects:
                    mask = mask & self._admits(p)
            mask.setflags(write=False)
            self._masks[key] = mask
        return mask

    # --- construction from a snapshot ---------------------------------------

    @classmethod
    def from_snapshot(cls, snap: model.Snapshot,
                      policy: model.MovePolicy | None = None,
                      isolation: iso.Policy | None = None) -> Cluster:
        """``isolation``: the tenant isolation policy no move may break
        (None: none)."""
        policy = policy or model.MovePolicy()
        hosts = snap.hosts
        host_index = {h.name: k for k, h in enumerate(hosts)}
        cap = np.array([model.vector_of(h.capacity) for h in hosts],
                       dtype=np.float64).reshape(-1, N_RESOURCES)
        head = np.array([model.vector_of(h.headroom) for h in hosts],
                        dtype=np.float64).reshape(-1, N_RESOURCES)
        insts = snap.instances
        vector_of = model.vector_of
        of_flavor = {f.name: vector_of(f.resources) for f in snap.flavors}
        req = np.array([vector_of(i.resources) if i.resources
                        else of_flavor[i.flavor] for i in insts],
                       dtype=np.float64).reshape(-1, N_RESOURCES)
        host_of = np.array([host_index[i.host] for i in insts],
                           dtype=np.int64)
        held = np.zeros_like(cap)
        if len(insts):
            np.add.at(held, host_of, req)
        used = np.array([model.vector_of(h.used) if h.used is not None
                         else held[k] for k, h in enumerate(hosts)],
                        dtype=np.float64).reshape(-1, N_RESOURCES)
        zones: dict[str, int] = {}
        zone = np.array([zones.setdefault(snap.zone_of(h), len(zones))
                         for h in hosts], dtype=np.int64)
        projects: dict[str, int] = {}
        project = np.array([projects.setdefault(i.project, len(projects))
                            for i in insts], dtype=np.int64)
        sets: dict[frozenset[int], int] = {}
        tenancy = np.full(len(hosts), -1, dtype=np.int64)
        for k, h in enumerate(hosts):
            admitted = snap.tenants_of(h)
            if admitted is None:
                continue
            codes = frozenset(projects.setdefault(p, len(projects))
                              for p in admitted)
            tenancy[k] = sets.setdefault(codes, len(sets))
        groups = {g.id: k for k, g in enumerate(snap.server_groups)}
        group = np.array([groups[i.server_group]
                          if i.server_group is not None else -1
                          for i in insts], dtype=np.int64)
        ids = {i.id for i in insts}
        hinted = [(k, i) for k, i in enumerate(insts)
                  if i.different_host or i.same_host]
        different_host: dict[int, list[int]] = {}
        same_host: dict[int, list[int]] = {}
        if hinted:
            index = {i.id: k for k, i in enumerate(insts)}
            for k, i in hinted:
                if i.different_host:
                    different_host[k] = [index[j] for j in i.different_host
                                         if j in index]
                if i.same_host:
                    same_host[k] = [index[j] for j in i.same_host
                                    if j in index]
        return cls(
            cap, used, host_of, req,
            host_names=[h.name for h in hosts],
            instance_ids=[i.id for i in insts],
            enabled=np.array([h.enabled for h in hosts], dtype=bool),
            headroom=head, zone=zone, tenancy=tenancy,
            tenancy_sets=list(sets), project=project,
            immovable=[policy.why_immovable(i) for i in insts],
            group=group,
            group_policy=np.array([_POLICY_CODE[g.policy]
                                   for g in snap.server_groups],
                                  dtype=np.int64),
            group_max=np.array([g.max_server_per_host
                                for g in snap.server_groups],
                               dtype=np.int64),
            group_complete=np.array([all(m in ids for m in g.members)
                                     for g in snap.server_groups],
                                    dtype=bool),
            affinity_groups=policy.affinity_groups,
            different_host=different_host, same_host=same_host,
            isolation=_isolation_codes(insts, isolation))


def _isolation_codes(insts: Sequence[model.Instance],
                     policy: iso.Policy | None) -> IntArray | None:
    """Each instance's isolation group as a code (0: shared)."""
    if policy is None or not policy.active:
        return None
    codes: dict[str, int] = {iso.SHARED: 0}
    return np.array([codes.setdefault(policy.group_of(i.project or None),
                                      len(codes)) for i in insts],
                    dtype=np.int64)


class State:
    """A cluster as moves change it: usage, where each instance is and how
    many members of each group each host holds."""

    def __init__(self, cluster: Cluster) -> None:
        c = cluster
        self.c = c
        self.used = c.used.copy()
        self.host_of = c.host_of.copy()
        placed = self.host_of >= 0
        self.count = np.bincount(self.host_of[placed],
                                 minlength=len(c)).astype(np.int64)
        self.moved = np.zeros(self.host_of.shape[0], dtype=bool)
        #: instance -> the source it still holds while its migration runs
        #: (:func:`~.verify.verify`'s replay; the planner moves at once)
        self.leaving: dict[int, int] = {}
        self.group_hosts: dict[int, dict[int, int]] = {}
        for i in np.flatnonzero((c.group >= 0) & placed).tolist():
            per = self.group_hosts.setdefault(int(c.group[i]), {})
            h = int(self.host_of[i])
            per[h] = per.get(h, 0) + 1
        #: usage no listed instance explains (it never moves)
        held = np.zeros_like(self.used)
        if placed.any():
            np.add.at(held, self.host_of[placed], c.requests[placed])
        self.residual = np.maximum(self.used - held, 0.0)
        #: instances of each isolation group on each host
        self.isolated = None
        if c.isolation is not None:
            self.isolated = np.zeros((len(c), int(c.isolation.max()) + 1),
                                     dtype=np.int64)
            np.add.at(self.isolated, (self.host_of[placed],
                                      c.isolation[placed]), 1)

    # --- changes -----------------------------------------------------------

    def add(self, i: int, h: int) -> None:
        """Instance ``i`` claims host ``h`` (it may still hold another)."""
        self.used[h] += self.c.requests[i]
        self.count[h] += 1
        if self.isolated is not None:
            self.isolated[h, self.c.isolation[i]] += 1
        g = int(self.c.group[i])
        if g >= 0:
            per = self.group_hosts.setdefault(g, {})
            per[h] = per.get(h, 0) + 1

    def remove(self, i: int, h: int) -> None:
        """Instance ``i`` releases host ``h``."""
        self.used[h] -= self.c.requests[i]
        self.count[h] -= 1
        if self.isolated is not None:
            self.isolated[h, self.c.isolation[i]] -= 1
        g = int(self.c.group[i])
        if g >= 0:
            per = self.group_hosts[g]
            per[h] -= 1
            if not per[h]:
                del per[h]

    def move(self, i: int, target: int) -> None:
        source = int(self.host_of[i])
        self.add(i, target)
        self.remove(i, source)
        self.host_of[i] = target
        self.moved[i] = True

    # --- rules, vectorised over hosts ----------------------------------------

    def fits(self, request: FloatArray, idx: IntArray | None = None
             ) -> BoolArray:
        """Placement's and the headroom filter's verdict on hosts ``idx``
        (all hosts if None) for one request."""
        cap = self.c.capacity if idx is None else self.c.capacity[idx]
        used = self.used if idx is None else self.used[idx]
        after = used + request
        ok = ((after <= cap + _tol(cap)) | (request <= 0)).all(axis=1)
        if self.c.has_headroom:
            head = self.c.headroom if idx is None else self.c.headroom[idx]
            ok &= scores.headroom_fits(cap, used, request, head)
        return ok

    def group_excluded(self, lead: int) -> tuple[IntArray, IntArray | None]:
        """``(excluded, only)`` hosts for the unit led by ``lead`` by its
        group's policy: never ``excluded``; if ``only`` is not None, only
        those."""
        c = self.c
        g = int(c.group[lead])
        none = np.zeros(0, dtype=np.int64)
        if g < 0:
            return none, None
        policy = int(c.group_policy[g])
        per = self.group_hosts.get(g, {})
        if policy == AFFINITY:
            return none, None       # moves as a whole unit
        source = int(self.host_of[lead])
        here = per.get(source, 0) - 1
        if policy == ANTI:
            limit = int(c.group_max[g])
            bad = [h for h, n in per.items() if n >= limit]
            return np.asarray(bad, dtype=np.int64), None
        if policy == SOFT_ANTI:
            bad = [h for h, n in per.items() if n > here]
            return np.asarray(bad, dtype=np.int64), None
        if here <= 0:
            return none, None
        good = [h for h, n in per.items() if n >= here and h != source]
        return none, np.asarray(good, dtype=np.int64)

    # --- scheduler hints ----------------------------------------------------

    def _holding(self, named: IntArray) -> IntArray:
        """Hosts that hold any of ``named`` (a source still holds an
        instance while its migration runs)."""
        hosts = self.host_of[named]
        if self.leaving:
            extra = [self.leaving[j] for j in named.tolist()
                     if j in self.leaving]
            hosts = np.concatenate([hosts, np.asarray(extra,
                                                      dtype=np.int64)])
        return hosts[hosts >= 0]

    def _settled(self, named: IntArray) -> IntArray:
        """Hosts where any of ``named`` is and stays (not migrating)."""
        if self.leaving:
            named = named[[j not in self.leaving for j in named.tolist()]]
        hosts = self.host_of[named]
        return hosts[hosts >= 0]

    def _needed(self, i: int) -> str | None:
        """Why ``i`` may not leave its host for the ``same_host`` hints
        that name it (None: it may)."""
        c = self.c
        source = int(self.host_of[i])
        for k in c.needed_by.get(i, _EMPTY).tolist():
            at = {int(self.host_of[k]), self.leaving.get(k, -1)}
            if source not in at:
                continue
            others = c.together[k]
            others = others[others != i]
            if not (self._settled(others) == source).any():
                return (f'scheduler hint same_host of {c.instance_ids[k]}: '
                        f'it must keep {c.instance_ids[i]} on '
                        f'{c.host_names[source]}')
        return None

    def hint_limits(self, lead: int
                    ) -> tuple[IntArray, IntArray | None, str | None]:
        """``(excluded, only, why)`` for the unit led by ``lead`` by its
        members' scheduler hints: never ``excluded``; if ``only`` is not
        None, only those; if ``why``, nowhere."""
        c = self.c
        members = c.unit_members(lead)
        excluded = []
        only = None
        for i in members.tolist():
            named = c.apart.get(i)
            if named is not None:
                if members.size > 1:
                    named = named[~np.isin(named, members)]
                excluded.append(self._holding(named))
            named = c.together.get(i)
            if named is not None:
                hosts = self._settled(named)
                only = hosts if only is None else np.intersect1d(only,
                                                                 hosts)
            why = self._needed(i)
            if why is not None:
                return _EMPTY, None, why
        out = np.concatenate(excluded) if excluded else _EMPTY
        return out, only, None

    def hint_why_not(self, i: int, target: int) -> str | None:
        """Why instance ``i`` may not go to ``target`` by the scheduler
        hints (None: it may)."""
        c = self.c
        members = c.unit_members(int(c.unit[i]))
        named = c.apart.get(i)
        if named is not None:
            for j in named.tolist():
                if members.size > 1 and j in members:
                    continue
                if target in self._holding(np.array([j])):
                    return (f'scheduler hint different_host: '
                            f'{c.instance_ids[j]} is on '
                            f'{c.host_names[target]}')
        named = c.together.get(i)
        if named is not None and not (self._settled(named)
                                      == target).any():
            return ('scheduler hint same_host: none of the instances it '
                    f'names is on {c.host_names[target]}')
        return self._needed(i)

    # --- the targets of a unit ---------------------------------------------

    def targets(self, lead: int, allowed: BoolArray) -> IntArray:
        """Hosts among ``allowed`` the unit led by ``lead`` may move to
        now, in host order."""
        c = self.c
        mask = allowed & c.static_targets(lead)
        excluded, only = self.group_excluded(lead)
        if c.hinted and lead in c.hinted:
            hint_excluded, hint_only, why = self.hint_limits(lead)
            if why is not None:
                return _EMPTY
            excluded = np.concatenate([excluded, hint_excluded])
            if hint_only is not None:
                only = (hint_only if only is None
                        else np.intersect1d(only, hint_only))
        if only is not None:
            keep = np.zeros_like(mask)
            keep[only] = True
            mask = mask & keep
            if excluded.size:
                mask[excluded] = False
        elif excluded.size:
            mask = mask.copy()
            mask[excluded] = False
        if self.isolated is not None:
            mask = mask & self.isolation_admits(c.unit_members(lead))
        idx = np.flatnonzero(mask)
        idx = idx[idx != self.host_of[lead]]
        if idx.size:
            idx = idx[self.fits(c.unit_requests[lead], idx)]
        return idx

    def isolation_admits(self, members: IntArray) -> BoolArray:
        """Hosts whose instances are all of the isolation group of
        ``members`` (or none): a unit of several groups, empty hosts only."""
        groups = np.unique(self.c.isolation[members])
        total = self.isolated.sum(axis=1)
        if groups.size != 1:
            return total == 0
        return total == self.isolated[:, int(groups[0])]

    # --- rules, one move --------------------------------------------------

    def why_not(self, i: int, target: int) -> str | None:
        """Why instance ``i`` may not claim ``target`` now (None: it
        may). The instance is assumed to be on its source still."""
        c = self.c
        names = c.host_names
        t = names[target]
        source = int(self.host_of[i])
        if target == source:
            return f'target {t} is its own host'
        if not c.enabled[target]:
            return f'target {t} is disabled'
        if c.zone[target] != c.zone[source]:
            return (f'target {t} is in another availability zone than '
                    f'{names[source]}')
        if c.tenancy_sets and not c._admits(int(c.project[i]))[target]:
            return (f'target {t} is in an aggregate whose '
                    'filter_tenant_id excludes its project')
        if self.isolated is not None:
            g = int(c.isolation[i])
            there = self.isolated[target]
            if int(there.sum()) != int(there[g]):
                return (f'tenant isolation: {t} holds instances of another '
                        'isolation group')
        request = c.requests[i]
        cap = c.capacity[target]
        after = self.used[target] + request
        for r, name in enumerate(model.RESOURCE_NAMES):
            if request[r] > 0 and after[r] > cap[r] + _tol(cap[r]):
                return (f'no room on {t}: {name} would be {after[r]:g} of '
                        f'{cap[r]:g}')
        if c.has_headroom and not scores.headroom_fits(
                cap[None], self.used[target][None], request,
                c.headroom[target][None])[0]:
            return (f'headroom of {t}: it must keep '
                    f'{c.headroom[target][:3].tolist()} of VCPU/MEMORY_MB/'
                    'DISK_GB free')
        if c.hinted and int(c.unit[i]) in c.hinted:
            why = self.hint_why_not(i, target)
            if why is not None:
                return why
        g = int(c.group[i])
        if g < 0:
            return None
        policy = int(c.group_policy[g])
        per = self.group_hosts.get(g, {})
        there = per.get(target, 0)
        here = per.get(source, 0) - 1
        if policy == ANTI and there >= c.group_max[g]:
            return (f'anti-affinity: {there} member(s) of its group already '
                    f'on {t}')
        if policy == SOFT_ANTI and there > here:
            return (f'soft-anti-affinity made worse: {there} member(s) on '
                    f'{t} against {here} on {names[source]}')
        if policy == SOFT_AFFINITY and there < here:
            return (f'soft-affinity made worse: {there} member(s) on {t} '
                    f'against {here} on {names[source]}')
        return None

    # --- what a state offers ---------------------------------------------

    def free(self) -> FloatArray:
        """What each enabled host can still give one instance, headroom
        kept (0 on disabled hosts)."""
        c = self.c
        limit = np.where(c.headroom > 0, c.capacity * (1.0 - c.headroom),
                         c.capacity)
        free = np.maximum(limit - self.used, 0.0)
        free[~c.enabled] = 0.0
        return free

    def slots(self, shapes: FloatArray) -> FloatArray:
        """``(hosts, shapes)`` instances of each shape that fit, counted
        by :func:`nova_scale_ext.core.scores.slot_counts`."""
        if not len(shapes):
            return np.zeros((len(self.c), 0))
        asked = shapes.any(axis=0)
        if asked.all() or not asked.any():
            return scores.slot_counts(self.free(), shapes)
        return scores.slot_counts(self.free()[:, asked], shapes[:, asked])

    def empty(self) -> BoolArray:
        """Hosts with no instance and no other usage."""
        return (self.count == 0) & ~(self.residual > 0).any(axis=1)
