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
"""``nova-scale-ext defrag``: consolidate a cloud by live migration.

``plan``   reads the cloud and prints which few servers to move where, and
           what that buys; it changes nothing. ``--json FILE`` saves the
           plan with the snapshot it was made from.
``apply``  checks a saved plan against the cloud as it is now (a plan that
           no longer holds is refused, naming the move), then live-migrates
           each server to its target through Nova's API without force, so
           that Nova's scheduler checks every move; it stops at the first
           failure and journals every move (JSON lines).
``keep``   plans and applies the fewest moves that give room for K more
           servers of a flavor: once (cron), or every ``--every``; with
           ``--drain`` each pass then empties hosts with what its budget
           has left, keeping that room (with ``--drain-spare F``, only
           while the free capacity is F times that room).

Admin credentials of a ``clouds.yaml`` cloud (``--os-cloud`` or
``OS_CLOUD``) are needed; see doc/source/defrag.rst.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import math
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cliff import command

from nova_scale_ext import cloud as cloud_mod
from nova_scale_ext import defrag
from nova_scale_ext.cmd import connection, display
from nova_scale_ext.conf import filters as filters_conf
from nova_scale_ext.conf import isolation as isolation_conf
from nova_scale_ext.core import isolation
from nova_scale_ext.defrag import apply as apply_mod
from nova_scale_ext.defrag import cluster as cluster_mod

FILE_FORMAT = 'nova-scale-ext-defrag-plan-file'
FILE_VERSION = 1
_UNITS = {'': 1.0, 's': 1.0, 'm': 60.0, 'h': 3600.0, 'd': 86400.0}


class UsageError(Exception):
    """A bad argument found after parsing (exit status 2)."""


class CloudFailure(Exception):
    """The cloud could not be read or used (exit status 1)."""


# --- arguments ------------------------------------------------------------


def interval(text: str) -> float:
    """``600``, ``30s``, ``10m``, ``2h``, ``1d`` as seconds."""
    match = re.fullmatch(r'\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*', text or '')
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f'{text!r}: expected a duration such as 600, 30s, 10m or 2h')
    return float(match.group(1)) * _UNITS[match.group(2)]


def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f'{text!r}: expected a whole number from {minimum}')
        return value
    return parse


def _share(text: str) -> float:
    try:
        return defrag.parse_share(text, '')
    except defrag.PlanError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _spare(text: str) -> float:
    try:
        return defrag.parse_spare(text, repr(text))
    except defrag.PlanError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _gib(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f'{text!r}: expected a number of GiB from 0')
    return value


def headroom_shares(text: str) -> tuple[float, float, float]:
    parts = text.split(':')
    try:
        shares = tuple(float(p) for p in parts)
    except ValueError:
        shares = ()
    if len(shares) != 3 or not all(
            math.isfinite(s) and 0.0 <= s <= filters_conf.MAX_HEADROOM
            for s in shares):
        raise argparse.ArgumentTypeError(
            f'{text!r}: expected VCPU:MEMORY:DISK shares from 0 to '
            f'{filters_conf.MAX_HEADROOM}, '
            'for example 0:0.2:0')
    return shares          # type: ignore[return-value]


def _room(text: str) -> str:
    name, sep, count = text.rpartition(':')
    if not sep or not name or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(
            f'{text!r}: expected FLAVOR:K, for example m1.xlarge:2')
    return text


# --- the plan file -----------------------------------------------------------


@dataclasses.dataclass
class PlanFile:
    """A plan, the snapshot it was made from and how it was made."""

    plan: defrag.Plan
    snapshot: defrag.Snapshot
    cloud: str | None = None
    aggregate: str | None = None
    headroom: tuple[float, float, float] = (0.0, 0.0, 0.0)
    names: dict[str, str] = dataclasses.field(default_factory=dict)
    created: str = ''

    def dumps(self) -> str:
        return json.dumps({
            'format': FILE_FORMAT, 'version': FILE_VERSION,
            'created': self.created, 'cloud': self.cloud,
            'aggregate': self.aggregate, 'headroom': list(self.headroom),
            'names': self.names, 'plan': self.plan.to_dict(),
            'snapshot': self.snapshot.to_dict()}, indent=1)

    @classmethod
    def load(cls, path: str) -> PlanFile:
        try:
            text = Path(path).read_text(encoding='utf-8')
        except OSError as exc:
            raise UsageError(f'{path}: {exc.strerror or exc}') from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f'{path}: not JSON: {exc}') from None
        if not isinstance(data, dict) or data.get('format') != FILE_FORMAT:
            raise UsageError(f'{path}: not a plan of nova-scale-ext defrag '
                             'plan --json')
        if data.get('version') != FILE_VERSION:
            raise UsageError(f'{path}: version {data.get("version")!r}; '
                             f'expected {FILE_VERSION}')
        try:
            plan = defrag.Plan.from_dict(data.get('plan'))
            snap = defrag.Snapshot.from_dict(data.get('snapshot'))
            headroom = tuple(float(h) for h in data.get('headroom') or
                             (0.0, 0.0, 0.0))
            if len(headroom) != 3:
                raise ValueError('headroom: expected three shares')
        except (defrag.PlanError, defrag.SnapshotError, TypeError,
                ValueError) as exc:
            raise UsageError(f'{path}: {exc}') from None
        names = data.get('names') or {}
        return cls(plan, snap, data.get('cloud'), data.get('aggregate'),
                   headroom,            # type: ignore[arg-type]
                   {str(k): str(v) for k, v in names.items()}
                   if isinstance(names, dict) else {},
                   str(data.get('created') or ''))


# --- the cloud ---------------------------------------------------------------


def read_cloud(conn: Any, name: str | None, aggregate: str | None,
               headroom: tuple[float, float, float]
               ) -> tuple[cloud_mod.Cloud, defrag.Snapshot]:
    """The cloud and the planner's snapshot of it (of one aggregate)."""
    view = cloud_mod.fetch(conn, topology=True, source=name or '')
    try:
        snap = cloud_mod.snapshot(view, headroom)
    except defrag.SnapshotError as exc:
        raise CloudFailure(f'cloud {name!r} cannot be planned: {exc}') \
            from None
    if aggregate:
        if aggregate not in {a.name for a in snap.aggregates}:
            raise UsageError(f'--aggregate {aggregate}: no such aggregate '
                             'with compute hosts')
        snap = snap.scoped(aggregate)
    return view, snap


@contextlib.contextmanager
def stop_on_interrupt(stop: threading.Event, say):
    """The first Ctrl-C sets ``stop``; the second interrupts."""
    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        say('interrupted: stopping after the migrations in flight '
            '(Ctrl-C again to stop waiting for them)')
    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:              # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --- output ----------------------------------------------------------------


def _short(instance: str, names: dict[str, str]) -> str:
    name = names.get(instance)
    return f'{name} ({instance[:8]})' if name else instance


def format_plan(plan: defrag.Plan, names: dict[str, str],
                snapshot: defrag.Snapshot | None = None) -> str:
    """The plan as a table and what it buys."""
    lines = [f'Goal: {plan.goal.describe()}; '
             + ('reached' if plan.reached else 'NOT reached')
             + f': {plan.why}']
    lines.extend(f'Warning: {w}' for w in plan.warnings)
    rows = [('#', 'step', 'instance', 'GiB', 'from', 'to', 'why')]
    for k, m in enumerate(plan.moves, 1):
        rows.append((str(k), str(m.step), _short(m.instance, names),
                     f'{m.memory_mb / 1024:.1f}', m.source, m.target,
                     m.reason))
    if plan.moves:
        widths = [max(len(r[c]) for r in rows) for c in range(6)]
        for row in rows:
            cells = [row[0].rjust(widths[0]), row[1].rjust(widths[1]),
                     row[2].ljust(widths[2]), row[3].rjust(widths[3]),
                     row[4].ljust(widths[4]), row[5].ljust(widths[5]),
                     row[6]]
            lines.append('  '.join(cells).rstrip())
    else:
        lines.append('No move.')
    buys = [f'{name}: {plan.slots_before.get(name, 0)} -> '
            f'{plan.slots_after.get(name, 0)} fit'
            for name in plan.slots_after]
    buys.append(f'empty hosts: {plan.empty_before} -> {plan.empty_after}')
    if plan.hosts_freed:
        buys.append(f'emptied: {", ".join(plan.hosts_freed)}')
    lines.append('Buys: ' + '; '.join(buys))
    lines.append(f'Moves {plan.migrations} server(s), '
                 f'{plan.memory_gib:.1f} GiB of guest memory, in '
                 f'{plan.steps} step(s); planned in {plan.planning_s:.3f} s'
                 + (f' on {len(snapshot.hosts)} hosts and '
                    f'{len(snapshot.instances)} servers' if snapshot
                    else '') + '.')
    return '\n'.join(lines)


PLAN_COLUMNS = ['#', 'step', 'instance', 'name', 'GiB', 'from', 'to', 'why']


def plan_rows(plan: defrag.Plan, names: dict[str, str]) -> list[list[Any]]:
    """The plan's moves as rows of :data:`PLAN_COLUMNS` (``-f FORMAT``)."""
    return [[k, m.step, m.instance, names.get(m.instance),
             round(m.memory_mb / 1024, 3), m.source, m.target, m.reason]
            for k, m in enumerate(plan.moves, 1)]


# --- commands ---------------------------------------------------------------


def _budget(args: argparse.Namespace) -> defrag.Budget:
    return defrag.Budget(max_migrations=args.max_migrations,
                         max_memory_gib=args.max_memory_gib)


def _goal(words: list[str], snap: defrag.Snapshot) -> defrag.Goal:
    try:
        return defrag.Goal.parse(words, snap.flavors)
    except defrag.PlanError as exc:
        raise UsageError(f'--goal: {exc}') from None


def read_saved(args: argparse.Namespace) -> defrag.Snapshot:
    """``--snapshot FILE``, scoped to ``--aggregate``."""
    if tuple(args.headroom) != (0.0, 0.0, 0.0):
        raise UsageError('--headroom: a snapshot carries its hosts\' '
                         'headroom; give --headroom to nova-scale-ext '
                         'snapshot')
    try:
        snap = defrag.Snapshot.load(args.snapshot)
    except defrag.SnapshotError as exc:
        raise UsageError(f'--snapshot {exc}') from None
    if args.aggregate:
        if args.aggregate not in {a.name for a in snap.aggregates}:
            raise UsageError(f'--aggregate {args.aggregate}: not an '
                             'aggregate of the snapshot')
        snap = snap.scoped(args.aggregate)
    return snap


def cmd_plan(args: argparse.Namespace, conn: Any) -> int:
    """A plan of the cloud ``conn`` reaches, or (``conn`` None) of the
    saved ``--snapshot``."""
    if conn is None:
        snap, names = read_saved(args), {}
    else:
        view, snap = read_cloud(conn, args.os_cloud, args.aggregate,
                                args.headroom)
        names = view.names()
    goal = _goal(args.goal, snap)
    plan = defrag.plan(snap, goal, _budget(args), isolation=args.isolation)
    text = getattr(args, 'formatter', display.TEXT) == display.TEXT
    if text:
        print(format_plan(plan, names, snap))
    else:
        try:
            display.emit(args, PLAN_COLUMNS, plan_rows(plan, names))
        except display.CommandError as exc:
            raise UsageError(str(exc)) from None
    # with -f FORMAT, standard output carries the rows only
    say = print if text else functools.partial(print, file=sys.stderr)
    if args.json:
        keep = {m.instance for m in plan.moves}
        data = PlanFile(plan, snap, args.os_cloud, args.aggregate,
                        args.headroom,
                        {k: v for k, v in names.items() if k in keep},
                        apply_mod.utc_now())
        Path(args.json).write_text(data.dumps() + '\n', encoding='utf-8')
        say(f'Nothing changed. Saved to {args.json}; carry it out with: '
            f'{args.prog_base} apply {args.json}')
    else:
        say('Nothing changed.')
    return 0


def _journal_path(args: argparse.Namespace) -> str:
    if args.journal:
        return args.journal
    path = Path(args.plan)
    return str(path.with_name(path.stem + '.journal.jsonl'))


def _run_moves(conn: Any, view: cloud_mod.Cloud, snap: defrag.Snapshot,
               moves: tuple[defrag.Move, ...], names: dict[str, str],
               args: argparse.Namespace, journal: apply_mod.Journal,
               stop: threading.Event, say) -> apply_mod.Outcome:
    requests = {i.id: dict(i.resources) for i in snap.instances}
    applier = apply_mod.Applier(
        cloud_mod.LiveMigrations(conn, view), moves, requests,
        concurrency=args.concurrency, journal=journal, report=say,
        names=names, poll_s=args.poll, timeout_s=args.timeout, stop=stop)
    with stop_on_interrupt(stop, say):
        return applier.run()


def _say(line: str) -> None:
    print(line, flush=True)


def cmd_apply(args: argparse.Namespace, conn: Any, saved: PlanFile
              ) -> int:
    name = args.os_cloud or saved.cloud or os.environ.get('OS_CLOUD')
    journal = apply_mod.Journal(_journal_path(args))
    view, snap = read_cloud(conn, name, saved.aggregate, saved.headroom)
    names = dict(saved.names)
    names.update({k: v for k, v in view.names().items() if k in names})
    where = {i.id: i.host for i in snap.instances}
    planned_at = {i.id: i.host for i in saved.snapshot.instances}
    moves = saved.plan.moves
    todo = []
    for k, move in enumerate(moves, 1):
        if (where.get(move.instance) == move.target
                and planned_at.get(move.instance) == move.source):
            journal.write(apply_mod.record(
                move, apply_mod.ALREADY_DONE,
                name=names.get(move.instance, ''),
                error=f'already on {move.target}'))
            _say(f'[{k}/{len(moves)}] {_short(move.instance, names)}: '
                 f'already on {move.target}')
        else:
            todo.append(move)
    rest = dataclasses.replace(saved.plan, moves=tuple(todo))
    verdict = defrag.verify(snap, rest, isolation=args.isolation)
    if not verdict.ok:
        move = rest.moves[verdict.index]
        number = moves.index(move) + 1
        journal.write(apply_mod.record(
            move, apply_mod.STALE, name=names.get(move.instance, ''),
            finished=apply_mod.utc_now(), error=verdict.reason))
        print(f'{args.prog_base} apply: {args.plan} no longer holds: '
              f'move {number} ({_short(move.instance, names)} '
              f'{move.source} -> {move.target}): {verdict.reason}; '
              'nothing was moved; plan again', file=sys.stderr)
        return 1
    if not todo:
        _say('Every move of the plan is done already.')
        return 0
    _say(f'Applying {len(todo)} move(s) of {args.plan} to cloud {name!r}, '
         f'{args.concurrency} at once; journal: {journal.path}')
    stop = threading.Event()
    outcome = _run_moves(conn, view, snap, tuple(todo), names, args,
                         journal, stop, _say)
    done = outcome.count(apply_mod.MIGRATED)
    if outcome.stopped:
        print(f'{args.prog_base} apply: stopped at '
              f'{outcome.stopped.rstrip(".")}; '
              f'{done} of {len(todo)} move(s) done; every server is on its '
              f'source or its target; journal: {journal.path}',
              file=sys.stderr)
        return 1
    if outcome.interrupted:
        print(f'{args.prog_base} apply: interrupted; {done} of '
              f'{len(todo)} move(s) done; journal: {journal.path}',
              file=sys.stderr)
        return 130
    _say(f'Done: {done} server(s) moved; journal: {journal.path}')
    return 0


@dataclasses.dataclass
class PerBoot:
    """``keep --per-boot``: what the passes have seen and spent."""

    share: float
    seen: set[str] | None = None
    boots: int = 0
    moved: int = 0

    def left(self, snap: defrag.Snapshot) -> int:
        """Migrations this pass may make: the share of the servers seen
        to start since the first pass, less those already made."""
        ids = {i.id for i in snap.instances}
        if self.seen is None:
            self.seen = ids
        else:
            self.boots += len(ids - self.seen)
            self.seen |= ids
        return defrag.per_boot_left(self.share, self.boots, self.moved)


def _carry_out(conn: Any, view: cloud_mod.Cloud, snap: defrag.Snapshot,
               plan: defrag.Plan, args: argparse.Namespace,
               stop: threading.Event, say, per_boot: PerBoot | None,
               prefix: str = '') -> int | None:
    """Apply a keep pass's plan, journaled; the servers moved, or None
    (said why) when a move failed or Ctrl-C stopped it."""
    journal = apply_mod.Journal(args.journal)
    outcome = _run_moves(conn, view, snap, plan.moves, view.names(), args,
                         journal, stop, say)
    done = outcome.count(apply_mod.MIGRATED)
    if per_boot is not None:
        per_boot.moved += done
    if not outcome.ok:
        say(f'{prefix}stopped after {done} of {plan.migrations} move(s): '
            + (outcome.stopped or 'interrupted'))
        return None
    return done


def keep_pass(conn: Any, args: argparse.Namespace, stop: threading.Event,
              say, per_boot: PerBoot | None = None) -> bool:
    """One pass of ``keep``; True when the room is there at its end (and,
    with ``--drain``, the drain's moves all succeeded)."""
    view, snap = read_cloud(conn, args.os_cloud, args.aggregate,
                            args.headroom)
    goal = _goal(['room', *args.room], snap)
    if args.whole:
        goal = dataclasses.replace(goal, whole=True)
    budget = _budget(args)
    if per_boot is not None:
        left = per_boot.left(snap)
        if budget.max_migrations is None or left < budget.max_migrations:
            budget = dataclasses.replace(budget, max_migrations=left)
        say(f'per-boot budget: {left} migration(s) left ({per_boot.boots} '
            f'server(s) started, {per_boot.moved} moved)')
    plan = defrag.plan(snap, goal, budget, isolation=args.isolation)
    for warning in plan.warnings:
        say(f'warning: {warning}')
    slots = ', '.join(f'{t.name} {plan.slots_before.get(t.name, 0)} of '
                      f'{t.count}' for t in goal.room)
    if not plan.moves:
        say(f'room {slots} fit; ' + ('nothing to move' if plan.reached
                                     else f'cannot do better: {plan.why}'))
    else:
        say(f'room {slots} fit; moving {plan.migrations} server(s), '
            f'{plan.memory_gib:.1f} GiB' + ('' if plan.reached else
                                            f' (partial: {plan.why})'))
        done = _carry_out(conn, view, snap, plan, args, stop, say,
                          per_boot)
        if done is None:
            return False
        after = ', '.join(f'{t.name} {plan.slots_after.get(t.name, 0)}'
                          for t in goal.room)
        say(f'moved {done} server(s); room now {after} (as planned)')
    if not plan.reached:
        return False
    if args.drain and not stop.is_set():
        return drain_pass(conn, args, stop, say, goal.room, plan, per_boot)
    return True


def drain_pass(conn: Any, args: argparse.Namespace, stop: threading.Event,
               say, room: tuple[defrag.RoomTarget, ...], spent: defrag.Plan,
               per_boot: PerBoot | None) -> bool:
    """``keep --drain``: after the room is there, empty hosts with what the
    pass has left of its budget (``spent`` is the room's plan), never
    leaving less room than it keeps; with ``--per-boot``, never bringing
    all migrations so far above :data:`~nova_scale_ext.defrag.DRAIN_PART`
    of it. The cloud is read again: the room's moves have changed it.
    False when a move failed."""
    budget = _budget(args)
    most = budget.max_migrations
    if most is not None:
        most = max(most - spent.migrations, 0)
    if per_boot is not None:
        caps = (defrag.per_boot_left(per_boot.share, per_boot.boots,
                                     per_boot.moved),
                defrag.per_boot_left(per_boot.share * defrag.DRAIN_PART,
                                     per_boot.boots, per_boot.moved))
        most = min(caps) if most is None else min(most, *caps)
    memory = budget.max_memory_gib
    if memory is not None:
        memory = max(memory - spent.memory_gib, 0.0)
    if most == 0 or memory == 0.0:
        say('drain: no migration left in the budget')
        return True
    budget = dataclasses.replace(budget, max_migrations=most,
                                 max_memory_gib=memory)
    view, snap = read_cloud(conn, args.os_cloud, args.aggregate,
                            args.headroom)
    if args.drain_spare is not None:
        state = cluster_mod.State(cluster_mod.Cluster.from_snapshot(snap))
        short = defrag.spare_short(state.free().sum(axis=0), room,
                                   args.drain_spare)
        if short is not None:
            say(f'drain: not now, {short}')
            return True
    plan = defrag.plan(snap, defrag.Goal.free_hosts(room=room), budget,
                       isolation=args.isolation)
    for warning in plan.warnings:
        say(f'warning: {warning}')
    if not plan.moves:
        say(f'drain: {plan.empty_before} host(s) empty; nothing to move '
            f'({plan.why})')
        return True
    say(f'drain: emptying {len(plan.hosts_freed)} host(s) '
        f'({", ".join(plan.hosts_freed)}) by moving {plan.migrations} '
        f'server(s), {plan.memory_gib:.1f} GiB')
    done = _carry_out(conn, view, snap, plan, args, stop, say, per_boot,
                      'drain: ')
    if done is None:
        return False
    say(f'drain: moved {done} server(s); {plan.empty_after} host(s) now '
        'empty (as planned)')
    return True


def cmd_keep(args: argparse.Namespace, connect) -> int:
    stop = threading.Event()

    def say(line: str) -> None:
        _say(f'{apply_mod.utc_now()} {line}')

    if args.drain_spare is not None and not args.drain:
        raise UsageError('--drain-spare needs --drain')
    per_boot = None
    if args.per_boot is not None:
        if args.every is None:
            raise UsageError('--per-boot needs --every: it counts the servers '
                             'started while keep runs')
        per_boot = PerBoot(args.per_boot)
    passes = 0
    while True:
        passes += 1
        began = time.monotonic()
        ok = False
        try:
            conn = connect(args.os_cloud)
            try:
                ok = keep_pass(conn, args, stop, say, per_boot)
            finally:
                with contextlib.suppress(Exception):
                    conn.close()
        except UsageError:
            if args.every is None or passes == 1:
                raise
            say('pass failed: ' + str(sys.exc_info()[1]))
        except (CloudFailure, *connection.cloud_errors()) as exc:
            message = (str(exc) if isinstance(exc, CloudFailure)
                       else connection.describe(args.os_cloud, exc))
            if args.every is None:
                raise CloudFailure(message) from None
            say(f'pass failed: {message}')
        if args.every is None:
            return 0 if ok else 1
        if stop.is_set():
            say('stopped')
            return 130
        wait = max(args.every - (time.monotonic() - began), 0.0)
        say(f'next pass in {wait:.0f} s')
        with stop_on_interrupt(stop, lambda line: say('interrupted: '
                                                      'stopping')):
            deadline = time.monotonic() + wait
            while not stop.is_set() and time.monotonic() < deadline:
                time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
        if stop.is_set():
            say('stopped')
            return 130


def run(args: argparse.Namespace, connect=None,
        prog_base: str = 'nova-scale-ext defrag') -> int:
    """Entry point of the three subcommands (``connect(name)`` gives an
    openstacksdk connection: OpenStackClient's, or a test's)."""
    args.prog_base = prog_base
    prog = f'{prog_base} {args.action}'
    offline = args.action == 'plan' and args.snapshot
    if not offline:
        connect = connection.connector(connect, prog)
        if connect is None:
            return 1
    name = args.os_cloud
    try:
        args.isolation = isolation_conf.read_policy(
            isolation_conf.config_files(args.config_files))
    except isolation.PolicyError as exc:
        print(f'{prog}: the isolation policy cannot be read: {exc}',
              file=sys.stderr)
        return 2
    try:
        if args.action == 'keep':
            return cmd_keep(args, connect)
        if offline:
            return cmd_plan(args, None)
        saved = None
        if args.action == 'apply':
            saved = PlanFile.load(args.plan)
            name = (args.os_cloud or saved.cloud
                    or os.environ.get('OS_CLOUD'))
        conn = connect(name)
        try:
            if saved is not None:
                return cmd_apply(args, conn, saved)
            return cmd_plan(args, conn)
        finally:
            with contextlib.suppress(Exception):
                conn.close()
    except UsageError as exc:
        print(f'{prog}: {exc}', file=sys.stderr)
        return 2
    except CloudFailure as exc:
        print(f'{prog}: {exc}', file=sys.stderr)
        return 1
    except connection.cloud_errors() as exc:
        print(f'{prog}: {connection.describe(name, exc)}', file=sys.stderr)
        return 1
    except OSError as exc:
        print(f'{prog}: {exc}', file=sys.stderr)
        return 1


def _add_cloud(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--os-cloud', default=os.environ.get('OS_CLOUD'),
                        metavar='NAME',
                        help='cloud of clouds.yaml to use (default: '
                             '$OS_CLOUD)')


def _add_isolation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--config-file', dest='config_files',
                        metavar='NOVA_CONF', action='append', default=[],
                        help='nova.conf whose [scale_ext_isolation] policy '
                             'no move may break (repeatable; default: '
                             f'{isolation_conf.DEFAULT_CONFIG} when it '
                             'exists)')


def _add_scope(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--max-migrations', type=_count(0), metavar='M',
                        help='at most M live migrations (default: no '
                             'limit)')
    parser.add_argument('--max-memory-gib', type=_gib, metavar='G',
                        help='at most G GiB of guest memory moved '
                             '(default: no limit)')
    parser.add_argument('--aggregate', metavar='NAME',
                        help='plan within the hosts of this aggregate')
    parser.add_argument('--headroom', type=headroom_shares, default=(0.0, 0.0,
                                                               0.0),
                        metavar='VCPU:MEMORY:DISK',
                        help='the [scale_ext_filters] headroom shares of '
                             'nova.conf, which the API does not show '
                             '(aggregate metadata still overrides them); '
                             'default 0:0:0')


def _add_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--concurrency', type=_count(1), default=1,
                        metavar='C',
                        help='live migrations at once (default 1; Nova '
                             'runs [DEFAULT] max_concurrent_live_migrations '
                             'per compute and queues the others)')
    parser.add_argument('--timeout', type=interval, default=3600.0,
                        metavar='DURATION',
                        help='stop when a migration takes longer (default '
                             '1h)')
    parser.add_argument('--poll', type=interval, default=2.0,
                        metavar='DURATION', help=argparse.SUPPRESS)


def plan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--goal', nargs='+', default=['free-hosts'],
                        metavar='GOAL',
                        help='free-hosts [N] (empty as many hosts as '
                             'possible, or N), room FLAVOR:N [...] '
                             '(N more servers of FLAVOR fit) or isolate '
                             '(end every host where an isolated group of '
                             '--config-file shares a host with others); '
                             'default free-hosts')
    _add_scope(parser)
    _add_isolation(parser)
    display.add_snapshot_option(parser, 'plan on')
    parser.add_argument('--json', metavar='PLAN.json',
                        help='save the plan and the snapshot it was made '
                             'from, for apply')
    display.add_format_options(parser)


def apply_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('plan', metavar='PLAN.json',
                        help='a plan saved by defrag plan --json')
    parser.add_argument('--journal', metavar='FILE',
                        help='append a JSON line per move here (default: '
                             'PLAN.journal.jsonl beside the plan)')
    _add_isolation(parser)
    _add_run(parser)


def keep_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--room', type=_room, action='append',
                        required=True, metavar='FLAVOR:K',
                        help='room for K servers of FLAVOR (repeatable)')
    parser.add_argument('--every', type=interval, metavar='DURATION',
                        help='run a pass every DURATION (600, 30s, 10m, 2h) '
                             'until Ctrl-C; default: one pass')
    parser.add_argument('--per-boot', type=_share, metavar='P%',
                        help='all passes together migrate at most P%% of '
                             'the servers seen to start while keep runs '
                             '(needs --every; the first pass only counts)')
    parser.add_argument('--whole', action='store_true',
                        help='restore the room of each FLAVOR in full or '
                             'not at all (default: also make the moves that '
                             'open part of it)')
    parser.add_argument('--drain', action='store_true',
                        help='once the room is there, empty hosts with what '
                             'the pass has left of its budget, never leaving '
                             'less room than asked (with --per-boot, only '
                             'while the passes have spent less than half of '
                             'it)')
    parser.add_argument('--drain-spare', type=_spare, metavar='F',
                        help='drain only while the free capacity of the '
                             'hosts in scope is at least F times what the '
                             'room takes, in each resource the room asks '
                             'for (hosts to spare beyond the room); from 1 '
                             'to 1000, with --drain')
    _add_scope(parser)
    _add_isolation(parser)
    parser.add_argument('--journal', metavar='FILE',
                        help='append a JSON line per move here')
    _add_run(parser)


PLAN_HELP = ('Read the cloud and print a consolidation plan: what moves, '
             'from where, to where, why, and what it buys. Nothing is '
             'changed.')
APPLY_HELP = ('Check a saved plan against the cloud as it is now, then '
              'live-migrate each server to its target through Nova\'s '
              'scheduler (no force), stopping at the first failure. Ctrl-C '
              'stops after the migrations in flight.')
KEEP_HELP = ('Plan and apply the fewest moves that give room for K more '
             'servers of each FLAVOR: once (for cron), or every DURATION '
             'until Ctrl-C, logging each pass and carrying on when the '
             'cloud cannot be reached.')


class _Defrag(command.Command):
    """``openstack scale-ext defrag ACTION`` (the commands of
    ``nova-scale-ext defrag``, on OpenStackClient's connection)."""

    action = ''
    add_options: Any = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        type(self).add_options(parser)
        return parser

    def take_action(self, parsed_args):
        parsed_args.action = self.action
        parsed_args.os_cloud = None
        manager = self.app.client_manager
        return run(parsed_args,
                   connect=connection.borrowed(manager),
                   prog_base='openstack scale-ext defrag')


class DefragPlan(_Defrag):
    __doc__ = PLAN_HELP
    action = 'plan'
    add_options = staticmethod(plan_options)


class DefragApply(_Defrag):
    __doc__ = APPLY_HELP
    action = 'apply'
    add_options = staticmethod(apply_options)


class DefragKeep(_Defrag):
    __doc__ = KEEP_HELP
    action = 'keep'
    add_options = staticmethod(keep_options)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'defrag', help='consolidate a cloud by live migration',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest='action', metavar='ACTION',
                                    required=True)
    plan = actions.add_parser(
        'plan', help='print which servers to move (changes nothing)',
        description=PLAN_HELP)
    _add_cloud(plan)
    plan_options(plan)
    plan.set_defaults(func=run)
    apply = actions.add_parser(
        'apply', help='carry out a saved plan by live migration',
        description=APPLY_HELP)
    apply.add_argument('--os-cloud', metavar='NAME',
                       help='cloud of clouds.yaml to use (default: the '
                            "plan's, else $OS_CLOUD)")
    apply_options(apply)
    apply.set_defaults(func=run)
    keep = actions.add_parser(
        'keep', help='keep room for K servers of a flavor',
        description=KEEP_HELP)
    _add_cloud(keep)
    keep_options(keep)
    keep.set_defaults(func=run)
    return parser
