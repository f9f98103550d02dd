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
the hosts needed (:mod:`.compact`).
"""

import dataclasses
import time

import numpy as np

from nova_scale_ext.simulate import compact, model
from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import metrics as metrics_mod
from nova_scale_ext.simulate import policy as policy_mod
from nova_scale_ext.simulate.replay import replay

ENGINES = ('auto', 'fast', 'reference')

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
    from nova_scale_ext.simulate import engine_fast, engine_nova
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


def run(workload, fleet, policies, *, compact_search=False, engine='auto',
        progress=None):
    """Replay ``workload`` on ``fleet`` under each policy.

    ``progress(label, done, total)`` is called now and then.  With
    ``compact_search`` (``fleet`` must then have one host class), also search
    the smallest number of such hosts each policy needs.
    """
    if compact_search and len(fleet.classes) != 1:
        raise ValueError('the hosts-needed search needs identical hosts (one '
                         'host class)')
    host_size = fleet.classes[0] if compact_search else None
    began = time.perf_counter()
    with_disk = fleet.offers_disk
    requests = workload.requests(with_disk)
    shapes, shape_of = model.shapes_of(requests)
    positive = np.where(requests > 0, requests, np.inf)
    min_request = positive.min(axis=0) if len(workload) else np.full(3, np.inf)
    offered = tuple(bool(x) for x in (fleet.capacity > 0).any(axis=0)) \
        if len(fleet) else (True, True, with_disk)
    bound = compact.lower_bound(workload, fleet, requests)
    results = []
    for pol in policies:
        def tick(done, total, _name=pol.name, _label='replay'):
            if progress is not None:
                progress(f'{_name}: {_label}', done, total)

        with policy_mod.loaded(pol) as loaded:
            eng, note = make_engine(loaded, workload, shapes, shape_of,
                                    with_disk, engine)
            ledger = model.Ledger(fleet, len(workload))
            recorder = metrics_mod.Recorder(ledger, min_request, offered)
            chooser = eng.chooser(ledger)
            out = replay(workload, ledger, chooser, requests,
                         recorder=recorder, progress=tick)
            result = PolicyResult(pol.name, eng.name, note, out.rejections,
                                  out.decisions, out.wall_s,
                                  recorder.finish())
            if compact_search:
                sensitive = True
                if eng.shares_prefixes:
                    probe = eng.chooser(model.Ledger(fleet.resized(1), 0))
                    sensitive = probe.candidate_set_sensitive

                def search_tick(done, total, _name=pol.name):
                    if progress is not None:
                        progress(f'{_name}: hosts needed', done, total)

                result.search = compact.search(
                    eng.chooser, workload, requests, fleet, bound,
                    share_prefixes=eng.shares_prefixes, sensitive=sensitive,
                    progress=search_tick)
            results.append(result)
    peak = workload.alive_peak(requests).tolist()
    return Report(workload, fleet, bound, with_disk, compact_search,
                  host_size, results, peak, time.perf_counter() - began)
