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
"""Bursts of boots on the end-to-end cloud, side by side.

Brings up the cloud of ``tests/e2e`` with ``--computes`` fake computes of
mixed sizes, sized so that one burst of ``--servers`` servers (a seeded mix
of flavors, some in server groups) asks for ``--fill`` of its vCPUs or
memory. Then, for Nova's defaults, Nova stacking and the recommended
configuration, each with one and with two nova-scheduler workers, it
restarts nova-scheduler on that configuration, sends the whole burst at
once through openstacksdk (``--per-request`` servers per create request,
multi-create, the requests sent in parallel to a nova-api of four workers),
waits until every server is ACTIVE or ERROR, and reports:

* servers ACTIVE and ERROR (with each distinct fault);
* placement claim conflicts (nova-scheduler's ``Failed to save allocation``:
  HTTP 409, the scheduler then tries its next host), claim retries and
  reschedules (nova-conductor's ``Rescheduling: True``);
* how much the scheduling of requests overlapped (from nova-scheduler's
  log: the most requests in scheduling at one moment, and the share of
  requests that overlapped another);
* time to ACTIVE, p50 and p99, as the client saw it;
* hosts used, and the hosts the simulator uses for the same boots in the
  order nova-scheduler decided them (its reference engine: Nova's own
  filters and weighers; server groups are not in its model).

Every server and group is deleted, and placement is back to no usage,
before the next configuration.

    python benchmarks/burst.py [--servers 100] [--computes 12] [--fill 0.9]
        [--per-request 5] [--workers 1,2] [--configuration NAME ...]
        [--repeat N] [--json OUT.json]

``--configuration`` picks the configurations (default: the three), each
optionally with Nova's random picks among the best hosts (``+shuffle``:
``shuffle_best_same_weighed_hosts = true``; ``+subsetN``:
``host_subset_size = N``); ``--repeat N`` sends the burst N times to each,
in turn, and adds a table over the runs.

Needs what the end-to-end tests need (root, tools/e2e/install-e2e.sh).
"""

import argparse
import concurrent.futures
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import argtypes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from nova_scale_ext.cmd import display  # noqa: E402
from tests.e2e.settings import CLOUD, FAKE_AZ, with_option  # noqa: E402

#: Flavors of the burst: (vCPUs, memory MiB), drawn with these weights.
FLAVORS = ((1, 2048, 30), (2, 4096, 25), (4, 8192, 15), (2, 8192, 10),
           (8, 16384, 10), (4, 16384, 10))
#: Host shapes, cycled over the computes: (vCPUs, memory MiB) per unit.
HOST_SHAPES = ((1, 2048), (2, 4096), (2, 8192), (4, 8192))
#: Server groups of the burst: (policy, members); each one request.
GROUPS = (('anti-affinity', 4), ('anti-affinity', 3), ('soft-affinity', 4))
CONFIGURATIONS = ('nova-default', 'nova-stack', 'scale-ext')
TIMEOUT_S = 900

_LINE = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) (\d+) ')
_UUID = r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'


def make_burst(servers, per_request, seed):
    """The create requests of one burst: dicts of ``flavor`` (vCPUs,
    memory MiB), ``count`` and ``group`` (policy or None)."""
    rng = random.Random(seed)
    shapes = [(v, m) for v, m, _ in FLAVORS]
    weights = [w for _, _, w in FLAVORS]
    requests, left = [], servers
    for policy, members in GROUPS:
        if members <= left:
            requests.append({'flavor': rng.choices(shapes, weights)[0],
                             'count': members, 'group': policy})
            left -= members
    while left > 0:
        count = min(left, per_request)
        requests.append({'flavor': rng.choices(shapes, weights)[0],
                         'count': count, 'group': None})
        left -= count
    rng.shuffle(requests)
    return requests


def size_fleet(requests, computes, fill):
    """``{host: (vCPUs, memory MiB, disk GiB)}``: ``computes`` hosts of the
    cycled shapes, scaled so that the burst asks for ``fill`` of the
    fleet's vCPUs or memory, whichever is scarcer."""
    vcpus = sum(r['flavor'][0] * r['count'] for r in requests)
    memory = sum(r['flavor'][1] * r['count'] for r in requests)
    shapes = [HOST_SHAPES[i % len(HOST_SHAPES)] for i in range(computes)]
    unit_v = sum(s[0] for s in shapes)
    unit_m = sum(s[1] for s in shapes)
    scale = max(vcpus / fill / unit_v, memory / fill / unit_m)
    # every host takes at least one instance of every flavor
    scale = max(scale, max(max(r['flavor'][0] / s[0], r['flavor'][1] / s[1])
                           for r in requests for s in shapes))
    return {f'burst-{i:02d}': (max(1, math.ceil(v * scale)),
                               max(1024, math.ceil(m * scale / 1024) * 1024),
                               100)
            for i, (v, m) in enumerate(shapes)}


#: What a configuration name may add to its base (``scale-ext+shuffle``,
#: ``nova-stack+subset3``): Nova's random picks among the best hosts.
VARIANTS = {'shuffle': ('shuffle_best_same_weighed_hosts', 'true'),
            'subset': ('host_subset_size', None)}


def parse_configuration(text):
    """``(base, [(option, value), ...])`` of a configuration name: one of
    :data:`CONFIGURATIONS`, then any of ``+shuffle`` and ``+subsetN``."""
    base, *extras = text.strip().split('+')
    if base not in CONFIGURATIONS:
        raise argparse.ArgumentTypeError(
            f'{text!r}: a configuration is one of '
            f'{", ".join(CONFIGURATIONS)}, then +shuffle or +subsetN')
    options = []
    for extra in extras:
        match = re.fullmatch(r'(shuffle|subset)(\d*)', extra)
        if not match or (match[1] == 'subset') != bool(match[2]) or (
                match[2] and not 1 <= int(match[2]) <= 100):
            raise argparse.ArgumentTypeError(
                f'{text!r}: expected +shuffle or +subsetN (N from 1 to '
                f'100), got +{extra}')
        option, value = VARIANTS[match[1]]
        options.append((option, value or match[2]))
    return base, options


def parse_configuration_name(text):
    """``text`` if it names a configuration (argparse type)."""
    parse_configuration(text)
    return text.strip()


def configurations(cloud, workers, names=CONFIGURATIONS):
    """``[(label, workers, nova.conf path)]`` of every configuration of
    ``names`` and worker count."""
    stack = cloud.nova_defaults_conf.read_text()
    for option in ('ram', 'cpu', 'disk'):
        stack = with_option(stack, 'filter_scheduler',
                            f'{option}_weight_multiplier', '-1.0')
    texts = {'nova-default': cloud.nova_defaults_conf.read_text(),
             'nova-stack': stack,
             'scale-ext': cloud.nova_conf.read_text()}
    out = []
    for name in names:
        base, options = parse_configuration(name)
        text = texts[base]
        for option, value in options:
            text = with_option(text, 'filter_scheduler', option, value)
        for count in workers:
            path = cloud.nova_conf.with_name(
                f'burst-{name.replace("+", "-")}-{count}.conf')
            path.write_text(with_option(text, 'scheduler', 'workers',
                                        str(count)))
            out.append((name, count, path))
    return out


class Log:
    """The part of a service's log written since it was opened."""

    def __init__(self, path):
        self.path = path
        self.start = path.stat().st_size if path.exists() else 0

    def lines(self):
        with open(self.path, 'rb') as handle:
            handle.seek(self.start)
            return handle.read().decode(errors='replace').splitlines()


def _stamp(line):
    match = _LINE.match(line)
    if not match:
        return None, None
    when = time.mktime(time.strptime(match.group(1)[:19],
                                     '%Y-%m-%d %H:%M:%S'))
    return when + float('0.' + match.group(1)[20:]), match.group(2)


def scheduler_record(lines):
    """What nova-scheduler's log says of the burst: the order of its
    decisions (instance uuids), claim conflicts and retries, and how its
    requests overlapped."""
    starts, last, order = {}, {}, []
    conflicts = retries = out_of_retries = 0
    for line in lines:
        when, _pid = _stamp(line)
        if 'Starting to schedule for instances:' in line and when:
            uuids = tuple(re.findall(_UUID, line.split('instances:')[1]))
            starts[uuids] = when
        elif 'Selected host:' in line and when:
            found = re.search(r'\[instance: (' + _UUID + r')\]', line)
            if found:
                order.append(found.group(1))
                last[found.group(1)] = when
        if 'Failed to save allocation for' in line:
            conflicts += 1
        elif 'retrying...' in line:
            retries += 1
        elif 'out of retries' in line:
            out_of_retries += 1
    spans = []
    for uuids, began in starts.items():
        ends = [last[u] for u in uuids if u in last]
        spans.append((began, max(ends) if ends else began))
    overlapped, most = 0, 0
    for i, (a, b) in enumerate(spans):
        others = sum(1 for j, (c, d) in enumerate(spans)
                     if j != i and c < b and a < d)
        overlapped += others > 0
        most = max(most, others + 1)
    return {'order': order, 'claim_conflicts': conflicts,
            'claim_retries': retries, 'out_of_retries': out_of_retries,
            'requests': len(spans), 'most_at_once': most,
            'overlapped_share': overlapped / len(spans) if spans else 0.0}


def fire(cloud, requests, prefix, image_id, flavors):
    """Send every create request at once; ``{server id: (request index,
    submitted at)}`` and the errors of requests the API refused."""
    local = threading.local()
    conns = []
    lock = threading.Lock()

    def conn():
        if not hasattr(local, 'conn'):
            local.conn = cloud.connect()
            with lock:
                conns.append(local.conn)
        return local.conn

    groups = {}
    admin = cloud.connect()
    try:
        for k, req in enumerate(requests):
            if req['group']:
                groups[k] = admin.compute.create_server_group(
                    name=f'{prefix}-g{k}', policy=req['group'])
    finally:
        admin.close()

    barrier = threading.Barrier(len(requests))

    def send(k):
        req = requests[k]
        c = conn()
        attrs = {'name': f'{prefix}-r{k:03d}', 'image_id': image_id,
                 'flavor_id': flavors[req['flavor']], 'networks': 'none',
                 'availability_zone': FAKE_AZ,
                 'min_count': req['count'], 'max_count': req['count']}
        if k in groups:
            attrs['scheduler_hints'] = {'group': groups[k].id}
        try:
            barrier.wait(60)
        except threading.BrokenBarrierError:
            pass
        sent = time.monotonic()
        try:
            c.compute.create_server(**attrs)
        except Exception as exc:  # the API refused: part of the result
            return k, sent, f'{type(exc).__name__}: {exc}'
        return k, sent, None

    refused = []
    with concurrent.futures.ThreadPoolExecutor(len(requests)) as pool:
        sent = list(pool.map(send, range(len(requests))))
    for conn_ in conns:
        conn_.close()
    for _k, _when, error in sent:
        if error:
            refused.append(error)
    return {k: when for k, when, _ in sent}, groups, refused


def watch(conn, prefix, expected, sent_at, timeout=TIMEOUT_S):
    """Poll until ``expected`` servers of ``prefix`` are ACTIVE or ERROR
    (at most ``timeout`` seconds; a failing API is asked again); ``{id:
    server}`` and the seconds from its request to ACTIVE."""
    deadline = time.monotonic() + timeout
    active_after, servers = {}, {}
    while time.monotonic() < deadline:
        now = time.monotonic()
        try:
            servers = {s.id: s for s in conn.compute.servers(
                details=True, name=f'^{prefix}-', limit=50)}
        except Exception:  # the API is down for a moment: ask again
            time.sleep(1)
            continue
        for sid, server in servers.items():
            if server.status == 'ACTIVE' and sid not in active_after:
                k = int(server.name.rsplit('-r', 1)[1][:3])
                active_after[sid] = now - sent_at[k]
        done = [s for s in servers.values()
                if s.status in ('ACTIVE', 'ERROR')]
        if len(servers) >= expected and len(done) == len(servers):
            break
        time.sleep(0.5)
    return servers, active_after


def placement_usages(conn):
    """``{provider name: {resource class: used}}`` from placement."""
    out = {}
    for rp in conn.placement.resource_providers():
        out[rp.name] = conn.placement.get(
            f'/resource_providers/{rp.id}/usages').json()['usages']
    return out


def clean(conn, prefix, groups):
    """Delete the servers and groups of a run and wait until placement has
    no usage left; the consumers whose allocations outlived their server
    are removed from placement and counted (0: none leaked)."""
    servers = list(conn.compute.servers(name=f'^{prefix}-'))
    for server in servers:
        conn.compute.delete_server(server)
    for server in servers:
        conn.compute.wait_for_delete(server, interval=1, wait=300)
    for group in groups.values():
        conn.compute.delete_server_group(group)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not any(sum(u.values()) for u in placement_usages(conn).values()):
            return 0
        time.sleep(1)
    leaked = set()
    for rp in conn.placement.resource_providers():
        allocations = conn.placement.get(
            f'/resource_providers/{rp.id}/allocations').json()
        leaked |= set(allocations['allocations'])
    for consumer in leaked:
        conn.placement.delete(f'/allocations/{consumer}')
    return len(leaked)


def percentile(values, share):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, math.ceil(share * len(values)) - 1)]


def predicted_hosts(cloud, conf_path, order, spec_of):
    """Hosts the simulator uses for the servers in nova-scheduler's
    decision order."""
    from tests.e2e import sequence

    steps = [('boot', u, *spec_of[u]) for u in order if u in spec_of]
    placed = sequence.predict(cloud.fleet, steps, conf_path.read_text())
    return len({h for h in placed.values() if h}), sum(
        1 for h in placed.values() if h is None)


def run_one(cloud, conn, label, workers, conf_path, requests, image_id,
            flavors, log, run=0):
    cloud.restart_scheduler(conf_path)
    time.sleep(3)
    prefix = f'b{run}-{label.replace("+", "-")}-{workers}w'
    sched = Log(cloud.logs / 'nova-scheduler.log')
    cond = Log(cloud.logs / 'nova-conductor.log')
    began = time.monotonic()
    sent_at, groups, refused = fire(cloud, requests, prefix, image_id,
                                    flavors)
    expected = sum(r['count'] for r in requests)
    servers, active_after = watch(conn, prefix, expected, sent_at)
    took = time.monotonic() - began
    record = scheduler_record(sched.lines())
    reschedules = sum(1 for line in cond.lines()
                      if 'Rescheduling: True' in line)
    faults = {}
    for server in servers.values():
        if server.status == 'ERROR':
            msg = (server.fault or {}).get('message', 'no fault')
            faults[msg] = faults.get(msg, 0) + 1
    spec_of = {}
    for server in servers.values():
        k = int(server.name.rsplit('-r', 1)[1][:3])
        spec_of[server.id] = requests[k]['flavor']
    hosts = {s.compute_host for s in servers.values()
             if s.status == 'ACTIVE'}
    sim_hosts, sim_rejected = predicted_hosts(cloud, conf_path,
                                              record.pop('order'), spec_of)
    times = list(active_after.values())
    result = {
        'configuration': label, 'scheduler_workers': workers,
        'servers': expected, 'seen': len(servers),
        'active': sum(s.status == 'ACTIVE' for s in servers.values()),
        'error': sum(s.status == 'ERROR' for s in servers.values()),
        'refused_by_api': len(refused), 'faults': faults,
        'reschedules': reschedules, **record,
        'active_p50_s': percentile(times, 0.5),
        'active_p99_s': percentile(times, 0.99),
        'hosts_used': len(hosts), 'simulated_hosts_used': sim_hosts,
        'simulated_rejections': sim_rejected, 'burst_s': took,
    }
    log(f'{label} with {workers} scheduler worker(s): {result["active"]} '
        f'ACTIVE, {result["error"]} ERROR in {took:.0f} s')
    result['leaked_allocations'] = clean(conn, prefix, groups)
    return result


#: Faults injected during a burst: what each does to the cloud.
FAULTS = {
    'rabbitmq': 'RabbitMQ restarted',
    'scheduler': 'one nova-scheduler killed and started again',
    'compute': 'a compute service disabled',
    'mariadb': 'MariaDB restarted',
}
#: Seconds into the burst at which the fault is injected.
FAULT_AFTER_S = 3.0


def inject(cloud, conn, fault):
    """Do ``fault`` to the running cloud; what undoes it afterwards (or
    None)."""
    if fault == 'rabbitmq':
        cloud.restart_rabbitmq()
    elif fault == 'mariadb':
        cloud.restart_mariadb()
    elif fault == 'scheduler':
        cloud.restart_scheduler(cloud.scheduler_conf)
    elif fault == 'compute':
        host = sorted(cloud.fleet)[0]
        service = next(s for s in conn.compute.services(
            binary='nova-compute') if s.host == host)
        conn.compute.disable_service(service, host, 'nova-compute',
                                     'burst benchmark')
        return lambda: conn.compute.enable_service(service, host,
                                                   'nova-compute')
    return None


def allocation_mismatches(conn, servers):
    """Servers whose placement allocations do not say where they are: an
    ACTIVE server must hold exactly one allocation, on its host's
    provider; any other, none."""
    names = {rp.id: rp.name for rp in conn.placement.resource_providers()}
    wrong = []
    for server in servers.values():
        held = conn.placement.get(
            f'/allocations/{server.id}').json()['allocations']
        where = {names.get(rp, rp) for rp in held}
        expected = ({server.hypervisor_hostname}
                    if server.status == 'ACTIVE' else set())
        if where != expected:
            wrong.append((server.name, server.status, sorted(where)))
    return wrong


def capacity_matches_placement(cloud, conn):
    """Whether ``nova-scale-ext capacity`` reports the usage placement
    holds, for vCPUs and memory."""
    result = subprocess.run(
        [sys.executable, '-m', 'nova_scale_ext.cmd.main', 'capacity',
         '--os-cloud', CLOUD, '--json'], capture_output=True,
        text=True, timeout=300, cwd=ROOT,
        env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(cloud.clouds_yaml)))
    if result.returncode:
        return False, result.stderr.strip().splitlines()[-1:]
    report = json.loads(result.stdout)['resources']
    usages = placement_usages(conn).values()
    diffs = {}
    for rc in ('VCPU', 'MEMORY_MB'):
        placed = sum(u.get(rc, 0) for u in usages)
        if report[rc]['used'] != placed:
            diffs[rc] = (report[rc]['used'], placed)
    return not diffs, diffs


def plugin_errors(lines):
    """Lines of nova-scheduler's log where one of our plugins failed."""
    return [line for line in lines if 'nova_scale_ext' in line
            and (' ERROR ' in line or 'Traceback' in line)]


def run_fault(cloud, conn, fault, conf_path, requests, image_id, flavors,
              timeout, log):
    """One burst with ``fault`` injected into it, then the checks."""
    if cloud.scheduler_conf != conf_path:
        cloud.restart_scheduler(conf_path)
        time.sleep(3)
    prefix = f'f-{fault}'
    sched = Log(cloud.logs / 'nova-scheduler.log')
    expected = sum(r['count'] for r in requests)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        burst = pool.submit(fire, cloud, requests, prefix, image_id,
                            flavors)
        time.sleep(FAULT_AFTER_S)
        began = time.monotonic()
        undo = inject(cloud, conn, fault)
        fault_s = time.monotonic() - began
        sent_at, groups, refused = burst.result()
    servers, active_after = watch(conn, prefix, expected, sent_at, timeout)
    if undo:
        undo()
    states = {}
    for server in servers.values():
        states[server.status] = states.get(server.status, 0) + 1
    faults = {}
    for server in servers.values():
        if server.status == 'ERROR':
            msg = (server.fault or {}).get('message', 'no fault')
            faults[msg] = faults.get(msg, 0) + 1
    wrong = allocation_mismatches(conn, servers)
    same, capacity_diff = capacity_matches_placement(cloud, conn)
    result = {
        'fault': fault, 'what': FAULTS[fault], 'fault_s': fault_s,
        'servers': expected, 'seen': len(servers), 'states': states,
        'refused_by_api': len(refused), 'refusals': sorted(set(refused)),
        'faults': faults, 'allocation_mismatches': wrong,
        'plugin_errors': len(plugin_errors(sched.lines())),
        'capacity_matches_placement': same, 'capacity_diff': capacity_diff,
    }
    result['leaked_allocations'] = clean(conn, prefix, groups)
    log(f'{FAULTS[fault]} during a burst: {states}, '
        f'{len(refused)} requests refused')
    return result


def fault_table(results):
    lines = []
    for r in results:
        states = ', '.join(f'{n} {s}' for s, n in sorted(r['states'].items()))
        capacity = ('matches' if r['capacity_matches_placement']
                    else 'differs from')
        lines.append(
            f'{r["what"]} ({r["fault_s"]:.0f} s): {r["seen"]} of '
            f'{r["servers"]} servers ({states or "none"}); '
            f'{r["refused_by_api"]} create requests refused; '
            f'{len(r["allocation_mismatches"])} allocation mismatches, '
            f'{r["leaked_allocations"]} leaked; {r["plugin_errors"]} plugin '
            f'errors; capacity {capacity} placement')
        for msg, count in sorted(r['faults'].items()):
            lines.append(f'    {count} x {msg}')
        for msg in r['refusals']:
            lines.append(f'    refused: {msg}')
    return '\n'.join(lines)


def columns(head, rows):
    """Lines of a plain table."""
    widths = [max(len(h), *(len(row[i]) for row in rows))
              for i, h in enumerate(head)]
    lines = ['  '.join(h.ljust(w) for h, w in zip(head, widths)),
             '  '.join('-' * w for w in widths)]
    lines += ['  '.join(c.ljust(w) for c, w in zip(row, widths))
              for row in rows]
    return lines


def summary(results):
    """Each configuration and worker count over its runs: the mean and
    the range of ERRORs and claim conflicts, reschedules in all, the
    median of the runs' p50 to ACTIVE, hosts used (range)."""
    groups = {}
    for r in results:
        groups.setdefault((r['configuration'], r['scheduler_workers']),
                          []).append(r)

    def spread(values, digits=1):
        return (f'{statistics.fmean(values):.{digits}f} '
                f'({min(values)}-{max(values)})')

    rows = []
    for (label, workers), runs in groups.items():
        p50 = [r['active_p50_s'] for r in runs
               if r['active_p50_s'] is not None]
        hosts = [r['hosts_used'] for r in runs]
        rows.append((label, str(workers), str(len(runs)),
                     spread([r['error'] for r in runs]),
                     spread([r['claim_conflicts'] for r in runs]),
                     str(sum(r['reschedules'] for r in runs)),
                     f'{statistics.median(p50):.1f}' if p50 else '-',
                     f'{min(hosts)}-{max(hosts)}'))
    head = ('configuration', 'workers', 'runs', 'ERROR mean (range)',
            'conflicts mean (range)', 'resched.', 'p50 s (median)', 'hosts')
    return '\n'.join(['over the runs:'] + columns(head, rows))


def table(results):
    head = ('configuration', 'workers', 'ACTIVE', 'ERROR', 'conflicts',
            'retries', 'resched.', 'at once', 'overlap', 'p50 s', 'p99 s',
            'hosts', 'simulated')
    rows = []
    for r in results:
        def fmt(x):
            return '-' if x is None else f'{x:.1f}'
        rows.append((r['configuration'], str(r['scheduler_workers']),
                     str(r['active']), str(r['error']),
                     str(r['claim_conflicts']), str(r['claim_retries']),
                     str(r['reschedules']), str(r['most_at_once']),
                     f'{r["overlapped_share"]:.0%}', fmt(r['active_p50_s']),
                     fmt(r['active_p99_s']), str(r['hosts_used']),
                     str(r['simulated_hosts_used'])))
    lines = columns(head, rows)
    for r in results:
        for msg, count in sorted(r['faults'].items()):
            lines.append(f'{r["configuration"]}, {r["scheduler_workers"]} '
                         f'worker(s): {count} x {msg}')
    return '\n'.join(lines)


def save(path, fleet, requests, results, fault_results):
    """Write what was measured so far to ``path`` (None: nowhere)."""
    if not path:
        return
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump({'fleet': fleet, 'requests': requests,
                   'results': results, 'faults': fault_results},
                  handle, indent=1, default=str)


def _workers(text):
    try:
        values = sorted({int(v) for v in text.split(',')})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected worker counts such as 1,2, got {text!r}') from None
    if not values or values[0] < 1 or values[-1] > 8:
        raise argparse.ArgumentTypeError('worker counts are 1 to 8')
    return values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--servers', type=argtypes.count(1, 1000),
                        default=100, help='servers in a burst (default 100)')
    parser.add_argument('--computes', type=argtypes.count(1, 32),
                        default=12, help='fake computes (default 12)')
    parser.add_argument('--fill', type=argtypes.number(0.05, 1.0),
                        default=0.9, help='share of the scarcer resource '
                        'the burst asks for (default 0.9)')
    parser.add_argument('--per-request', type=argtypes.count(1, 100),
                        default=5, help='servers per create request '
                        '(default 5)')
    parser.add_argument('--workers', type=_workers, default=[1, 2],
                        help='nova-scheduler worker counts (default 1,2)')
    parser.add_argument('--seed', type=argtypes.count(0), default=1)
    parser.add_argument('--configuration', dest='configurations',
                        metavar='NAME', action='append',
                        type=parse_configuration_name,
                        help='a configuration to run (repeatable; default: '
                        f'{", ".join(CONFIGURATIONS)}): one of those, then '
                        'any of +shuffle (shuffle_best_same_weighed_hosts) '
                        'and +subsetN (host_subset_size = N)')
    parser.add_argument('--repeat', type=argtypes.count(1, 50), default=1,
                        help='send the burst this many times to every '
                        'configuration, in turn (default 1)')
    parser.add_argument('--faults', nargs='*', choices=sorted(FAULTS),
                        metavar='FAULT', help='also run one burst per '
                        'fault with the recommended configuration and '
                        f'two scheduler workers ({", ".join(sorted(FAULTS))}'
                        '; no name: all)')
    parser.add_argument('--only-faults', action='store_true',
                        help='skip the side-by-side runs')
    parser.add_argument('--fault-timeout', type=argtypes.count(30, 3600),
                        default=300, help='seconds to wait for the servers '
                        'of a burst with a fault (default 300)')
    parser.add_argument('--json', metavar='OUT.json')
    args = parser.parse_args(argv)
    problem = None if args.json is None else display.unwritable(args.json)
    if problem:
        parser.error(f'--json: {problem}')

    from tests.e2e import cloud as cloud_mod

    missing = cloud_mod.missing_requirements()
    if missing:
        print(f'burst: cannot run the end-to-end cloud here: '
              f'{"; ".join(missing)}', file=sys.stderr)
        return 2
    requests = make_burst(args.servers, args.per_request, args.seed)
    fleet = size_fleet(requests, args.computes, args.fill)
    root = tempfile.mkdtemp(prefix='nova-scale-ext-burst-')
    cloud = cloud_mod.Cloud(root, fleet=fleet,
                            log=lambda m: print(m, file=sys.stderr))
    cloud.api_workers = 4
    # a TERM (kill, a time limit) tears the cloud down as Ctrl-C does
    signal.signal(signal.SIGTERM, cloud_mod.interrupt)
    results, fault_results = [], []
    with cloud:
        conn = cloud.connect()
        try:
            image_id = conn.image.find_image(cloud_mod.IMAGE).id
            flavors = {}
            for vcpus, memory_mb in {r['flavor'] for r in requests}:
                flavors[(vcpus, memory_mb)] = conn.compute.create_flavor(
                    name=f'burst.{vcpus}c{memory_mb}m', vcpus=vcpus,
                    ram=memory_mb, disk=0).id
            names = args.configurations or CONFIGURATIONS
            runs = configurations(cloud, args.workers, names)
            for run in range(args.repeat):
                for label, workers, path in runs:
                    if args.only_faults:
                        break
                    result = run_one(cloud, conn, label, workers, path,
                                     requests, image_id, flavors, cloud.log,
                                     run)
                    result['run'] = run + 1
                    results.append(result)
                    # a run cut short keeps what it measured
                    save(args.json, fleet, requests, results, fault_results)
            faults = (sorted(FAULTS) if args.faults == [] else
                      args.faults or [])
            ours = configurations(cloud, [2], ['scale-ext'])[0][2]
            for fault in faults:
                fault_results.append(run_fault(
                    cloud, conn, fault, ours, requests, image_id, flavors,
                    args.fault_timeout, cloud.log))
                save(args.json, fleet, requests, results, fault_results)
        finally:
            conn.close()
    vcpus = sum(v for v, _, _ in fleet.values())
    memory = sum(m for _, m, _ in fleet.values())
    print(f'{args.servers} servers in {len(requests)} create requests '
          f'(seed {args.seed}) on {args.computes} fake computes '
          f'({vcpus} vCPUs, {memory // 1024} GiB; the burst asks for '
          f'{sum(r["flavor"][0] * r["count"] for r in requests) / vcpus:.0%}'
          f' of the vCPUs, '
          f'{sum(r["flavor"][1] * r["count"] for r in requests) / memory:.0%}'
          f' of the memory); logs in {root}')
    if results:
        print(table(results))
    if args.repeat > 1 and results:
        print(summary(results))
    if fault_results:
        print(fault_table(fault_results))
    save(args.json, fleet, requests, results, fault_results)
    return 0


if __name__ == '__main__':
    sys.exit(main())
