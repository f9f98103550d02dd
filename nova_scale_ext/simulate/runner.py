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
"""Run policies one after another on a workload and a fleet.

For each policy: load it into ``CONF``, build its engine (the fast one when
it can model the policy, else the reference one, saying why), replay the
workload on the fleet while recording metrics, and, with ``compact``, search
the hosts needed (:mod:`.compact`).  Then the same for each consolidation
mode (:mod:`nova_scale_ext.defrag.simulate`), as a result named
``POLICY+MODE``.
"""

import dataclasses
import time

import numpy as np

from nova_scale_ext.simulate import compact, model
from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import isolation as isolation_mod
from nova_scale_ext.simulate import metrics as metrics_mod
from nova_scale_ext.simulate import policy as policy_mod
from nova_scale_ext.simulate.replay import replay

ENGINES = ('auto', 'fast', 'reference')

#: the text of a policy's run with tenant isolation (next to the
#: ``--defrag`` modes')
ISOLATED = '+isolated'

#: Without --hosts, identical fleets get this many times the lower bound.
DEFAULT_FLEET_FACTOR = 2


class EngineError(RuntimeError):
    """The requested engine cannot run a policy."""


@dataclasses.dataclass
class PolicyResult:
    name: str
    engine: str
    engine_note: str
    rejections: int
    decisions: int
    wall_s: float
    metrics: metrics_mod.Metrics
    search: compact.SearchResult | None = None
    #: ``{mode, migrations, migrated_share, moved_gib}`` for a
    #: ``POLICY+MODE`` result (None: no consolidation)
    defrag: dict | None = None
    #: for a ``POLICY+isolated`` result: the isolated tenants and the hosts
    #: Nova's way needs (see :meth:`_Setting._isolation_fields`)
    isolation: dict | None = None

    @property
    def decisions_per_s(self):
        return self.decisions / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def hosts_needed(self):
        return self.search.hosts_needed if self.search else None


@dataclasses.dataclass
class Report:
    workload: object
    fleet: fleet_mod.Fleet
    lower_bound: int
    with_disk: bool
    compact: bool
    host_size: fleet_mod.HostClass | None
    results: list
    peak_demand: list
    wall_s: float = 0.0


def make_engine(loaded, workload, shapes, shape_of, with_disk,
                engine='auto'):
    """``(engine, note)`` for a loaded policy."""
    from nova_scale_ext.scheduler.filters import isolation as isolation_filter
    from nova_scale_ext.simulate import engine_fast, engine_nova
    if (isolation_filter.ScaleExtTenantIsolationFilter
            in loaded.filter_classes
            and isolation_filter.configured.policy().active):
        raise policy_mod.PolicyError(
            f'policy {loaded.policy.name}: the simulator models tenant '
            'isolation with --isolate SHARE or --isolate-projects FILE, not '
            'from [scale_ext_isolation] of a nova.conf; leave those options '
            'empty in the policy')
    args = (loaded, workload, shapes, shape_of, with_disk)
    if engine in ('auto', 'fast'):
        try:
            return engine_fast.FastEngine(*args), ''
        except engine_fast.FastUnsupported as exc:
            if engine == 'fast':
                raise EngineError(
                    f'policy {loaded.policy.name}: the fast engine cannot '
                    f'model {exc}; use --engine reference or auto') from None
            note = f'fast engine cannot model {exc}'
            return engine_nova.ReferenceEngine(*args), note
    return engine_nova.ReferenceEngine(*args), ''


def protected_shapes():
    """The loaded policy's ``large_slot_flavors`` as ``VCPUS:MEMORY_MB``
    texts, or the recommended configuration's when it has none (what a
    ``keeper`` mode without shapes of its own protects)."""
    from nova_scale_ext.scheduler.weights import large_slot
    shapes = large_slot.configured_shapes()
    if not len(shapes):
        return list(RECOMMENDED_SHAPES)
    return [f'{v:g}:{m:g}' for v, m in shapes[:, :2].tolist()]


def _recommended_shapes():
    import configparser

    from nova_scale_ext import recommended
    from nova_scale_ext.conf import weights as weights_conf
    conf = configparser.ConfigParser(strict=False, interpolation=None)
    conf.read_string(recommended.NOVA_CONF)
    text = conf.get(weights_conf.GROUP.name, 'large_slot_flavors', fallback='')
    return tuple(item.strip() for item in text.split(',') if item.strip())


RECOMMENDED_SHAPES = _recommended_shapes()


def _defrag_fields(mode, stats, n_vms):
    out = {'mode': mode.text, 'migrations': stats.migrations,
           'migrated_share': stats.migrations / n_vms if n_vms else 0.0,
           'moved_gib': stats.moved_gib}
    if mode.kind == 'keeper' and not mode.share:
        out['room'] = {t.name: t.count for t in mode.shapes}
    return out


def run(workload, fleet, policies, *, compact_search=False, engine='auto',
        progress=None, defrag_modes=(), defrag_policies=None, jobs=1,
        isolation=None):
    """Replay ``workload`` on ``fleet`` under each policy.

    ``progress(label, done, total)`` is called now and then.  With
    ``compact_search`` (``fleet`` must then have one host class), also search
    the smallest number of such hosts each policy needs.  Each text of
    ``defrag_modes`` (``--defrag``) adds a result per policy with that
    consolidation mode active; a ``keeper`` protects the policy's
    :func:`protected_shapes`.  With ``jobs`` above 1, the runs (each
    policy, and each policy with each mode) go to that many worker
    processes; the results are the same, in the same order.
    """
    if compact_search and len(fleet.classes) != 1:
        raise ValueError('the hosts-needed search needs identical hosts (one '
                         'host class)')
    host_size = fleet.classes[0] if compact_search else None
    began = time.perf_counter()
    requests = workload.requests(fleet.offers_disk)
    bound = compact.lower_bound(workload, fleet, requests)
    plan = []
    for pol in policies:
        texts = [None]
        if defrag_policies is None or pol.name in defrag_policies:
            texts += list(defrag_modes)
        if isolation is not None:
            texts.append(ISOLATED)
        plan.append((pol, texts))
    setting = _Setting(workload, fleet, compact_search, engine, bound,
                       isolation)
    if (jobs > 1 and sum(len(texts) for _, texts in plan) > 1
            and not _green_threads()):
        results = _run_parallel(setting, plan, jobs, progress)
    else:
        results = []
        for pol, texts in plan:
            results += setting.run_policy(pol, texts, progress)
    peak = workload.alive_peak(requests).tolist()
    return Report(workload, fleet, bound, fleet.offers_disk, compact_search,
                  host_size, results, peak, time.perf_counter() - began)


@dataclasses.dataclass
class _Setting:
    """What every run of one :func:`run` shares."""

    workload: object
    fleet: fleet_mod.Fleet
    compact_search: bool
    engine: str
    bound: int
    isolation: object = None

    def run_policy(self, pol, texts, progress=None):
        """The results of ``pol`` with each mode of ``texts`` (None: no
        consolidation), in that order."""
        from nova_scale_ext.defrag import simulate as dsim
        workload, fleet = self.workload, self.fleet
        with_disk = fleet.offers_disk
        requests = workload.requests(with_disk)
        shapes, shape_of = model.shapes_of(requests)
        positive = np.where(requests > 0, requests, np.inf)
        min_request = (positive.min(axis=0) if len(workload)
                       else np.full(3, np.inf))
        offered = (tuple(bool(x) for x in (fleet.capacity > 0).any(axis=0))
                   if len(fleet) else (True, True, with_disk))
        results = []
        with policy_mod.loaded(pol) as loaded:
            eng, note = make_engine(loaded, workload, shapes, shape_of,
                                    with_disk, self.engine)
            modes = [None if text in (None, ISOLATED) else
                     dsim.parse_mode(text, protected_shapes())
                     .for_workload(workload.start, requests)
                     for text in texts]
            for text, mode in zip(texts, modes):
                isolated = text == ISOLATED
                eng.isolation = (self.isolation.groups if isolated
                                 else None)
                name = pol.name if mode is None else f'{pol.name}+{mode.text}'
                if isolated:
                    name = f'{pol.name}+{isolation_mod.SUFFIX}'

                def tick(done, total, _name=name, _label='replay'):
                    if progress is not None:
                        progress(f'{_name}: {_label}', done, total)

                ledger = model.Ledger(fleet, len(workload))
                recorder = metrics_mod.Recorder(ledger, min_request, offered)
                chooser = eng.chooser(ledger)
                defrag = None
                if mode is not None:
                    defrag = dsim.Defrag(mode, ledger, requests, chooser,
                                         on_change=recorder.host_changed,
                                         starts=workload.start)
                out = replay(workload, ledger, chooser, requests,
                             recorder=recorder, progress=tick, defrag=defrag)
                result = PolicyResult(name, eng.name, note, out.rejections,
                                      out.decisions, out.wall_s,
                                      recorder.finish())
                if self.compact_search:
                    result.search = search_hosts_needed(
                        eng, mode, workload, requests, fleet, self.bound,
                        progress, name)
                if isolated:
                    result.isolation = self._isolation_fields(
                        loaded, with_disk, progress, name)
                if mode is not None:
                    searched = result.search.defrag if result.search else None
                    stats = (searched or defrag).stats
                    result.defrag = _defrag_fields(mode, stats, len(workload))
                if result.search is not None:
                    # the replay itself (ledger, chooser) is not kept
                    result.search.defrag = None
                results.append(result)
        return results

    def _isolation_fields(self, loaded, with_disk, progress, name):
        """What a ``POLICY+isolated`` result reports besides its metrics:
        the isolated tenants and, with the hosts-needed search, the hosts
        Nova's way needs (an aggregate per isolated tenant)."""
        setting = self.isolation
        out = {'setting': setting.text, 'projects': len(setting.projects),
               'peak_vcpu_share': setting.share,
               'fixed_aggregates_hosts': None, 'fixed_aggregates': None}
        if not self.compact_search:
            return out
        sizes = {}
        for part, sub in isolation_mod.partitions(self.workload, setting):
            requests = sub.requests(with_disk)
            shapes, shape_of = model.shapes_of(requests)
            eng, _ = make_engine(loaded, sub, shapes, shape_of, with_disk,
                                 self.engine)
            bound = compact.lower_bound(sub, self.fleet, requests)
            found = search_hosts_needed(
                eng, None, sub, requests, self.fleet, bound, progress,
                f'{name}: aggregate {part}')
            sizes[part] = found.hosts_needed
        out['fixed_aggregates'] = sizes
        if all(v is not None for v in sizes.values()):
            out['fixed_aggregates_hosts'] = sum(sizes.values())
        return out


def _green_threads():
    """Whether eventlet has patched this process's threads (as Nova's
    test fixtures do): worker processes would then wait on green locks
    forever, so the runs stay in this process."""
    import sys
    patcher = getattr(sys.modules.get('eventlet'), 'patcher', None)
    try:
        return bool(patcher and patcher.is_monkey_patched('thread'))
    except Exception:
        return True


#: the worker processes' run setting and progress queue
_WORKER: dict = {}


def _worker_init(setting, queue):
    import warnings

    # as in the command: Nova's dependencies warn about eventlet on import
    warnings.filterwarnings('ignore', message=r'(?s).*[Ee]ventlet')
    _WORKER['setting'] = setting
    _WORKER['queue'] = queue
    _WORKER['last'] = 0.0


def _worker_progress(label, done, total):
    now = time.monotonic()
    if now - _WORKER['last'] < PROGRESS_EVERY_S and done < total:
        return
    _WORKER['last'] = now
    _WORKER['queue'].put((label, done, total))


def _worker_run(pol, text):
    return _WORKER['setting'].run_policy(pol, [text], _worker_progress)


#: how often a worker process reports its progress
PROGRESS_EVERY_S = 0.5


def _run_parallel(setting, plan, jobs, progress):
    """:meth:`_Setting.run_policy` of every policy and mode, in ``jobs``
    worker processes (new interpreters: a fork could inherit a lock that
    some thread of the caller holds)."""
    import concurrent.futures
    import concurrent.futures.process
    import multiprocessing
    import queue as queue_mod
    ctx = multiprocessing.get_context('spawn')
    tasks = [(pol, text) for pol, texts in plan for text in texts]
    updates = ctx.Queue()
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=min(jobs, len(tasks)), mp_context=ctx,
            initializer=_worker_init,
            initargs=(setting, updates)) as pool:
        futures = [pool.submit(_worker_run, pol, text)
                   for pol, text in tasks]
        try:
            pending = set(futures)
            while pending:
                _, pending = concurrent.futures.wait(pending, timeout=0.2)
                while progress is not None:
                    try:
                        label, done, total = updates.get_nowait()
                    except queue_mod.Empty:
                        break
                    finished = len(futures) - len(pending)
                    progress(f'[{finished}/{len(futures)}] {label}', done,
                             total)
            return [r for future in futures for r in future.result()]
        except concurrent.futures.process.BrokenProcessPool as exc:
            raise EngineError(f'a worker process ended without a result '
                              f'({exc}); --jobs 1 replays in this process'
                              ) from None
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def search_hosts_needed(eng, mode, workload, requests, fleet, bound,
                        progress=None, name=''):
    """The hosts-needed search of one policy's engine ``eng`` (from
    :func:`make_engine`) on hosts of ``fleet``'s single class, with the
    consolidation ``mode`` active (``None``: none).  The one search every
    caller uses: it tells the search when replays may share decisions (not
    with tenant isolation, and how the weights depend on the candidates);
    the search reads the large-slot weigher's spare share and placement's
    candidate limit from the engine itself."""
    from nova_scale_ext.defrag import simulate as dsim
    sensitive = True
    # isolation: a host passes a VM by whose instances it holds
    share_prefixes = eng.shares_prefixes and eng.isolation is None
    if share_prefixes:
        probe = eng.chooser(model.Ledger(fleet.resized(1), 0))
        sensitive = probe.candidate_set_sensitive

    def search_tick(done, total):
        if progress is not None:
            progress(f'{name}: hosts needed', done, total)

    make_defrag = None
    if mode is not None:
        def make_defrag(ledger, chooser):
            return dsim.Defrag(mode, ledger, requests, chooser,
                               starts=workload.start)

    return compact.search(
        eng.chooser, workload, requests, fleet, bound,
        share_prefixes=share_prefixes, sensitive=sensitive,
        progress=search_tick, make_defrag=make_defrag,
        limit=min(workload.peak_alive_vms() + 1, fleet_mod.MAX_HOSTS))

