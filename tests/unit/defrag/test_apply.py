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
"""The applier on an in-memory cloud: every move through Nova's API
without force, the first surprise stops the run, every move journaled.

The cloud is :mod:`tests.unit.fake_openstack` behind
:class:`nova_scale_ext.cloud.LiveMigrations`, as ``defrag apply`` uses it.
"""

import json
import threading

import pytest

from nova_scale_ext import cloud as cloud_mod
from nova_scale_ext import defrag
from nova_scale_ext.defrag import apply
from tests.unit.fake_openstack import FakeCloud, FakeConnection

GIB = 1024


def fleet(polls=2):
    """a, b, c and d of 16 vCPU / 16 GiB; a holds a1 and a2, b holds b1."""
    fake = FakeCloud(polls=polls)
    for name in 'abcd':
        fake.add_host(name)
    fake.add_flavor('small', 1, 2 * GIB)
    fake.add_flavor('mid', 2, 4 * GIB)
    fake.boot('a1', 'a', 'small')
    fake.boot('a2', 'a', 'mid')
    fake.boot('b1', 'b', 'small')
    return fake


def move(fake, name, target, step=1):
    sid = fake.id_of(name)
    server = fake.servers[sid]
    return defrag.Move(sid, server.compute_host, target, step,
                       f'test move of {name}', server.flavor.ram)


class Clock:
    """Virtual time: each sleep advances it."""

    def __init__(self):
        self.t = 0.0

    def sleep(self, seconds):
        self.t += seconds

    def __call__(self):
        return self.t


def applier(fake, moves, **kw):
    conn = FakeConnection(fake)
    view = cloud_mod.fetch(conn, topology=True)
    snap = cloud_mod.snapshot(view)
    requests = {i.id: dict(i.resources) for i in snap.instances}
    clock = Clock()
    lines = []
    kw.setdefault('sleep', clock.sleep)
    run = apply.Applier(cloud_mod.LiveMigrations(conn, view), tuple(moves),
                        requests, report=lines.append, names=view.names(),
                        poll_s=1.0, clock=clock, **kw)
    run.lines = lines
    return run


def results(outcome):
    return [(r['name'], r['result']) for r in outcome.records]


def test_moves_run_in_order_through_the_scheduler_without_force():
    fake = fleet()
    run = applier(fake, [move(fake, 'a1', 'c'), move(fake, 'a2', 'c', 2)])
    outcome = run.run()
    assert outcome.ok and results(outcome) == [('a1', 'migrated'),
                                               ('a2', 'migrated')]
    assert fake.host_of('a1') == fake.host_of('a2') == 'c'
    assert [(c[1], c[2]) for c in fake.live_migrate_calls] == [
        ('c', 'auto'), ('c', 'auto')]
    assert fake.used('a')['MEMORY_MB'] == 0
    assert fake.used('c')['MEMORY_MB'] == 6 * GIB


def test_a_move_ends_only_once_nova_has_released_the_source():
    fake = fleet()
    fake.release_polls = 2
    run = applier(fake, [move(fake, 'a2', 'c')])
    outcome = run.run()
    assert outcome.ok and run.lines[-1].endswith(': on c after 4.0 s')


def test_each_migration_reports_its_progress_and_where_it_ended():
    fake = fleet(polls=3)
    run = applier(fake, [move(fake, 'a2', 'c')])
    run.run()
    assert run.lines[0].startswith('[1/1] a2 (') and \
        run.lines[0].endswith('a -> c: started (4.0 GiB, step 1)')
    assert any(line.endswith(': running (1 s)') for line in run.lines)
    assert run.lines[-1].endswith(': on c after 3.0 s')


def test_a_journal_record_says_what_where_when_and_how_it_ended(tmp_path):
    fake = fleet()
    path = tmp_path / 'journal.jsonl'
    run = applier(fake, [move(fake, 'a1', 'c')],
                  journal=apply.Journal(str(path)),
                  now=lambda: '2026-12-02T10:00:00+00:00')
    run.run()
    (line,) = path.read_text().splitlines()
    record = json.loads(line)
    assert record['instance'] == fake.id_of('a1')
    assert {k: record[k] for k in ('name', 'source', 'target', 'result',
                                   'started', 'finished', 'error')} == {
        'name': 'a1', 'source': 'a', 'target': 'c', 'result': 'migrated',
        'started': '2026-12-02T10:00:00+00:00',
        'finished': '2026-12-02T10:00:00+00:00', 'error': ''}
    assert record['migration'] == fake.migrations[0].id


def test_a_move_nova_refuses_stops_the_run_in_novas_own_words():
    fake = fleet()
    fake.refuse[fake.id_of('a1')] = 'No valid host was found. Anti-noise.'
    outcome = applier(fake, [move(fake, 'a1', 'c'),
                             move(fake, 'a2', 'c', 2)]).run()
    assert results(outcome) == [('a1', 'failed'), ('a2', 'not-started')]
    first = outcome.records[0]
    assert first['error'] == ('refused: HTTP 400: No valid host was found. '
                              'Anti-noise.')
    assert first['now'] == {'host': 'a', 'status': 'ACTIVE'}
    assert outcome.stopped.startswith('move 1: refused: HTTP 400')
    assert len(fake.live_migrate_calls) == 1
    assert {s.status for s in fake.servers.values()} == {'ACTIVE'}


def test_a_migration_that_ends_in_error_leaves_the_server_on_its_source():
    fake = fleet()
    fake.fail.add(fake.id_of('a1'))
    outcome = applier(fake, [move(fake, 'a1', 'c'),
                             move(fake, 'a2', 'd', 2)]).run()
    assert results(outcome) == [('a1', 'failed'), ('a2', 'not-started')]
    assert 'ended in status error' in outcome.records[0]['error']
    assert outcome.records[0]['now'] == {'host': 'a', 'status': 'ACTIVE'}
    assert fake.used('c')['MEMORY_MB'] == 0     # the claim was dropped


def test_an_instance_deleted_meanwhile_stops_the_run_before_its_move():
    fake = fleet()
    a2 = fake.id_of('a2')
    fake.on_migrate.append(lambda sid, target: a2 in fake.servers
                           and fake.delete(a2))
    outcome = applier(fake, [move(fake, 'a1', 'c'),
                             move(fake, 'a2', 'c', 2),
                             move(fake, 'b1', 'c', 3)]).run()
    assert results(outcome) == [('a1', 'migrated'),
                                ('a2', 'precondition-failed'),
                                ('b1', 'not-started')]
    assert outcome.records[1]['error'] == f'instance {a2} no longer exists'
    assert len(fake.live_migrate_calls) == 1


def test_a_target_disabled_meanwhile_is_never_asked_for():
    fake = fleet()
    fake.on_migrate.append(lambda sid, target: fake.disable('d'))
    outcome = applier(fake, [move(fake, 'a1', 'c'),
                             move(fake, 'a2', 'd', 2)]).run()
    assert results(outcome) == [('a1', 'migrated'),
                                ('a2', 'precondition-failed')]
    assert outcome.records[1]['error'] == 'target d is disabled'
    assert [c[1] for c in fake.live_migrate_calls] == ['c']


def test_a_target_filled_meanwhile_is_never_asked_for():
    fake = fleet()
    fake.add_flavor('huge', 8, 14 * GIB)
    fake.on_migrate.append(lambda sid, target: fake.boot('x', 'd', 'huge'))
    outcome = applier(fake, [move(fake, 'a1', 'c'),
                             move(fake, 'a2', 'd', 2)]).run()
    assert outcome.records[1]['error'] == ('no room on d: MEMORY_MB 2048 '
                                           'free, 4096 needed')


def test_a_server_moved_by_someone_else_is_not_moved_again():
    fake = fleet()
    planned = move(fake, 'a1', 'c')
    fake.servers[fake.id_of('a1')].compute_host = 'b'
    outcome = applier(fake, [planned]).run()
    assert outcome.records[0]['error'] == (
        f'instance {fake.id_of("a1")} is on b, not on a')


def test_a_stop_request_ends_the_run_after_the_migrations_in_flight():
    fake = fleet()
    stop = threading.Event()
    fake.on_migrate.append(lambda sid, target: stop.set())
    outcome = applier(fake, [move(fake, 'a1', 'c'), move(fake, 'a2', 'd')],
                      stop=stop, concurrency=1).run()
    assert results(outcome) == [('a1', 'migrated'), ('a2', 'not-started')]
    assert outcome.interrupted and not outcome.stopped
    assert outcome.records[1]['error'] == 'stopped on request'


def test_a_second_interrupt_stops_waiting_and_says_so():
    fake = fleet(polls=50)

    def sleep(seconds):
        raise KeyboardInterrupt

    outcome = applier(fake, [move(fake, 'a1', 'c'), move(fake, 'a2', 'd')],
                      sleep=sleep).run()
    assert results(outcome) == [('a1', 'abandoned'), ('a2', 'not-started')]
    assert outcome.interrupted


def test_moves_of_one_step_run_together_and_a_step_waits_for_the_last():
    fake = fleet(polls=3)
    in_flight = []
    fake.on_migrate.append(lambda sid, target: in_flight.append(
        sum(1 for s in fake.servers.values() if s.pending)))
    moves = [move(fake, 'a1', 'c'), move(fake, 'b1', 'd'),
             move(fake, 'a2', 'b', 2)]
    outcome = applier(fake, moves, concurrency=3).run()
    assert outcome.ok
    assert in_flight == [1, 2, 1]      # a2 started after step 1 ended


def test_concurrency_caps_the_migrations_at_once():
    fake = fleet(polls=3)
    in_flight = []
    fake.on_migrate.append(lambda sid, target: in_flight.append(
        sum(1 for s in fake.servers.values() if s.pending)))
    outcome = applier(fake, [move(fake, 'a1', 'c'), move(fake, 'b1', 'd')],
                      concurrency=1).run()
    assert outcome.ok and in_flight == [1, 1]


def test_a_cloud_unreachable_while_a_migration_runs_is_read_again():
    fake = fleet(polls=3)
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        fake.unreachable = len(sleeps) == 1

    run = applier(fake, [move(fake, 'a1', 'c')], sleep=sleep)
    outcome = run.run()
    assert outcome.ok and fake.host_of('a1') == 'c'
    assert any('cannot read the cloud: Unable to establish connection'
               in line for line in run.lines)


def test_a_cloud_unreachable_before_a_move_stops_the_run_there():
    fake = fleet()
    run = applier(fake, [move(fake, 'a1', 'c'), move(fake, 'a2', 'd', 2)])
    fake.unreachable = True
    outcome = run.run()
    assert results(outcome) == [('a1', 'precondition-failed'),
                                ('a2', 'not-started')]
    assert outcome.records[0]['error'].startswith(
        'cannot read the cloud: Unable to establish connection')
    assert not fake.live_migrate_calls


def test_a_migration_outlasting_the_timeout_stops_the_run():
    fake = fleet(polls=1000)
    outcome = applier(fake, [move(fake, 'a1', 'c'), move(fake, 'a2', 'd')],
                      timeout_s=5.0).run()
    assert results(outcome) == [('a1', 'timeout'), ('a2', 'not-started')]
    assert outcome.records[0]['error'].startswith(
        'not finished after 5 s (migration running)')


def test_concurrency_below_one_is_refused():
    with pytest.raises(ValueError):
        apply.Applier(None, (), {}, concurrency=0)
