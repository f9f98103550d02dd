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
"""Carry a plan out, one live migration after another (``defrag apply``).

Nova-free: the cloud is anything with the four methods of :class:`Cloud`
(:class:`nova_scale_ext.cloud.LiveMigrations` on openstacksdk, a fake in
the tests). Moves run step by step, a step starting when the previous one
has ended, at most ``concurrency`` at once. Right before a move starts,
its preconditions are read again: the instance is ACTIVE, with no task
running, on the planned source; the target's compute service is enabled
and up and placement has room for the instance there. The first move
that fails (a precondition, Nova refusing it, a migration that ends in
error or outlasts the timeout) stops the run: no move starts after it,
the moves in flight are waited for. A stop request (Ctrl-C) does the
same. Every move of the plan ends as one journal record.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from nova_scale_ext.defrag import plans

ACTIVE = 'ACTIVE'

#: Journal results.
MIGRATED = 'migrated'
ALREADY_DONE = 'already-done'
PRECONDITION = 'precondition-failed'
FAILED = 'failed'
TIMEOUT = 'timeout'
NOT_STARTED = 'not-started'
ABANDONED = 'abandoned'
STALE = 'stale'

#: Migration statuses after which Nova has given up on a migration.
FAILED_STATUSES = frozenset({'error', 'failed', 'cancelled'})
#: Polls without any migration record before a move counts as not run.
NO_RECORD_POLLS = 5
#: Seconds between two progress lines of one migration at most.
REPORT_EVERY_S = 10.0


@dataclasses.dataclass(frozen=True)
class ServerNow:
    id: str
    status: str
    host: str
    task_state: str | None = None


@dataclasses.dataclass(frozen=True)
class HostNow:
    name: str
    enabled: bool
    up: bool
    #: resource class -> free amount in placement (after ratios, reserved)
    free: Mapping[str, float]


@dataclasses.dataclass(frozen=True)
class MigrationNow:
    id: str
    status: str
    #: the source's resources are released (placement no longer holds
    #: them for the migration): a finished move is complete only then
    settled: bool = True


class Refused(Exception):
    """The cloud refused to start a migration; the message is its own."""


class Cloud(Protocol):
    """What the applier asks of a cloud."""

    def server(self, instance: str) -> ServerNow | None:
        """The instance now (None: it no longer exists)."""

    def host(self, name: str) -> HostNow | None:
        """The compute host now (None: it no longer exists)."""

    def live_migrate(self, instance: str, target: str) -> None:
        """Start a live migration to ``target`` that the scheduler checks;
        raise :class:`Refused` if the cloud will not."""

    def migration(self, instance: str) -> MigrationNow | None:
        """The live migration started by the last :meth:`live_migrate` of
        ``instance`` (None: no record yet)."""


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(
        timespec='seconds')


class Journal:
    """JSON lines, one record a move, appended and flushed as each move
    ends (``path`` None: kept in :attr:`records` only)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []

    def write(self, record: Mapping[str, Any]) -> None:
        self.records.append(dict(record))
        if self.path:
            with open(self.path, 'a', encoding='utf-8') as out:
                out.write(json.dumps(record, sort_keys=True) + '\n')


def record(move: plans.Move, result: str, *, name: str = '',
           started: str | None = None, finished: str | None = None,
           error: str = '', **extra: Any) -> dict[str, Any]:
    """One journal record."""
    out = {'instance': move.instance, 'name': name, 'source': move.source,
           'target': move.target, 'step': move.step,
           'memory_mb': move.memory_mb, 'result': result,
           'started': started, 'finished': finished, 'error': error}
    out.update(extra)
    return out


def precondition(cloud: Cloud, move: plans.Move,
                 request: Mapping[str, float]) -> str | None:
    """Why ``move`` may not start now (None: it may)."""
    server = cloud.server(move.instance)
    if server is None:
        return f'instance {move.instance} no longer exists'
    if server.status != ACTIVE:
        return f'instance {move.instance} is {server.status}, not ACTIVE'
    if server.task_state:
        return (f'instance {move.instance} is busy (task '
                f'{server.task_state})')
    if server.host != move.source:
        return (f'instance {move.instance} is on {server.host}, not on '
                f'{move.source}')
    host = cloud.host(move.target)
    if host is None:
        return f'target {move.target} no longer exists'
    if not host.enabled:
        return f'target {move.target} is disabled'
    if not host.up:
        return f'target {move.target} is down'
    for rc, amount in sorted(request.items()):
        free = float(host.free.get(rc, 0.0))
        if amount > 0 and free + 1e-6 * max(amount, 1.0) < amount:
            return (f'no room on {move.target}: {rc} {free:g} free, '
                    f'{amount:g} needed')
    return None


@dataclasses.dataclass
class Outcome:
    """What a run did: the journal records in the order they ended."""

    records: list[dict[str, Any]]
    #: why the run stopped before the end ('' when every move ran)
    stopped: str = ''
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.stopped and not self.interrupted

    def count(self, result: str) -> int:
        return sum(1 for r in self.records if r['result'] == result)


@dataclasses.dataclass
class _Flight:
    move: plans.Move
    number: int
    started: str
    began: float
    status: str = ''
    reported: float = 0.0
    polls_without_record: int = 0


class Applier:
    """Runs the moves of a plan (see the module docstring).

    ``requests`` are the instances' resources (resource class -> amount,
    for the room check); ``names`` their display names. ``stop`` is set
    to stop after the migrations in flight; a ``KeyboardInterrupt``
    while waiting journals them as abandoned. ``sleep``, ``clock`` and
    ``now`` are the time functions (replaceable in tests).
    """

    def __init__(self, cloud: Cloud, moves: tuple[plans.Move, ...],
                 requests: Mapping[str, Mapping[str, float]], *,
                 concurrency: int = 1, journal: Journal | None = None,
                 report: Callable[[str], None] = print,
                 names: Mapping[str, str] | None = None,
                 poll_s: float = 2.0, timeout_s: float = 3600.0,
                 stop: threading.Event | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], str] = utc_now) -> None:
        if concurrency < 1:
            raise ValueError('concurrency: expected at least 1')
        self.cloud = cloud
        self.moves = tuple(moves)
        self.requests = requests
        self.concurrency = concurrency
        self.journal = journal or Journal()
        self.report = report
        self.names = names or {}
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.stop = stop or threading.Event()
        self.sleep = sleep
        self.clock = clock
        self.now = now
        self.records: list[dict[str, Any]] = []
        self.failure = ''

    def label(self, instance: str) -> str:
        name = self.names.get(instance)
        return f'{name} ({instance})' if name else instance

    def _end(self, move: plans.Move, result: str, **kw: Any) -> None:
        rec = record(move, result, name=self.names.get(move.instance, ''),
                     **kw)
        self.records.append(rec)
        self.journal.write(rec)

    def run(self) -> Outcome:
        pending = list(self.moves)
        flights: list[_Flight] = []
        total = len(self.moves)
        interrupted = False
        try:
            while pending or flights:
                self._start(pending, flights, total)
                if not flights:
                    break
                self.sleep(self.poll_s)
                for flight in list(flights):
                    try:
                        ended = self._check(flight)
                    except Exception as exc:    # read again next poll
                        ended = self._unread(flight, exc, total)
                    if ended:
                        flights.remove(flight)
        except KeyboardInterrupt:
            interrupted = True
            for flight in flights:
                self._end(flight.move, ABANDONED, started=flight.started,
                          error='still migrating when apply stopped '
                          'waiting; Nova carries it on')
                self.report(f'[{flight.number}/{total}] '
                            f'{self.label(flight.move.instance)}: not '
                            'waited for')
        for move in pending:
            self._end(move, NOT_STARTED, error=self.failure or (
                'stopped on request' if self.stop.is_set() else ''))
        interrupted = interrupted or (self.stop.is_set()
                                      and not self.failure
                                      and bool(pending))
        return Outcome(self.records, self.failure, interrupted)

    def _start(self, pending: list[plans.Move], flights: list[_Flight],
               total: int) -> None:
        while (pending and not self.failure and not self.stop.is_set()
               and len(flights) < self.concurrency):
            move = pending[0]
            if flights and move.step != flights[0].move.step:
                return          # the next step waits for this one to end
            pending.pop(0)
            number = total - len(pending)
            head = (f'[{number}/{total}] {self.label(move.instance)} '
                    f'{move.source} -> {move.target}')
            started = self.now()
            try:
                why = precondition(self.cloud, move,
                                   self.requests.get(move.instance, {}))
            except Exception as exc:    # whatever the cloud raises
                why = f'cannot read the cloud: {_error(exc)}'
            if why is not None:
                self.failure = f'move {number}: {why}'
                self._end(move, PRECONDITION, started=started,
                          finished=self.now(), error=why)
                self.report(f'{head}: not started: {why}')
                return
            try:
                self.cloud.live_migrate(move.instance, move.target)
            except Refused as exc:
                self.failure = f'move {number}: refused: {exc}'
                self._end(move, FAILED, started=started,
                          finished=self.now(),
                          error=f'refused: {exc}', **self._where(move))
                self.report(f'{head}: refused: {exc}')
                return
            self.report(f'{head}: started ({move.memory_mb / 1024:.1f} '
                        f'GiB, step {move.step})')
            flights.append(_Flight(move, number, started, self.clock(),
                                   reported=self.clock()))

    def _where(self, move: plans.Move) -> dict[str, Any]:
        """Where the instance is now, for the record of a failure."""
        try:
            server = self.cloud.server(move.instance)
        except Exception as exc:        # a record, whatever the cloud says
            return {'now': {'error': str(exc)}}
        if server is None:
            return {'now': {'deleted': True}}
        return {'now': {'host': server.host, 'status': server.status}}

    def _check(self, flight: _Flight) -> bool:
        """Poll one migration; True when it has ended (and is recorded)."""
        move = flight.move
        head = (f'[{flight.number}/{len(self.moves)}] '
                f'{self.label(move.instance)}')
        elapsed = self.clock() - flight.began
        server = self.cloud.server(move.instance)
        if server is None:
            return self._fail(flight, head, FAILED,
                              'deleted during its migration')
        migration = self.cloud.migration(move.instance)
        status = migration.status if migration else ''
        idle = not server.task_state
        if server.status == 'ERROR':
            return self._fail(flight, head, FAILED,
                              f'server went to ERROR (migration '
                              f'{status or "not recorded"})', migration)
        done = migration is None or (status == 'completed'
                                     and migration.settled)
        if server.host == move.target and idle and \
                server.status == ACTIVE and done:
            self._end(move, MIGRATED, started=flight.started,
                      finished=self.now(),
                      migration=migration.id if migration else None)
            self.report(f'{head}: on {move.target} after {elapsed:.1f} s')
            return True
        if migration is not None and status in FAILED_STATUSES and idle:
            return self._fail(flight, head, FAILED,
                              f'migration {migration.id} ended in status '
                              f'{status}', migration)
        if migration is None and idle:
            flight.polls_without_record += 1
            if flight.polls_without_record >= NO_RECORD_POLLS:
                return self._fail(flight, head, FAILED,
                                  'Nova started no migration')
        if elapsed > self.timeout_s:
            return self._fail(flight, head, TIMEOUT,
                              f'not finished after {self.timeout_s:g} s '
                              f'(migration {status or "not recorded"}); '
                              'Nova carries it on', migration)
        now = self.clock()
        if status != flight.status or now - flight.reported >= \
                REPORT_EVERY_S:
            flight.status, flight.reported = status, now
            self.report(f'{head}: {status or "waiting"} ({elapsed:.0f} s)')
        return False

    def _unread(self, flight: _Flight, exc: Exception, total: int) -> bool:
        """A poll that could not read the cloud: said, then tried again
        until the timeout."""
        head = f'[{flight.number}/{total}] {self.label(flight.move.instance)}'
        self.report(f'{head}: cannot read the cloud: {_error(exc)}')
        if self.clock() - flight.began > self.timeout_s:
            return self._fail(flight, head, TIMEOUT,
                              f'not seen to finish within '
                              f'{self.timeout_s:g} s: {_error(exc)}')
        return False

    def _fail(self, flight: _Flight, head: str, result: str, error: str,
              migration: MigrationNow | None = None) -> bool:
        move = flight.move
        if not self.failure:
            self.failure = f'move {flight.number}: {error}'
        self._end(move, result, started=flight.started,
                  finished=self.now(), error=error,
                  migration=migration.id if migration else None,
                  **self._where(move))
        self.report(f'{head}: {error}')
        return True


def _error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
