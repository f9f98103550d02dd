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
"""Connecting the commands to a cloud of ``clouds.yaml``."""

from __future__ import annotations

import sys
from typing import Any

from nova_scale_ext import cloud, model

#: What to install when openstacksdk is missing.
INSTALL = "pip install 'nova-scale-ext[capacity]'"


def have_sdk() -> bool:
    try:
        import openstack  # noqa: F401
    except ImportError:
        return False
    return True


def connector(given: Any, prog: str) -> Any:
    """``given`` when there is one (OpenStackClient's, or a test's), else
    :func:`connect`; None, having said why on stderr, without
    openstacksdk."""
    if given is not None:
        return given
    if not have_sdk():
        print(f'{prog} needs openstacksdk: {INSTALL}', file=sys.stderr)
        return None
    return connect


def connect(name: str | None) -> Any:
    """An openstacksdk connection to cloud ``name`` (None: ``OS_CLOUD``)."""
    import openstack
    return openstack.connect(cloud=name)


def cloud_errors() -> tuple[type[BaseException], ...]:
    """The exceptions of openstacksdk and keystoneauth (none without
    them)."""
    try:
        from keystoneauth1 import exceptions as ksa_exceptions
        from openstack import exceptions
    except ImportError:
        return ()
    return (exceptions.SDKException, ksa_exceptions.ClientException)


def describe(name: str | None, exc: BaseException) -> str:
    """One line naming the cloud and what went wrong."""
    where = (f'cloud {name!r}' if name else
             'no --os-cloud given and OS_CLOUD not set')
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else \
        type(exc).__name__
    if getattr(exc, 'status_code', None) == 403:
        text += ' (admin credentials are needed)'
    return f'{where}: {text}'


def read_snapshot(name: str | None,
                  headroom: tuple[float, float, float] = (0.0, 0.0, 0.0)
                  ) -> model.Snapshot:
    """The :class:`~nova_scale_ext.model.Snapshot` of cloud ``name``.

    :raises model.SnapshotError: what the cloud holds cannot be modelled.
    :raises: openstacksdk's and keystoneauth's errors (:func:`cloud_errors`).
    """
    conn = connect(name)
    try:
        view = cloud.fetch(conn, topology=True, source=name or '')
    finally:
        conn.close()
    return cloud.snapshot(view, headroom)


class Borrowed:
    """OpenStackClient's connection, lent to a command that closes what it
    is given: it stays open for OpenStackClient (and the next pass)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def close(self) -> None:
        pass


def borrowed(client_manager: Any) -> Any:
    """A ``connect(name)`` for a command run by OpenStackClient: its
    connection, whatever the name."""
    return lambda name: Borrowed(client_manager.sdk_connection)
