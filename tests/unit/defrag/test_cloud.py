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
"""The planner's snapshot of a live cloud: dedicated CPUs (PCPU) and
scheduler hints, read from :mod:`tests.unit.fake_openstack` through
:mod:`nova_scale_ext.cloud`, planned and applied."""

import types

import pytest
from openstack import exceptions
from openstack.compute.v2 import server as sdk_server

from nova_scale_ext import cloud as cloud_mod
from nova_scale_ext import defrag
from nova_scale_ext.cmd import defrag as cmd
from nova_scale_ext.cmd import main
from tests.unit.fake_openstack import FakeCloud, FakeConnection, connector

GIB = 1024
PINNED = {'hw:cpu_policy': 'dedicated'}


def read(fake):
    return cloud_mod.snapshot(cloud_mod.fetch(FakeConnection(fake),
                                              topology=True))


def run(fake, *argv):
    fast = ['--poll', '0.001s'] if argv[0] in ('apply', 'keep') else []
    args = main.build_parser().parse_args(['defrag', *argv, *fast])
    return cmd.run(args, connect=connector(fake))


# --- PCPU -------------------------------------------------------------------


def pinned_cloud():
    """pin: 16 GiB, 8 dedicated CPUs (2 reserved), 14 GiB of ordinary
    servers; plain: 32 GiB, no PCPU inventory."""
    fake = FakeCloud()
    fake.add_host('pin', pcpus=8, reserved_pcpus=2)
    fake.add_host('plain', memory_mb=32 * GIB)
    fake.add_flavor('dedicated', 2, 4 * GIB, extra_specs=PINNED)
    fake.add_flavor('small', 1, 7 * GIB)
    fake.boot('p1', 'pin', 'dedicated')
    fake.boot('s1', 'pin', 'small')
    fake.boot('s2', 'pin', 'small')
    return fake


def test_pcpu_inventory_usage_and_requests_are_read():
    fake = pinned_cloud()
    fake.servers[fake.id_of('s2')].status = 'SHUTOFF'
    snap = read(fake)
    pin, plain = snap.host_by_name['pin'], snap.host_by_name['plain']
    assert pin.capacity['PCPU'] == 6.0 and pin.used['PCPU'] == 2.0
    assert 'PCPU' not in plain.capacity
    p1 = next(i for i in snap.instances if i.id == fake.id_of('p1'))
    assert p1.resources == {'VCPU': 0.0, 'MEMORY_MB': 4096.0,
                            'DISK_GB': 0.0, 'PCPU': 2.0}
    assert p1.pinned
    flavor = snap.flavor_by_name['dedicated']
    assert (flavor.vcpus, flavor.pcpus) == (0.0, 2.0)
    goal = defrag.Goal.parse(['room', 'dedicated:1'], snap.flavors)
    assert goal.room[0].vector == (0.0, 4096.0, 0.0, 2.0)


def test_room_for_a_dedicated_flavor_is_made_where_pcpu_is(capsys):
    # 'plain' has room for the memory but no PCPU: the room must be made
    # on 'pin', by moving an ordinary server away from it
    fake = pinned_cloud()
    assert run(fake, 'plan', '--os-cloud', 'fake', '--goal', 'room',
               'dedicated:1') == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Goal: room dedicated:1; reached: every room target fits'
    assert out[2].split()[4:7] == ['7.0', 'pin', 'plain']
    assert out[3].startswith('Buys: dedicated: 0 -> 1 fit')


def test_keep_applies_room_for_a_dedicated_flavor(capsys):
    fake = pinned_cloud()
    assert run(fake, 'keep', '--os-cloud', 'fake', '--room',
               'dedicated:1') == 0
    assert 'moved 1 server(s); room now dedicated 1' in \
        capsys.readouterr().out
    assert fake.used('pin')['MEMORY_MB'] <= 12 * GIB
    assert fake.used('pin')['PCPU'] == 2.0


# --- scheduler hints ---------------------------------------------------------


def hinted_cloud():
    """a: x (2 GiB), to drain; b: 10 GiB (best fit) holding y, which x
    must not share a host with; c: 2 GiB."""
    fake = FakeCloud()
    for name in 'abc':
        fake.add_host(name)
    fake.add_flavor('small', 1, 2 * GIB)
    fake.add_flavor('big', 1, 8 * GIB)
    y = fake.boot('y', 'b', 'big')
    fake.boot('b2', 'b', 'small')
    fake.boot('c1', 'c', 'small')
    fake.boot('x', 'a', 'small', hints={'different_host': [y],
                                         'group': ['not-a-group']})
    fake.boot('z', 'c', 'small', hints={'same_host': fake.id_of('c1')})
    return fake


def test_hints_are_read_from_the_2_100_listing():
    fake = hinted_cloud()
    snap = read(fake)
    by_name = {i.id: i for i in snap.instances}
    x, z = by_name[fake.id_of('x')], by_name[fake.id_of('z')]
    assert x.different_host == (fake.id_of('y'),) and x.same_host == ()
    assert z.same_host == (fake.id_of('c1'),)
    assert snap.warnings == ()


def test_the_plan_keeps_the_hints_and_nova_accepts_it(tmp_path, capsys):
    fake = hinted_cloud()
    path = tmp_path / 'plan.json'
    assert run(fake, 'plan', '--os-cloud', 'fake', '--goal', 'free-hosts',
               '--json', str(path)) == 0
    out = capsys.readouterr().out
    assert 'Warning' not in out
    saved = cmd.PlanFile.load(str(path))
    moved = {saved.names.get(m.instance): m.target for m in saved.plan.moves}
    assert moved.get('x') == 'c'
    assert run(fake, 'apply', str(path)) == 0
    assert fake.host_of('x') == 'c' and fake.host_of('y') == 'b'


def test_nova_refuses_what_the_hints_forbid():
    fake = hinted_cloud()
    conn = FakeConnection(fake)
    for name, target in (('x', 'b'), ('z', 'a')):
        with pytest.raises(exceptions.BadRequestException) as refused:
            conn.compute.live_migrate_server(fake.id_of(name), host=target)
        assert 'No valid host' in refused.value.details
    conn.compute.live_migrate_server(fake.id_of('x'), host='c')


def test_before_2_100_the_hints_are_unknown_and_every_plan_says_so(capsys):
    fake = hinted_cloud()
    fake.microversion = '2.96'
    snap = read(fake)
    assert all(not i.different_host and not i.same_host
               for i in snap.instances)
    assert snap.warnings == (cloud_mod.HINTS_WARNING,)
    assert run(fake, 'plan', '--os-cloud', 'fake') == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == ('Warning: scheduler hints not visible before compute '
                      'API 2.100: different_host/same_host not checked')
    assert sum('Warning' in line for line in out) == 1


def test_the_sdk_listing_gives_hints_and_its_microversion():
    # what fetch reads from openstacksdk's Server: the 2.100 field, and
    # the microversion the listing was made at
    body = {'id': 's1', 'scheduler_hints': {'same_host': ['s2']},
            'OS-EXT-SRV-ATTR:host': 'h1'}
    new = sdk_server.Server.existing(microversion='2.100', **body)
    assert cloud_mod._hints_of(new) == {'same_host': ['s2']}
    old = sdk_server.Server.existing(microversion='2.96', id='s1')
    assert cloud_mod._hints_of(old) is None
    none = sdk_server.Server.existing(microversion='2.100', id='s1',
                                      scheduler_hints=None)
    assert cloud_mod._hints_of(none) == {}
    unknown = types.SimpleNamespace(scheduler_hints=None)
    assert cloud_mod._hints_of(unknown) is None
