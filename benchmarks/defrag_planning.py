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
"""Planning time of the consolidation planner on a large cloud.

Builds a seeded cloud (default 1,000 hosts and 30,000 instances): two host
sizes in two availability zones, a tenancy aggregate of 50 hosts kept for
two projects, public-cloud flavor sizes (small ones dominating), hosts
filled to 60-75% by random placement, anti-affinity, soft-anti-affinity and
affinity server groups, and some instances that may not move (pinned, PCI,
not ACTIVE). Then plans ``room`` (the recommended ``large_slot_flavors``,
and one large flavor) and ``free-hosts`` goals under a few budgets, and
prints the median planning time of several runs and what each plan buys.
Every plan is checked with ``verify``.

    python benchmarks/defrag_planning.py [--hosts 1000] [--instances 30000]
        [--runs 5] [--seed 1]

The targets (issue 13, one core): ``room`` at most 1 s, ``free-hosts`` at
most 10 s at 1,000 hosts and 30,000 instances.

With ``--trace``, it measures instead what consolidation buys in the
simulator: the hosts the ``scale-ext`` policy needs with each ``--defrag``
mode (see :mod:`nova_scale_ext.defrag.simulate`), and the migrations::

    python benchmarks/defrag_planning.py --trace ../shared/traces/\
huawei-east-1-lt.csv --host-size 80c/180G --defrag on-rejection
"""

import argparse
import dataclasses
import statistics
import sys
import time

import argtypes
import numpy as np

from nova_scale_ext import defrag
from nova_scale_ext.defrag import cluster as cluster_mod
from nova_scale_ext.recommended import NOVA_CONF

# (vcpus, memory GiB, share of instances)
FLAVORS = [
    (1, 2, 0.22), (2, 4, 0.20), (2, 8, 0.12), (4, 8, 0.12), (4, 16, 0.09),
    (8, 16, 0.07), (8, 32, 0.06), (16, 32, 0.04), (16, 64, 0.04),
    (32, 64, 0.02), (32, 128, 0.01), (64, 128, 0.01),
]
# (vcpus, memory GiB, disk GiB, share of hosts): effective capacities
# (vCPUs after a 4:1 allocation ratio)
HOST_SIZES = [(320, 768, 4000, 0.8), (256, 512, 3000, 0.2)]


def large_slot_flavors():
    for line in NOVA_CONF.splitlines():
        if line.startswith('large_slot_flavors'):
            return [s.strip() for s in line.split('=', 1)[1].split(',')]
    return []


def build(n_hosts, n_instances, seed):
    """A seeded snapshot (see the module docstring)."""
    rng = np.random.default_rng(seed)
    sizes = np.array([h[:3] for h in HOST_SIZES], dtype=float)
    kind = rng.choice(len(HOST_SIZES), n_hosts,
                      p=[h[3] for h in HOST_SIZES])
    cap = sizes[kind] * np.array([1, 1024, 1])
    fill = rng.uniform(0.60, 0.75, n_hosts)
    target = cap * fill[:, None]
    zone = (np.arange(n_hosts) >= n_hosts // 2).astype(int)
    tenancy_hosts = np.arange(50) if n_hosts >= 100 else np.arange(0)
    shares = np.array([f[2] for f in FLAVORS])
    n_tries = n_instances * 3 // 2
    pick = rng.choice(len(FLAVORS), n_tries, p=shares / shares.sum())
    req = np.array([(FLAVORS[k][0], FLAVORS[k][1] * 1024,
                     FLAVORS[k][0] * 10) for k in pick], dtype=float)
    projects = rng.integers(0, 500, n_tries)
    used = np.zeros_like(cap)
    host_of = np.full(n_tries, -1)
    restricted = np.zeros(n_hosts, dtype=bool)
    restricted[tenancy_hosts] = True
    # random placement, in random order, under each host's fill target
    placed_count = 0
    for i in range(n_tries):
        if placed_count == n_instances:
            break
        ok = (used + req[i] <= target).all(axis=1)
        ok &= ~restricted | (projects[i] < 2)
        if projects[i] < 2:
            pref = ok & restricted
            ok = pref if pref.any() else ok
        idx = np.flatnonzero(ok)
        if not idx.size:
            continue
        h = int(rng.choice(idx))
        used[h] += req[i]
        host_of[i] = h
        placed_count += 1
    placed = np.flatnonzero(host_of >= 0)
    names = [f'cmp-{h:04d}' for h in range(n_hosts)]
    hosts = tuple(
        defrag.Host(names[h],
                    {'VCPU': cap[h, 0], 'MEMORY_MB': cap[h, 1],
                     'DISK_GB': cap[h, 2]},
                    availability_zone=f'az{zone[h]}',
                    aggregates=('tenant-x',) if restricted[h] else (),
                    headroom={'MEMORY_MB': 0.05} if h % 10 == 0 else {})
        for h in range(n_hosts))
    # server groups among the placed instances
    groups = []
    member_of = {}
    pool = rng.permutation(placed)
    pos = 0

    def take(k):
        nonlocal pos
        out = pool[pos:pos + k]
        pos += k
        return out

    for g in range(n_instances // 100):          # anti-affinity, 3-5
        members = [int(i) for i in take(int(rng.integers(3, 6)))]
        hosts_seen = set()
        members = [i for i in members if not (host_of[i] in hosts_seen
                                              or hosts_seen.add(host_of[i]))]
        groups.append(defrag.ServerGroup(f'anti-{g}', 'anti-affinity',
                                         tuple(f'vm-{i}' for i in members)))
        member_of.update({i: f'anti-{g}' for i in members})
    for g in range(n_instances // 300):          # soft-anti-affinity, 4
        members = [int(i) for i in take(4)]
        groups.append(defrag.ServerGroup(f'soft-{g}', 'soft-anti-affinity',
                                         tuple(f'vm-{i}' for i in members)))
        member_of.update({i: f'soft-{g}' for i in members})
    for g in range(n_instances // 600):          # affinity pairs
        first = int(take(1)[0])
        mates = [int(i) for i in placed if host_of[i] == host_of[first]
                 and i != first and int(i) not in member_of][:1]
        members = [first] + mates
        groups.append(defrag.ServerGroup(f'aff-{g}', 'affinity',
                                         tuple(f'vm-{i}' for i in members)))
        member_of.update({i: f'aff-{g}' for i in members})
    flag = rng.random((n_tries, 4))
    instances = tuple(
        defrag.Instance(
            f'vm-{i}', names[host_of[i]],
            {'VCPU': req[i, 0], 'MEMORY_MB': req[i, 1],
             'DISK_GB': req[i, 2]},
            project=f'p{projects[i]}',
            flavor=f'f{req[i, 0]:.0f}-{req[i, 1] / 1024:.0f}',
            state='SHUTOFF' if flag[i, 0] < 0.02 else 'ACTIVE',
            server_group=member_of.get(int(i)),
            pinned=bool(flag[i, 1] < 0.03), pci=bool(flag[i, 2] < 0.01),
            local_disk=bool(flag[i, 3] < 0.2))
        for i in placed.tolist())
    flavors = tuple(defrag.Flavor(f'f{v}-{m}', v, m * 1024, v * 10)
                    for v, m, _ in FLAVORS)
    aggregates = (defrag.Aggregate('tenant-x', {
        'filter_tenant_id': 'p0', 'filter_tenant_id2': 'p1'}),)
    return defrag.Snapshot(hosts, instances, tuple(groups), aggregates,
                           flavors, source=f'benchmark seed {seed}')


def timed(runs, func):
    times = []
    out = None
    for _ in range(runs):
        began = time.process_time()
        out = func()
        times.append(time.process_time() - began)
    return statistics.median(times), out


def describe(plan):
    text = (f'{plan.migrations} migrations, {plan.memory_gib:.0f} GiB, '
            f'{plan.steps} steps; reached={plan.reached}')
    if plan.goal.kind == 'room':
        text += ' slots ' + ', '.join(
            f'{k} {plan.slots_before[k]}->{plan.slots_after[k]}'
            for k in plan.slots_before)
    else:
        text += (f'; {len(plan.hosts_freed)} hosts freed '
                 f'(empty {plan.empty_before}->{plan.empty_after})')
    return text


def simulate(args):
    """Hosts needed with each consolidation mode on a trace."""
    import warnings
    warnings.filterwarnings('ignore')
    from nova_scale_ext.defrag import simulate as dsim
    from nova_scale_ext.simulate import compact, fleet, model, policy, runner
    from nova_scale_ext.simulate import workload as wl_mod
    wl = wl_mod.read(args.trace, wl_mod.detect_format(args.trace))
    requests = wl.requests(False)
    base = fleet.identical(1, args.host_size)
    bound = compact.lower_bound(wl, base, requests)
    shapes, shape_of = model.shapes_of(requests)
    print(f'{wl.name}: {len(wl)} VMs on {args.host_size} hosts, lower bound '
          f'{bound}; policy scale-ext')
    print(f'{"mode":<30} {"hosts":>5} {"migrations":>10} {"share":>7} '
          f'{"GiB":>6} {"plan s":>6} {"wall s":>6}')
    with policy.loaded(policy.builtin('scale-ext')) as loaded:
        engine, _ = runner.make_engine(loaded, wl, shapes, shape_of, False)
        for text in args.defrag or ['none']:
            mode = (None if text == 'none' else
                    dsim.parse_mode(text, large_slot_flavors())
                    .for_workload(wl.start, requests))
            trials = dsim.hosts_needed(engine.chooser, wl, requests, base,
                                       mode, bound, bound + args.max_extra)
            last = trials[-1]
            hosts = last.hosts if not last.rejections else f'>{last.hosts}'
            st = last.stats
            print(f'{text:<30} {hosts:>5} {st.migrations:>10} '
                  f'{st.migrations / len(wl):>7.2%} {st.moved_gib:>6.0f} '
                  f'{st.planning_s:>6.1f} '
                  f'{sum(t.wall_s for t in trials):>6.0f}', flush=True)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=argtypes.count(2), default=1000)
    parser.add_argument('--instances', type=argtypes.count(1),
                        default=30000)
    parser.add_argument('--runs', type=argtypes.count(1), default=5)
    parser.add_argument('--seed', type=argtypes.count(0), default=1)
    parser.add_argument('--trace', metavar='PATH',
                        help='measure hosts needed on this trace instead')
    parser.add_argument('--host-size', default='80c/180G')
    parser.add_argument('--defrag', action='append', metavar='MODE',
                        help='none, on-rejection[:M], periodic:EVERY[:M], '
                        'keeper:EVERY:K[:M] (repeatable)')
    parser.add_argument('--max-extra', type=argtypes.count(0), default=8,
                        help='sizes tried above the lower bound')
    args = parser.parse_args(argv)
    if args.trace:
        return simulate(args)
    began = time.perf_counter()
    snap = build(args.hosts, args.instances, args.seed)
    held = sum(snap.request_of(i)[1] for i in snap.instances)
    total = sum(h.capacity['MEMORY_MB'] for h in snap.hosts)
    print(f'cloud: {len(snap.hosts)} hosts, {len(snap.instances)} '
          f'instances, {len(snap.server_groups)} server groups, memory '
          f'{held / total:.0%} allocated (built in '
          f'{time.perf_counter() - began:.1f} s)')
    seconds, cluster = timed(args.runs, lambda: cluster_mod.Cluster
                             .from_snapshot(snap))
    print(f'snapshot to arrays: {seconds:.3f} s (included below)')
    shapes = large_slot_flavors()
    base = defrag.plan(snap, defrag.Goal.parse(['room'], (), shapes, 0))
    now = base.slots_before
    room_default = defrag.Goal.room_for(
        defrag.RoomTarget.from_shape(s, now[s] + 50) for s in shapes)

    def more(vcpus, gib, extra):
        target = defrag.RoomTarget(f'{vcpus}c/{gib}G', vcpus, gib * 1024,
                                   vcpus * 10, 0)
        have = defrag.plan(snap, defrag.Goal.room_for([target]))
        return defrag.Goal.room_for([dataclasses.replace(
            target, count=have.slots_before[target.name] + extra)])

    one = defrag.Budget(max_migrations=len(snap.instances) // 100,
                        max_concurrent_per_host=2)
    cases = [
        ('room large_slot_flavors, 50 more each', room_default,
         defrag.Budget()),
        ('room 64c/256G, 100 more', more(64, 256, 100), defrag.Budget()),
        ('room 128c/512G, 50 more', more(128, 512, 50), defrag.Budget()),
        ('room 128c/512G, 50 more, 1% budget', more(128, 512, 50), one),
        ('free-hosts, no budget', defrag.Goal.free_hosts(), defrag.Budget()),
        ('free-hosts, 1% of instances, 2 at once', defrag.Goal.free_hosts(),
         one),
        ('free-hosts, 200 GiB', defrag.Goal.free_hosts(),
         defrag.Budget(max_memory_gib=200)),
    ]
    print(f'{"goal":<42} {"median s":>8}  result')
    worst = {'room': 0.0, 'free-hosts': 0.0}
    for name, goal, budget in cases:
        seconds, plan = timed(args.runs,
                              lambda g=goal, b=budget: defrag.plan(snap, g, b))
        verdict = defrag.verify(snap, plan)
        worst[goal.kind] = max(worst[goal.kind], seconds)
        print(f'{name:<42} {seconds:>8.3f}  {describe(plan)}'
              + ('' if verdict.ok else f'  VERIFY FAILED: {verdict}'))
        if not verdict.ok:
            return 1
    print(f'worst median: room {worst["room"]:.3f} s (target 1 s), '
          f'free-hosts {worst["free-hosts"]:.3f} s (target 10 s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
