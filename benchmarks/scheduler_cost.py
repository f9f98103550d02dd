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
"""What the recommended configuration costs nova-scheduler per request.

Builds real ``HostState`` objects (updated from ``objects.ComputeNode``, with
an up ``objects.Service``) for a fleet of mixed sizes and usage, then times,
interleaved in one run, Nova's default filter + weigher pipeline and the
recommended one of nova-scale-ext (``nova_scale_ext.recommended.NOVA_CONF``),
both resolved and run by Nova's own handlers. Each request runs through
both pipelines back to back, in alternating order, so that both see the same
load; prints both median times per request, the ratio of the medians and the
median (with quartiles) of the per-request ratios.

``--load N`` runs N busy processes beside the measurement (``--load-kind``:
``python``, a pure-Python loop; ``numpy``, array arithmetic larger than the
CPU caches; ``mixed``, both), to see the ratio on a busy machine.

    python benchmarks/scheduler_cost.py [--hosts 1000] [--requests 200]
        [--load N] [--load-kind python|numpy|mixed]
"""

import argparse
import datetime
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
import warnings

import argtypes

warnings.filterwarnings('ignore')

LOAD_KINDS = ('python', 'numpy', 'mixed')


def _busy(kind, stop):
    """Keep one core busy until ``stop`` is set."""
    if kind == 'numpy':
        import numpy as np
        a = np.random.default_rng(0).random(4_000_000)
        while not stop.is_set():
            a = np.sqrt(a * a + 1.0) - 0.5
    else:
        n = 0
        while not stop.is_set():
            for i in range(10_000):
                n = (n + i * i) % 1_000_003


class Load:
    """``count`` busy processes while in use."""

    def __init__(self, count, kind):
        self.kinds = [('python', 'numpy')[i % 2] if kind == 'mixed' else kind
                      for i in range(count)]
        self.stop = multiprocessing.Event()
        self.procs = []

    def __enter__(self):
        for kind in self.kinds:
            proc = multiprocessing.Process(target=_busy,
                                           args=(kind, self.stop), daemon=True)
            proc.start()
            self.procs.append(proc)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()


def build_fleet(count, seed):
    from nova import objects
    from nova.scheduler import host_manager
    from oslo_utils import uuidutils

    rng = random.Random(seed)
    now = datetime.datetime.now(datetime.UTC)
    sizes = [(48, 196608), (64, 262144), (96, 393216), (128, 524288)]
    hosts = []
    for i in range(count):
        vcpus, memory_mb = rng.choice(sizes)
        fill = rng.random()
        name = f'compute{i:04d}'
        node = objects.ComputeNode(
            id=i + 1, uuid=uuidutils.generate_uuid(), host=name,
            hypervisor_hostname=name, vcpus=vcpus, memory_mb=memory_mb,
            local_gb=2000, vcpus_used=int(vcpus * 4 * fill),
            memory_mb_used=int(memory_mb * fill),
            local_gb_used=int(2000 * fill / 2),
            free_ram_mb=memory_mb - int(memory_mb * fill),
            free_disk_gb=2000 - int(2000 * fill / 2),
            disk_available_least=None, hypervisor_type='QEMU',
            hypervisor_version=9000000, cpu_info='{}', host_ip='10.0.0.1',
            numa_topology=None, supported_hv_specs=[], pci_device_pools=None,
            stats={'num_instances': str(int(40 * fill)), 'io_workload': '0'},
            metrics='[]', updated_at=None, cpu_allocation_ratio=4.0,
            ram_allocation_ratio=1.0, disk_allocation_ratio=1.0,
            running_vms=0, current_workload=0)
        service = objects.Service(
            id=i + 1, host=name, binary='nova-compute', topic='compute',
            disabled=False, disabled_reason=None, forced_down=False,
            last_seen_up=now, created_at=now, updated_at=now,
            report_count=1, uuid=uuidutils.generate_uuid())
        state = host_manager.HostState(name, name, 'cell1')
        state.update(compute=node, service=service, aggregates=[])
        hosts.append(state)
    return hosts


def build_requests(count, seed):
    from nova import objects
    from oslo_utils import uuidutils

    rng = random.Random(seed)
    shapes = [(1, 2048), (2, 4096), (4, 8192), (8, 16384), (2, 8192),
              (16, 32768)]
    specs = []
    for i in range(count):
        vcpus, memory_mb = rng.choice(shapes)
        flavor = objects.Flavor(
            id=i + 1, flavorid=str(i), name=f'f{i}', vcpus=vcpus,
            memory_mb=memory_mb, root_gb=20, ephemeral_gb=0, swap=0,
            extra_specs={}, rxtx_factor=1.0, is_public=True, disabled=False,
            vcpu_weight=0)
        specs.append(objects.RequestSpec(
            flavor=flavor, image=objects.ImageMeta.from_dict({}),
            instance_uuid=uuidutils.generate_uuid(), num_instances=1,
            is_bfv=False, scheduler_hints={}, ignore_hosts=None,
            force_hosts=None, force_nodes=None, instance_group=None,
            project_id='p', user_id='u', availability_zone=None,
            requested_destination=None))
    return specs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=argtypes.count(1), default=1000)
    parser.add_argument('--requests', type=argtypes.count(1),
                        default=200)
    parser.add_argument('--seed', type=argtypes.count(0), default=1)
    parser.add_argument('--load', type=argtypes.count(0, 64), default=0,
                        metavar='N', help='busy processes beside the '
                        'measurement (default: 0)')
    parser.add_argument('--load-kind', choices=LOAD_KINDS, default='mixed',
                        help='what the busy processes do (default: mixed)')
    args = parser.parse_args(argv)
    if args.hosts < 1 or args.requests < 1:
        parser.error('--hosts and --requests must be at least 1')

    from nova import objects
    from nova.scheduler import filters, weights

    from nova_scale_ext import common, recommended
    from nova_scale_ext.cmd import plugins

    objects.register_all()
    with tempfile.NamedTemporaryFile('w', suffix='.conf') as conf_file:
        conf_file.write(recommended.NOVA_CONF)
        conf_file.flush()
        plugins.load_nova_config([conf_file.name])
    _, ours_filters, ours_weighers = common.resolve_plugins()

    filter_handler = filters.HostFilterHandler()
    weight_handler = weights.HostWeightHandler()
    nova_filters = filter_handler.get_matching_classes(
        ['nova.scheduler.filters.all_filters'])
    by_name = {cls.__name__: cls for cls in nova_filters}
    default_filter_names = ['ComputeFilter', 'ComputeCapabilitiesFilter',
                            'ImagePropertiesFilter',
                            'ServerGroupAntiAffinityFilter',
                            'ServerGroupAffinityFilter']
    pipelines = {
        'nova-default': (
            [by_name[n]() for n in default_filter_names],
            [cls() for cls in weight_handler.get_matching_classes(
                ['nova.scheduler.weights.all_weighers'])]),
        'scale-ext': ([cls() for cls in ours_filters],
                      [cls() for cls in ours_weighers]),
    }
    hosts = build_fleet(args.hosts, args.seed)
    specs = build_requests(args.requests, args.seed)
    times = {name: [] for name in pipelines}
    walls = {name: [] for name in pipelines}
    names = list(pipelines)
    with Load(args.load, args.load_kind):
        for i, spec in enumerate(specs):
            for name in (names if i % 2 == 0 else names[::-1]):
                filter_objs, weigher_objs = pipelines[name]
                start, wall = time.thread_time(), time.perf_counter()
                passed = list(filter_handler.get_filtered_objects(
                    filter_objs, hosts, spec) or [])
                weight_handler.get_weighed_objects(weigher_objs, passed, spec)
                times[name].append(time.thread_time() - start)
                walls[name].append(time.perf_counter() - wall)

    load = (f', {args.load} busy processes ({args.load_kind})' if args.load
            else '')
    print(f'{args.hosts} hosts, {args.requests} requests, '
          f'python {sys.version.split()[0]}{load}')
    for name, (filter_objs, weigher_objs) in pipelines.items():
        per = statistics.median(times[name])
        print(f'{name:13} {per * 1000:8.2f} ms CPU/request (median; '
              f'{statistics.median(walls[name]) * 1000:.2f} ms elapsed), '
              f'{len(filter_objs)} filters, {len(weigher_objs)} weighers')
    ratio = (statistics.median(times['scale-ext'])
             / statistics.median(times['nova-default']))
    print(f'ratio scale-ext / nova-default: {ratio:.3f} '
          f'({(ratio - 1) * 100:+.1f}%)')
    paired = sorted(ours / theirs for ours, theirs in zip(
        times['scale-ext'], times['nova-default']))
    if len(paired) >= 4:
        low, mid, high = statistics.quantiles(paired, n=4)
        print(f'per-request ratio: median {mid:.3f}, quartiles {low:.3f} '
              f'to {high:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
