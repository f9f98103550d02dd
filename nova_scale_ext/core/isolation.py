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
"""Tenant isolation: which hosts an instance may share (Nova-free).

An *isolation group* is a set of projects that trust each other: one
project on its own, or several an operator declares as one trust domain.
An instance of an isolated group passes only hosts that are empty or hold
nothing but instances of its own group; any other instance (the *shared*
pool) passes only hosts that hold no instance of an isolated group. So a
group takes hosts from the common pool as it needs them and gives each back
when its last instance leaves it.

The rule is one comparison once each host has an *owner*
(:func:`host_owner`): ``EMPTY``, the shared pool (``SHARED``), one group, or
``MIXED`` (instances of a group next to others': a violation, which only an
admin's forced placement or a race of concurrent boots can make). An
instance passes a host when the host is empty or its owner is the
instance's own group (:func:`passes`); a mixed host, or one whose instances
are not known, passes nobody: the safe side of isolation is to refuse a
shared host, never to allow one.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

#: owner of a host with no instance
EMPTY = ''
#: owner of a host whose instances are all of non-isolated projects
SHARED = '*shared*'
#: owner of a host that holds instances of an isolated group and others',
#: or whose instances are not known
MIXED = '*mixed*'

#: what a group's name may be (it is shown in logs and reports)
GROUP_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,63}')
#: what a project ID may be: Keystone's are 32 hex digits, but any
#: printable name without separators is accepted
PROJECT_ID = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,254}')


class PolicyError(ValueError):
    """An isolation policy that cannot be read."""


@dataclasses.dataclass(frozen=True)
class Policy:
    """Which projects are isolated, and in which group."""

    #: project ID -> group name
    groups: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: every project isolated from every other (:data:`EVERYONE`: what a
    #: policy that cannot be read falls back to)
    everyone: bool = False

    @property
    def active(self) -> bool:
        """Whether any project is isolated."""
        return self.everyone or bool(self.groups)

    def group_of(self, project: str | None) -> str:
        """The group of ``project``: its isolation group, or ``SHARED``
        (with :attr:`everyone`, the project itself; an instance of no
        known project, a group no other instance is in)."""
        if self.everyone:
            return MIXED if project is None else f'project:{project}'
        if project is None:
            return SHARED
        return self.groups.get(project, SHARED)

    def owner(self, projects: Iterable[str | None] | None) -> str:
        """The owner of a host holding instances of ``projects`` (None:
        not known)."""
        return host_owner(self, projects)

    def names(self) -> list[str]:
        """The groups' names, sorted."""
        return sorted(set(self.groups.values()))

    @classmethod
    def from_options(cls, isolated_projects: Iterable[str] = (),
                     isolation_groups: Iterable[str] = ()) -> Policy:
        """The policy of ``[scale_ext_isolation]``: each project of
        ``isolated_projects`` a group of its own (named after it), each
        ``NAME:PROJECT[,PROJECT...]`` of ``isolation_groups`` one group.

        :raises PolicyError: naming the value; a project in two groups, a
            name used twice or an entry that cannot be read.
        """
        groups: dict[str, str] = {}
        names: set[str] = set()

        def add(project: str, name: str, where: str) -> None:
            if not PROJECT_ID.fullmatch(project):
                raise PolicyError(f'{where}: {project!r} is not a project ID')
            if project in groups and groups[project] != name:
                raise PolicyError(
                    f'{where}: project {project} is already in isolation '
                    f'group {groups[project]!r}; a project can be in one '
                    'group only')
            groups[project] = name

        for raw in isolated_projects or ():
            project = str(raw).strip()
            if not project:
                continue
            add(project, project, 'isolated_projects')
            names.add(project)
        for raw in isolation_groups or ():
            text = str(raw).strip()
            if not text:
                continue        # an empty line declares no group
            where = f'isolation_groups {text!r}'
            name, sep, members = text.partition(':')
            name = name.strip()
            if not sep or not GROUP_NAME.fullmatch(name):
                raise PolicyError(f'{where}: expected NAME:PROJECT[,PROJECT'
                                  '...], NAME of letters, digits, _ . -')
            if name in names:
                raise PolicyError(f'{where}: the group name {name!r} is '
                                  'used twice')
            projects = [p.strip() for p in members.split(',') if p.strip()]
            if not projects:
                raise PolicyError(f'{where}: the group has no project')
            names.add(name)
            for project in projects:
                add(project, name, where)
        return cls(groups)


#: every project isolated from every other: the safe fallback
EVERYONE = Policy(everyone=True)


def host_owner(policy: Policy,
               projects: Iterable[str | None] | None) -> str:
    """The owner of a host whose instances belong to ``projects`` (None:
    the host's instances are not known; then ``MIXED``)."""
    if projects is None:
        return MIXED
    owners = {policy.group_of(p) for p in projects}
    if not owners:
        return EMPTY
    if len(owners) > 1:
        return MIXED
    return owners.pop()


def passes(owner: str, group: str) -> bool:
    """Whether an instance of ``group`` (``SHARED`` when its project is
    not isolated) may go to a host whose owner is ``owner``."""
    return owner == EMPTY or (owner == group and owner != MIXED)


def violation(owner: str) -> bool:
    """Whether a host's owner says isolation is broken on it."""
    return owner == MIXED


# Codes of the vector form (the simulator): per host an int, per instance
# an int; isolated groups are 1, 2, ...
EMPTY_CODE = -1
SHARED_CODE = 0
MIXED_CODE = -2


def passes_codes(owners: npt.NDArray[np.int64],
                 group: int) -> npt.NDArray[np.bool_]:
    """:func:`passes` for each host of ``owners`` (codes)."""
    return (owners == EMPTY_CODE) | (owners == group)
