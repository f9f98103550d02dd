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
"""The fast engine: Nova's filter and weigher pipeline vectorised over hosts.

It makes the decisions of the reference engine (:mod:`.engine_nova`), which a
test checks on sampled workloads for every built-in policy, at a fraction of
the cost: per request, a few array operations over the candidate hosts
instead of one Python call per host, filter and weigher.

What it computes is discovered from the plugin classes the policy loads,
in their configured order:

* our weighers (subclasses of
  :class:`nova_scale_ext.scheduler.weights.base.PackingWeigher` that keep its
  ``weigh_objects``): their own scores of the candidate hosts, through
  ``score_fixed`` (:class:`nova_scale_ext.core.candidates.Scorer`) with a
  :class:`nova_scale_ext.core.scores.FixedCapacity` of the fleet built once,
  on the arrays :func:`nova_scale_ext.scheduler.adapters.host_vectors` and
  ``request_vector`` build (a new packing weigher needs no change here);
* Nova's ``RAMWeigher``, ``CPUWeigher``, ``DiskWeigher`` and
  ``NumInstancesWeigher``: the host attribute each one reads
  (``free_ram_mb``, ``vcpus_total * cpu_allocation_ratio - vcpus_used``,
  ``free_disk_mb``, ``num_instances``), clipped to the weigher's
  ``minval``/``maxval`` as ``BaseWeigher.weigh_objects`` does;
* weighers that give every host the same weight in this model (see
  :mod:`.engine_nova`): they add nothing after normalisation and are
  skipped, as are weighers whose multiplier is 0.0 on every host;
* filters: ``ScaleExtHeadroomFilter`` through its own ``host_headroom`` and
  the scoring core's ``headroom_fits``; the filters that pass every host in
  this model are skipped.

Each remaining weigher's raw values are min-max normalised over the candidate
hosts (or over its fixed ``minval``/``maxval``), multiplied by its per-host
multiplier (the weigher's own ``weight_multiplier``, so aggregate metadata
overrides apply) and summed in configuration order, as Nova's
``BaseWeightHandler`` does; the documented tie-break then picks the host.
Anything else makes :class:`FastUnsupported` name what cannot be modelled.
"""

import dataclasses

import numpy as np
from nova.scheduler.filters import (
    affinity_filter,
    all_hosts_filter,
    compute_capabilities_filter,
    compute_filter,
    image_props_filter,
)
from nova.scheduler.weights import affinity as affinity_weights
from nova.scheduler.weights import compute as compute_weights
from nova.scheduler.weights import cpu as cpu_weights
from nova.scheduler.weights import cross_cell as cross_cell_weights
from nova.scheduler.weights import disk as disk_weights
from nova.scheduler.weights import hypervisor_version as hv_weights
from nova.scheduler.weights import image_props as image_props_weights
from nova.scheduler.weights import io_ops as io_ops_weights
from nova.scheduler.weights import metrics as metrics_weights
from nova.scheduler.weights import num_instances as num_instances_weights
from nova.scheduler.weights import pci as pci_weights
from nova.scheduler.weights import ram as ram_weights
from oslo_config import cfg

from nova_scale_ext import common
from nova_scale_ext.core import candidates, resources, scores
from nova_scale_ext.scheduler import adapters
from nova_scale_ext.scheduler.filters import headroom as headroom_filter
from nova_scale_ext.scheduler.filters import isolation as isolation_filter
from nova_scale_ext.scheduler.weights import base as packing_base
from nova_scale_ext.scheduler.weights import large_slot
from nova_scale_ext.simulate import engine_nova, model
from nova_scale_ext.simulate import fleet as fleet_mod

#: Filters that pass every host in the simulator's model (see engine_nova).
NEUTRAL_FILTERS = (
    compute_filter.ComputeFilter,
    compute_capabilities_filter.ComputeCapabilitiesFilter,
    image_props_filter.ImagePropertiesFilter,
    affinity_filter.ServerGroupAntiAffinityFilter,
    affinity_filter.ServerGroupAffinityFilter,
    all_hosts_filter.AllHostsFilter,
)

#: Weighers that give every host the same raw weight in the model.
NEUTRAL_WEIGHERS = (
    io_ops_weights.IoOpsWeigher,
    compute_weights.BuildFailureWeigher,
    cross_cell_weights.CrossCellWeigher,
    hv_weights.HypervisorVersionWeigher,
    pci_weights.PCIWeigher,
    affinity_weights.ServerGroupSoftAffinityWeigher,
    affinity_weights.ServerGroupSoftAntiAffinityWeigher,
)

_RAM = 'free_ram_mb'
_CPU = 'free_vcpus'
_DISK = 'free_disk_mb'
_COUNT = 'num_instances'
_SCORE = 'score'

_NOVA_RAW = {
    ram_weights.RAMWeigher: _RAM,
    cpu_weights.CPUWeigher: _CPU,
    disk_weights.DiskWeigher: _DISK,
    num_instances_weights.NumInstancesWeigher: _COUNT,
}


class FastUnsupported(Exception):
    """The fast engine cannot model this policy (the reason says why)."""


def _qualname(obj):
    cls = type(obj)
    return f'{cls.__module__}.{cls.__name__}'


def _neutral_weigher(weigher):
    cls = type(weigher)
    if cls in NEUTRAL_WEIGHERS:
        return True
    if cls is metrics_weights.MetricsWeigher:
        if not cfg.CONF.metrics.weight_setting:
            return True
        raise FastUnsupported('MetricsWeigher with [metrics] weight_setting '
                              '(the simulator has no host metrics)')
    if cls is image_props_weights.ImagePropertiesWeigher:
        if cfg.CONF.filter_scheduler.image_props_weight_multiplier == 0.0:
            return True
        raise FastUnsupported('ImagePropertiesWeigher with a non-zero '
                              'image_props_weight_multiplier (the simulator '
                              'has no images)')
    return False


class _Term:
    """One weigher that can change the ranking."""

    def __init__(self, weigher, kind):
        self.weigher = weigher
        self.kind = kind
        self.minval = weigher.minval
        self.maxval = weigher.maxval

    @property
    def fixed_range(self):
        return self.minval is not None and self.maxval is not None


class FastEngine:
    """The vectorised pipeline of one policy (built while the policy is
    loaded in ``CONF``); raises :class:`FastUnsupported`."""

    name = 'fast'
    #: the compaction search may share prefixes of runs (see compact.py)
    shares_prefixes = True

    def __init__(self, loaded, workload, shapes, shape_of, with_disk):
        self.policy = loaded.policy
        self.shapes = shapes
        self.shape_of = shape_of
        self.limit = cfg.CONF.scheduler.max_placement_results
        #: each VM's isolation group (:class:`~.model.Isolation`; None:
        #: no tenant isolation), set by the caller
        self.isolation = None
        self.pick = engine_nova.pick_settings()
        self.headroom = None
        for cls in loaded.filter_classes:
            if cls in NEUTRAL_FILTERS:
                continue
            if cls is isolation_filter.ScaleExtTenantIsolationFilter:
                continue    # no project isolated (runner.make_engine)
            ours = headroom_filter.ScaleExtHeadroomFilter
            if issubclass(cls, ours) and cls.filter_all is ours.filter_all \
                    and cls.passing is ours.passing:
                if self.headroom is None:
                    self.headroom = cls()
                    continue
            raise FastUnsupported(f'filter {cls.__module__}.{cls.__name__}')
        self.terms = []
        for weigher in loaded.new_weighers():
            cls = type(weigher)
            if _neutral_weigher(weigher):
                continue
            if cls in _NOVA_RAW:
                self.terms.append(_Term(weigher, _NOVA_RAW[cls]))
            elif (isinstance(weigher, packing_base.PackingWeigher)
                  and cls.weigh_objects
                  is packing_base.PackingWeigher.weigh_objects):
                self.terms.append(_Term(weigher, _SCORE))
            else:
                raise FastUnsupported(f'weigher {_qualname(weigher)}')
        #: the share of empty candidates at which the large-slot weigher
        #: changes regime (None: no weight depends on how many candidates
        #: are empty); the hosts-needed search then compares each fleet
        #: size's regime at every decision (see compact.py)
        self.spare_share = None
        # a random pick depends on every pick before it
        self.shares_prefixes = not model.Picker(*self.pick).random
        for t in self.terms:
            if t.kind != _SCORE or not t.weigher.counts_empty_hosts():
                continue
            if type(t.weigher).score is large_slot.ScaleExtLargeSlotWeigher\
                    .score and self.spare_share is None:
                self.spare_share = large_slot.configured_spare_share()
            else:
                self.shares_prefixes = False
        self.resource_weights = packing_base.configured_resource_weights()
        self.headroom_defaults = [
            common.config_value(headroom_filter.CONF_GROUP, name)
            for name in headroom_filter.HEADROOM_OPTIONS]
        factory = engine_nova.RequestFactory(workload, shapes, with_disk)
        self.request_views = np.array(
            [adapters.request_vector(factory.spec(0, k))
             for k in range(len(shapes))], dtype=np.float64).reshape(-1, 3)

    def chooser(self, ledger):
        return FastChooser(self, ledger)


def _class_states(fleet):
    """One empty ``HostState`` per host class (hosts of a class only differ
    by name)."""
    one_each = fleet_mod.Fleet(
        tuple(dataclasses.replace(c, count=1) for c in fleet.classes),
        fleet.aggregates, fleet.name)
    return engine_nova.host_states(one_each)


class FastChooser:
    def __init__(self, engine, ledger):
        self.engine = engine
        self.ledger = ledger
        fleet = ledger.fleet
        self.placement = model.Placement(ledger, engine.shapes, engine.limit)
        self.picker = model.Picker(*engine.pick)
        self.isolation = (None if engine.isolation is None else
                          model.Isolation(engine.isolation, len(ledger)))
        self.pool = (0, 0)
        states = _class_states(fleet)
        cls_of = fleet.class_of

        def per_host(values):
            return np.asarray(values, dtype=np.float64)[cls_of]

        cap, used0 = zip(*(adapters.host_vectors(s) for s in states)) \
            if states else ((), ())
        self.cap_view = per_host(list(cap)).reshape(-1, 3)
        self.fixed = scores.FixedCapacity(self.cap_view,
                                          engine.resource_weights)
        self.used0_view = per_host(list(used0)).reshape(-1, 3)
        self.used0_any = bool(self.used0_view.any())
        self.ram_free0 = per_host([s.free_ram_mb for s in states])
        self.cpu_total = per_host([s.vcpus_total * s.cpu_allocation_ratio
                                   for s in states])
        self.cpu_used0 = per_host([s.vcpus_used for s in states])
        self.disk_free0 = per_host([s.free_disk_mb for s in states])
        self.terms = []
        sensitive = False
        for term in engine.terms:
            mult = per_host([term.weigher.weight_multiplier(s)
                             for s in states])
            if not mult.size or not mult.any():
                continue        # 0.0 everywhere: adds exactly nothing
            uniform = bool((mult == mult[0]).all())
            self.terms.append((term, float(mult[0]) if uniform else None,
                               mult))
            sensitive = sensitive or not term.fixed_range
        #: whether a weight depends on which other hosts are candidates
        self.candidate_set_sensitive = sensitive
        self.headroom = None
        if engine.headroom is not None:
            room = per_host([engine.headroom.host_headroom(
                s, engine.headroom_defaults) for s in states]).reshape(-1, 3)
            if room.any():
                self.headroom = room

    def _raw(self, term, idx, shape, hosts):
        led = self.ledger
        kind = term.kind
        if kind == _SCORE:
            if hosts[0] is None:
                used = led.used.take(idx, axis=0)
                if self.used0_any:
                    used += self.used0_view[idx]
                hosts[0] = candidates.Candidates(
                    self.cap_view.take(idx, axis=0), used,
                    self.engine.request_views[shape],
                    self.engine.resource_weights, led.count.take(idx), idx)
            raw = np.asarray(term.weigher.score_fixed(self.fixed, hosts[0]),
                             dtype=np.float64)
            if np.isfinite(np.add.reduce(raw, axis=None)):
                return raw
            # PackingWeigher.weigh_objects does this, and does not clip
            return resources.finite(raw)
        if kind == _RAM:
            raw = self.ram_free0[idx] - led.used[idx, 1]
        elif kind == _CPU:
            raw = self.cpu_total[idx] - (self.cpu_used0[idx]
                                         + led.used[idx, 0])
        elif kind == _DISK:
            raw = self.disk_free0[idx] - led.used[idx, 2] * 1024
        else:
            raw = led.count[idx].astype(np.float64)
        if term.minval is not None:
            raw = np.maximum(raw, term.minval)
        if term.maxval is not None:
            raw = np.minimum(raw, term.maxval)
        return raw

    def select(self, vm):
        host = self._select(vm)
        if host >= 0 and self.isolation is not None:
            self.isolation.placed(host, vm, self.ledger.count)
        return host

    def _select(self, vm):
        eng = self.engine
        shape = int(eng.shape_of[vm])
        idx = self.placement.candidates(shape)
        if self.isolation is not None:
            idx = self.isolation.allowed(idx, vm, self.ledger.count)
        if idx.size == 0:
            return -1
        if self.headroom is not None:
            ok = scores.headroom_fits(
                self.cap_view[idx], self.used0_view[idx] + self.ledger.used[
                    idx], eng.request_views[shape], self.headroom[idx])
            idx = idx[ok]
            if idx.size == 0:
                return -1
        if eng.spare_share is not None:
            #: candidates and empty ones among them, of this decision
            self.pool = (idx.size,
                         int(np.count_nonzero(self.ledger.count[idx] == 0)))
        if idx.size == 1:
            return int(idx[0])
        total = np.zeros(idx.size, dtype=np.float64)
        hosts = [None]      # the candidates, built for the first score
        for term, scalar, mult in self.terms:
            raw = self._raw(term, idx, shape, hosts)
            lo = float(term.minval) if term.minval is not None else float(
                np.minimum.reduce(raw))
            hi = float(term.maxval) if term.maxval is not None else float(
                np.maximum.reduce(raw))
            if lo == hi:
                continue        # Nova normalises to 0 for every host
            norm = (raw - lo) / (hi - lo)
            if scalar is not None:
                total += scalar * norm
            else:
                total += mult[idx] * norm
        return int(idx[self.picker.choose(total)])

    def changed(self, host):
        pass
