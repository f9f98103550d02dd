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
"""``nova-scale-ext defrag plan|apply|keep`` on an in-memory cloud.

The cloud is :mod:`tests.unit.fake_openstack`, reached through the same
reader as ``capacity`` (:mod:`nova_scale_ext.cloud`); the commands against
a real cloud are tested in tests/e2e/test_defrag.py.
"""

import json
import os
import signal

import pytest

from nova_scale_ext import cloud as cloud_mod
from nova_scale_ext import defrag
from nova_scale_ext.cmd import defrag as cmd
from nova_scale_ext.cmd import main
from tests.unit.fake_openstack import FakeCloud, FakeConnection, connector

GIB = 1024


def fragmented():
    """a, b, c of 16 vCPU / 16 GiB: 10, 10 and 8 GiB in 2 GiB servers.
    A 10 GiB server fits nowhere; one move from c gives it room."""
    fake = FakeCloud()
    for name in 'abc':
        fake.add_host(name)
    fake.add_flavor('small', 1, 2 * GIB)
    fake.add_flavor('big', 8, 10 * GIB)
    for host, count in (('a', 5), ('b', 5), ('c', 4)):
        for k in range(count):
            fake.boot(f'{host}{k}', host, 'small')
    return fake


def run(fake, *argv, cloud='fake'):
    # Poll the fake's migrations without the real two seconds' wait.
    fast = ['--poll', '0.001s'] if argv[0] in ('apply', 'keep') else []
    args = main.build_parser().parse_args(['defrag', *argv, *fast])
    return cmd.run(args, connect=connector(fake, cloud))


def where(fake):
    return {s.name: s.compute_host for s in fake.servers.values()}


# --- the reader -------------------------------------------------------------


def test_the_snapshot_is_read_from_placement_and_nova():
    fake = FakeCloud()
    fake.add_host('a', vcpus=8, cpu_ratio=4.0, reserved_mb=1024, pcpus=4)
    fake.add_host('b', enabled=False)
    fake.add_host('c', up=False)
    fake.add_flavor('pinned', 2, 2 * GIB, disk=20,
                    extra_specs={'hw:cpu_policy': 'dedicated',
                                 'hw:mem_page_size': '2MB'})
    fake.add_flavor('plain', 2, 2 * GIB, disk=20)
    group = fake.add_group('anti-affinity', max_server_per_host=2)
    fake.add_aggregate('zone-1', ['a', 'b'],
                       {'availability_zone': 'z1',
                        'headroom_memory_ratio': '0.25'})
    pinned = fake.boot('p', 'a', 'pinned', group=group)
    volume = fake.boot('v', 'a', 'plain', from_volume=True)
    busy = fake.boot('busy', 'a', 'plain')
    fake.servers[busy].task_state = 'image_snapshot'
    view = cloud_mod.fetch(FakeConnection(fake), topology=True)
    snap = cloud_mod.snapshot(view)

    hosts = snap.host_by_name
    assert hosts['a'].capacity == {'VCPU': 32.0, 'MEMORY_MB': 15360.0,
                                   'DISK_GB': 100.0, 'PCPU': 4.0}
    assert hosts['a'].used['PCPU'] == 2.0 and 'PCPU' not in hosts['b'].used
    assert hosts['a'].headroom == {'MEMORY_MB': 0.25}
    assert [hosts[h].enabled for h in 'abc'] == [True, False, False]
    assert snap.zone_of(hosts['a']) == 'z1' and snap.zone_of(
        hosts['c']) == 'nova'
    by_id = {i.id: i for i in snap.instances}
    assert by_id[pinned].pinned and by_id[pinned].hugepages
    assert by_id[pinned].server_group == group
    assert snap.group_by_id[group].max_server_per_host == 2
    assert by_id[volume].resources == {'VCPU': 2.0, 'MEMORY_MB': 2048.0,
                                       'DISK_GB': 0.0}
    assert not by_id[volume].local_disk and by_id[pinned].local_disk
    assert by_id[busy].state == 'ACTIVE/image_snapshot'
    assert defrag.MovePolicy().why_immovable(by_id[busy]).startswith(
        'state ACTIVE/image_snapshot: only ACTIVE')


def test_capacity_and_defrag_read_the_same_providers():
    fake = fragmented()
    view = cloud_mod.fetch(FakeConnection(fake), topology=True)
    snap = cloud_mod.snapshot(view)
    for provider in view.providers:
        host = snap.host_by_name[provider.name]
        assert host.capacity['MEMORY_MB'] == \
            provider.inventories['MEMORY_MB'].capacity
        assert host.used['MEMORY_MB'] == provider.usages['MEMORY_MB']


# --- plan -------------------------------------------------------------------


def test_plan_prints_what_moves_where_why_and_what_it_buys(capsys):
    fake = fragmented()
    assert run(fake, 'plan', '--os-cloud', 'fake', '--goal', 'room',
               'big:1') == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ('Goal: room big:1; reached: every room target fits')
    assert out[1].split() == ['#', 'step', 'instance', 'GiB', 'from', 'to',
                              'why']
    row = out[2].split()
    assert row[0:2] == ['1', '1'] and row[2].startswith('c')
    assert row[4:7] == ['2.0', 'c', 'a'] or row[4:7] == ['2.0', 'c', 'b']
    assert out[2].endswith('room for big on c')
    assert out[3] == 'Buys: big: 0 -> 1 fit; empty hosts: 0 -> 0'
    assert out[-1] == 'Nothing changed.'
    assert not fake.live_migrate_calls


def test_plan_saves_the_plan_with_its_snapshot(tmp_path, capsys):
    fake = fragmented()
    path = tmp_path / 'plan.json'
    assert run(fake, 'plan', '--os-cloud', 'fake', '--goal', 'free-hosts',
               '--max-migrations', '4', '--json', str(path)) == 0
    saved = cmd.PlanFile.load(str(path))
    assert saved.cloud == 'fake' and saved.plan.budget.max_migrations == 4
    assert saved.plan.hosts_freed == ('c',)
    assert {h.name for h in saved.snapshot.hosts} == {'a', 'b', 'c'}
    assert set(saved.names.values()) == {'c0', 'c1', 'c2', 'c3'}
    assert f'defrag apply {path}' in capsys.readouterr().out


def test_plan_within_an_aggregate_touches_only_its_hosts(capsys):
    fake = fragmented()
    fake.add_aggregate('ab', ['a', 'b'])
    assert run(fake, 'plan', '--os-cloud', 'fake', '--aggregate', 'ab') == 0
    out = capsys.readouterr().out
    assert 'No move.' in out and 'on 2 hosts and 10 servers' in out


# --- apply ------------------------------------------------------------------


def planned(fake, tmp_path, *goal):
    path = tmp_path / 'plan.json'
    assert run(fake, 'plan', '--os-cloud', 'fake', '--goal', *goal,
               '--json', str(path)) == 0
    return path


def journal(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_apply_carries_the_plan_out_and_the_flavor_then_fits(tmp_path,
                                                             capsys):
    fake = fragmented()
    path = planned(fake, tmp_path, 'room', 'big:1')
    assert run(fake, 'apply', str(path)) == 0
    out = capsys.readouterr().out
    assert 'Done: 1 server(s) moved' in out
    records = journal(tmp_path / 'plan.journal.jsonl')
    assert [r['result'] for r in records] == ['migrated']
    assert where(fake)[records[0]['name']] == records[0]['target']
    free_c = 16 * GIB - fake.used('c')['MEMORY_MB']
    assert free_c >= 10 * GIB


def test_apply_refuses_a_plan_that_no_longer_holds(tmp_path, capsys):
    fake = fragmented()
    path = planned(fake, tmp_path, 'free-hosts')
    saved = cmd.PlanFile.load(str(path))
    first = saved.plan.moves[0]
    fake.disable(first.target)
    before = where(fake)
    assert run(fake, 'apply', str(path), '--journal',
               str(tmp_path / 'j.jsonl')) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert (f'no longer holds: move 1 ({saved.names[first.instance]} '
            f'({first.instance[:8]}) c -> {first.target}): target '
            f'{first.target} is disabled; nothing was moved') in err
    assert where(fake) == before and not fake.live_migrate_calls
    (record,) = journal(tmp_path / 'j.jsonl')
    assert record['result'] == 'stale'
    assert record['error'] == f'target {first.target} is disabled'


def test_apply_after_an_instance_was_deleted_says_so_in_one_line(tmp_path,
                                                                 capsys):
    fake = fragmented()
    path = planned(fake, tmp_path, 'room', 'big:1')
    gone = cmd.PlanFile.load(str(path)).plan.moves[0].instance
    fake.delete(gone)
    assert run(fake, 'apply', str(path)) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and f'instance {gone} is gone' in err


def test_apply_stopped_by_nova_names_the_move_and_exits_1(tmp_path, capsys):
    fake = fragmented()
    path = planned(fake, tmp_path, 'free-hosts')
    saved = cmd.PlanFile.load(str(path))
    fake.refuse[saved.plan.moves[1].instance] = 'No valid host was found.'
    assert run(fake, 'apply', str(path)) == 1
    err = capsys.readouterr().err
    assert 'stopped at move 2: refused: HTTP 400: No valid host' in err
    assert 'every server is on its source or its target' in err
    results = [r['result'] for r in journal(
        tmp_path / 'plan.journal.jsonl')]
    assert results[:3] == ['migrated', 'failed', 'not-started']
    assert {s.status for s in fake.servers.values()} == {'ACTIVE'}


def test_apply_again_after_a_stop_resumes_where_it_stopped(tmp_path,
                                                           capsys):
    fake = fragmented()
    path = planned(fake, tmp_path, 'free-hosts')
    saved = cmd.PlanFile.load(str(path))
    second = saved.plan.moves[1].instance
    fake.refuse[second] = 'No valid host was found.'
    assert run(fake, 'apply', str(path)) == 1
    del fake.refuse[second]
    assert run(fake, 'apply', str(path)) == 0
    results = [r['result'] for r in journal(
        tmp_path / 'plan.journal.jsonl')]
    n = len(saved.plan.moves)
    assert results[n:] == ['already-done'] + ['migrated'] * (n - 1)
    assert 'c' not in where(fake).values()


def test_ctrl_c_during_apply_stops_after_the_migration_in_flight(
        tmp_path, capsys):
    # Whatever SIGINT's handler was (a background job starts with it
    # ignored), apply puts it back when it returns.
    before = signal.getsignal(signal.SIGINT)
    fake = fragmented()
    path = planned(fake, tmp_path, 'free-hosts')
    fake.on_migrate.append(lambda sid, target: os.kill(os.getpid(),
                                                        signal.SIGINT))
    assert run(fake, 'apply', str(path)) == 130
    captured = capsys.readouterr()
    assert 'interrupted: stopping after the migrations in flight' in \
        captured.out
    assert 'interrupted; 1 of 4 move(s) done' in captured.err
    results = [r['result'] for r in journal(
        tmp_path / 'plan.journal.jsonl')]
    assert results == ['migrated'] + ['not-started'] * 3
    assert signal.getsignal(signal.SIGINT) is before


def test_apply_of_a_file_that_is_not_a_plan_is_a_usage_error(tmp_path,
                                                             capsys):
    fake = fragmented()
    bad = tmp_path / 'bad.json'
    bad.write_text('{"format": "something else"}')
    assert run(fake, 'apply', str(bad)) == 2
    assert 'not a plan of nova-scale-ext defrag plan --json' in \
        capsys.readouterr().err
    assert run(fake, 'apply', str(tmp_path / 'missing.json')) == 2


# --- keep -------------------------------------------------------------------


def test_keep_moves_the_fewest_servers_for_the_room_asked(capsys):
    fake = fragmented()
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1') == 0
    out = capsys.readouterr().out
    assert 'room big 0 of 1 fit; moving 1 server(s), 2.0 GiB' in out
    assert 'moved 1 server(s); room now big 1 (as planned)' in out
    assert len(fake.live_migrate_calls) == 1
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1') == 0
    assert 'room big 1 of 1 fit; nothing to move' in capsys.readouterr().out
    assert len(fake.live_migrate_calls) == 1


def test_keep_that_cannot_make_the_room_exits_1_saying_why(capsys):
    fake = fragmented()
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1',
               '--max-migrations', '0') == 1
    assert 'cannot do better' in capsys.readouterr().out
    assert not fake.live_migrate_calls


def test_keep_short_of_the_room_moves_what_helps_unless_whole(capsys):
    fake = fragmented()
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:9',
               '--whole') == 1
    assert 'cannot do better: big:' in capsys.readouterr().out
    assert not fake.live_migrate_calls
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:9') == 1
    assert '(partial: ' in capsys.readouterr().out
    assert fake.live_migrate_calls


def test_keep_every_survives_an_unreachable_cloud(capsys):
    fake = fragmented()
    fake.unreachable = True
    calls = []

    def connect(name):
        calls.append(name)
        if len(calls) == 2:
            fake.unreachable = False
        if len(calls) == 3:
            raise KeyboardInterrupt
        return connector(fake)(name)

    args = main.build_parser().parse_args(
        ['defrag', 'keep', '--os-cloud', 'fake', '--room', 'big:1',
         '--every', '0.01s', '--poll', '0.001s'])
    with pytest.raises(KeyboardInterrupt):
        cmd.run(args, connect=connect)
    out = capsys.readouterr().out.splitlines()
    assert 'pass failed: cloud \'fake\': Unable to establish connection' \
        in out[0]
    assert any('moved 1 server(s)' in line for line in out)


def test_keep_per_boot_spends_a_share_of_the_servers_started(capsys):
    fake = fragmented()
    calls = []

    def connect(name):
        calls.append(name)
        if len(calls) == 2:     # two servers start between the passes
            fake.boot('new0', 'b', 'small')
            fake.boot('new1', 'b', 'small')
        if len(calls) == 3:
            raise KeyboardInterrupt
        return connector(fake)(name)

    args = main.build_parser().parse_args(
        ['defrag', 'keep', '--os-cloud', 'fake', '--room', 'big:1',
         '--every', '0.01s', '--poll', '0.001s', '--per-boot', '50%'])
    with pytest.raises(KeyboardInterrupt):
        cmd.run(args, connect=connect)
    out = capsys.readouterr().out
    assert 'per-boot budget: 0 migration(s) left (0 server(s) started, ' \
        '0 moved)' in out
    assert 'per-boot budget: 1 migration(s) left (2 server(s) started, ' \
        '0 moved)' in out
    assert 'moved 1 server(s)' in out
    assert len(fake.live_migrate_calls) == 1


def scattered():
    """a and b hold 6 GiB each, c 2 GiB, d nothing: a big server fits
    already; c empties with one move, b with three."""
    fake = FakeCloud()
    for name in 'abcd':
        fake.add_host(name)
    fake.add_flavor('small', 1, 2 * GIB)
    fake.add_flavor('big', 8, 10 * GIB)
    for host, count in (('a', 3), ('b', 3), ('c', 1)):
        for k in range(count):
            fake.boot(f'{host}{k}', host, 'small')
    return fake


def test_keep_drain_empties_hosts_with_what_the_pass_has_left(capsys):
    fake = scattered()
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1',
               '--drain', '--max-migrations', '2') == 0
    out = capsys.readouterr().out
    assert 'room big 4 of 1 fit; nothing to move' in out
    assert 'drain: emptying 1 host(s) (c) by moving 1 server(s), 2.0 GiB' \
        in out
    assert 'drain: moved 1 server(s); 2 host(s) now empty (as planned)' \
        in out
    assert [h for h in 'abcd'
            if h not in where(fake).values()] == ['c', 'd']
    # Without a budget the drain empties b too; the room stays.
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1',
               '--drain') == 0
    assert 'drain: emptying 1 host(s) (b) by moving 3 server(s)' \
        in capsys.readouterr().out
    assert set(where(fake).values()) == {'a'}
    assert len(fake.live_migrate_calls) == 4


def test_a_drain_move_that_fails_stops_the_pass_with_a_journal(
        capsys, tmp_path):
    fake = scattered()
    c0 = next(s.id for s in fake.servers.values() if s.name == 'c0')
    fake.fail.add(c0)
    journal = tmp_path / 'keep.jsonl'
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1',
               '--drain', '--max-migrations', '1', '--journal',
               str(journal)) == 1
    out = capsys.readouterr().out
    assert 'drain: stopped after 0 of 1 move(s)' in out
    assert where(fake)['c0'] == 'c'
    assert '"failed"' in journal.read_text()


def test_keep_drain_waits_for_the_room(capsys):
    fake = fragmented()
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1',
               '--drain', '--max-migrations', '0') == 1
    out = capsys.readouterr().out
    assert 'cannot do better' in out and 'drain:' not in out
    assert not fake.live_migrate_calls
    # The room's move uses the pass's only migration: nothing to drain with.
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1',
               '--drain', '--max-migrations', '1') == 0
    out = capsys.readouterr().out
    assert 'moved 1 server(s); room now big 1' in out
    assert 'drain: no migration left in the budget' in out
    assert len(fake.live_migrate_calls) == 1


def test_keep_drain_spends_part_of_the_per_boot_budget(capsys):
    fake = scattered()
    calls = []

    def connect(name):
        calls.append(name)
        if len(calls) == 2:     # four servers start between the passes
            for k in range(4):
                fake.boot(f'new{k}', 'd', 'small')
        if len(calls) == 3:
            raise KeyboardInterrupt
        return connector(fake)(name)

    args = main.build_parser().parse_args(
        ['defrag', 'keep', '--os-cloud', 'fake', '--room', 'big:1',
         '--every', '0.01s', '--poll', '0.001s', '--per-boot', '50%',
         '--drain'])
    with pytest.raises(KeyboardInterrupt):
        cmd.run(args, connect=connect)
    out = capsys.readouterr().out
    # 50% of 4 servers started is 2 migrations; drains get half of that.
    assert 'per-boot budget: 2 migration(s) left (4 server(s) started, ' \
        '0 moved)' in out
    assert 'drain: emptying 1 host(s) (c) by moving 1 server(s)' in out
    assert len(fake.live_migrate_calls) == 1


def test_keep_drain_spare_drains_only_with_capacity_to_spare(capsys):
    # 57 vCPU and 50 GiB free; the room, one big, is 8 vCPU and 10 GiB
    fake = scattered()
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1',
               '--drain', '--drain-spare', '5.5') == 0
    out = capsys.readouterr().out
    assert 'drain: not now, free MEMORY_MB 51200 is less than 5.5 times ' \
        'the room (10240)' in out
    assert not fake.live_migrate_calls
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1',
               '--drain', '--drain-spare', '5', '--max-migrations', '1') == 0
    assert 'drain: emptying 1 host(s) (c) by moving 1 server(s)' \
        in capsys.readouterr().out
    assert len(fake.live_migrate_calls) == 1


def test_keep_drain_spare_needs_drain(capsys):
    fake = scattered()
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1',
               '--drain-spare', '2') == 2
    assert '--drain-spare needs --drain' in capsys.readouterr().err
    assert not fake.live_migrate_calls


@pytest.mark.parametrize('value', ['', '0.5', 'nan', 'inf', '-1', '1e9',
                                   'two'])
def test_keep_refuses_a_bad_drain_spare(capsys, value):
    with pytest.raises(SystemExit) as exc:
        main.build_parser().parse_args(
            ['defrag', 'keep', '--room', 'big:1', '--drain',
             '--drain-spare', value])
    assert exc.value.code == 2
    assert 'expected a factor from 1 to 1000' in capsys.readouterr().err


def test_keep_per_boot_needs_every(capsys):
    fake = fragmented()
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room', 'big:1',
               '--per-boot', '1%') == 2
    assert '--per-boot needs --every' in capsys.readouterr().err
    assert not fake.live_migrate_calls


# --- errors -----------------------------------------------------------------


@pytest.mark.parametrize('argv', [
    ['plan', '--max-migrations', '-1'],
    ['plan', '--max-memory-gib', 'nan'],
    ['plan', '--headroom', '0.2'],
    ['keep', '--room', 'big'],
    ['keep', '--room', 'big:0'],
    ['keep', '--room', 'big:1', '--every', '10x'],
    ['keep', '--room', 'big:1', '--per-boot', '0%'],
    ['keep', '--room', 'big:1', '--per-boot', '1'],
    ['keep', '--room', 'big:1', '--per-boot', 'nan%'],
    ['keep', '--room', 'big:1', '--per-boot', '\u00b2%'],
    ['apply', 'plan.json', '--concurrency', '0'],
    ['apply'],
])
def test_bad_arguments_exit_2_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main.build_parser().parse_args(['defrag', *argv])
    assert exc.value.code == 2
    assert 'error:' in capsys.readouterr().err


def test_an_unknown_flavor_or_aggregate_is_a_usage_error(capsys):
    fake = fragmented()
    assert run(fake, 'plan', '--os-cloud', 'fake', '--goal', 'room',
               'nosuch:1') == 2
    assert "flavor 'nosuch' is not known" in capsys.readouterr().err
    assert run(fake, 'plan', '--os-cloud', 'fake', '--aggregate', 'x') == 2
    assert '--aggregate x: no such aggregate' in capsys.readouterr().err


@pytest.mark.parametrize('action', [['plan'], ['keep', '--room', 'big:1']])
def test_an_unreachable_cloud_is_one_line_and_exit_1(action, capsys):
    fake = fragmented()
    fake.unreachable = True
    assert run(fake, *action, '--os-cloud', 'fake') == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert "cloud 'fake': Unable to establish connection" in err


def test_missing_admin_credentials_are_one_line_and_exit_1(capsys):
    fake = fragmented()
    fake.forbidden = True
    assert run(fake, 'plan', '--os-cloud', 'fake') == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and '(admin credentials are needed)' in err


def test_an_unknown_cloud_name_is_one_line_and_exit_1(capsys):
    assert run(fragmented(), 'plan', '--os-cloud', 'other') == 1
    assert "cloud 'other': Cloud other was not found." in \
        capsys.readouterr().err


def test_the_commands_are_registered_under_defrag():
    args = main.build_parser().parse_args(
        ['defrag', 'plan', '--os-cloud', 'prod', '--goal', 'room', 'x:2',
         '--max-memory-gib', '64'])
    assert args.func is cmd.run and args.goal == ['room', 'x:2']
    assert args.max_memory_gib == 64.0
    args = main.build_parser().parse_args(
        ['defrag', 'keep', '--room', 'x:2', '--room', 'y:1', '--every',
         '10m'])
    assert args.room == ['x:2', 'y:1'] and args.every == 600.0


def test_a_saved_plan_round_trips(tmp_path):
    fake = fragmented()
    path = planned(fake, tmp_path, 'room', 'big:1')
    saved = cmd.PlanFile.load(str(path))
    again = tmp_path / 'again.json'
    again.write_text(saved.dumps())
    assert cmd.PlanFile.load(str(again)).plan.to_dict() == \
        saved.plan.to_dict()
    assert defrag.verify(saved.snapshot, saved.plan).ok


def test_a_plan_as_data_has_a_row_per_move(capsys, tmp_path):
    fake = fragmented()
    saved = tmp_path / 'plan.json'
    assert run(fake, 'plan', '--os-cloud', 'fake', '--goal', 'room',
               'big:1', '--json', str(saved), '-f', 'json') == 0
    out = capsys.readouterr()
    rows = json.loads(out.out)
    moves = json.loads(saved.read_text())['plan']['moves']
    assert [(r['instance'], r['from'], r['to']) for r in rows] == [
        (m['instance'], m['source'], m['target']) for m in moves]
    assert rows and all(r['name'] and r['GiB'] == 2 for r in rows)
    assert 'Nothing changed. Saved to' in out.err
    assert run(fake, 'plan', '--os-cloud', 'fake', '-f', 'json', '-c',
               'moves') == 2
    assert "-c: no column named moves" in capsys.readouterr().err


def test_plans_keep_the_tenant_isolation_of_nova_conf(tmp_path, capsys):
    fake = FakeCloud()
    for name in 'abc':
        fake.add_host(name)
    fake.add_flavor('small', 1, 2 * GIB)
    for k in range(4):
        fake.boot(f'bank{k}', 'a', 'small', project='bank')
    fake.boot('shop0', 'b', 'small', project='shop')
    fake.boot('shop1', 'c', 'small', project='shop')
    conf = tmp_path / 'nova.conf'
    conf.write_text('[scale_ext_isolation]\nisolated_projects = bank\n')
    plan = tmp_path / 'plan.json'
    assert run(fake, 'plan', '--os-cloud', 'fake', '--config-file',
               str(conf), '--json', str(plan)) == 0
    moves = json.loads(plan.read_text())['plan']['moves']
    # one shop server joins the other, never the bank's host
    assert [(m['source'], m['target']) for m in moves] in (
        [('b', 'c')], [('c', 'b')])
    capsys.readouterr()
    # without the policy the fuller bank host takes a shop server
    assert run(fake, 'plan', '--os-cloud', 'fake', '--json',
               str(plan)) == 0
    assert 'a' in {m['target'] for m in
                   json.loads(plan.read_text())['plan']['moves']}
    # apply checks the plan against the policy before any move
    assert run(fake, 'apply', str(plan), '--os-cloud', 'fake',
               '--config-file', str(conf)) != 0
    assert 'tenant isolation: a holds instances of another isolation ' \
        'group; nothing was moved' in capsys.readouterr().err
    assert fake.live_migrate_calls == []
    # a policy that cannot be read stops every subcommand
    conf.write_text('[scale_ext_isolation]\nisolation_groups = x\n')
    assert run(fake, 'plan', '--os-cloud', 'fake', '--config-file',
               str(conf)) == 2
    assert 'the isolation policy cannot be read' in capsys.readouterr().err


def test_the_isolate_goal_moves_the_server_forced_among_others(tmp_path,
                                                              capsys):
    fake = FakeCloud()
    for name in 'abc':
        fake.add_host(name)
    fake.add_flavor('small', 1, 2 * GIB)
    fake.boot('bank0', 'a', 'small', project='bank')
    fake.boot('bank1', 'a', 'small', project='bank')
    fake.boot('shop0', 'a', 'small', project='shop')
    fake.boot('shop1', 'b', 'small', project='shop')
    conf = tmp_path / 'nova.conf'
    conf.write_text('[scale_ext_isolation]\nisolated_projects = bank\n')
    plan = tmp_path / 'plan.json'
    assert run(fake, 'plan', '--os-cloud', 'fake', '--goal', 'isolate',
               '--config-file', str(conf), '--json', str(plan)) == 0
    out = capsys.readouterr().out
    assert out.startswith('Goal: isolate; reached: 1 host(s) breaking '
                          'isolation fixed')
    assert run(fake, 'apply', str(plan), '--os-cloud', 'fake',
               '--config-file', str(conf)) == 0
    assert where(fake)['shop0'] == 'b'
