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
"""Thin adapters from Nova's scheduler objects to the scoring core.

Nova hands filters and weighers ``HostState`` and ``RequestSpec`` objects
whose fields can be missing (a compute node that has not reported yet), zero,
negative (overcommitted after an allocation ratio was lowered) or come from
free-form aggregate metadata.  Everything here turns them into plain numbers
without ever raising: a bad value is logged once, naming where it came from,
and a safe default is used instead.
"""

import math
import operator

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from nova_scale_ext import common
from nova_scale_ext.core import resources

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def warn_once(key, msg, params):
    """:func:`~nova_scale_ext.common.warn_once` on this module's logger."""
    common.warn_once(key, msg, params, log=LOG)


def _finite_float(value):
    try:
        num = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return num if math.isfinite(num) else None


def _host_name(host_state):
    return (f"{getattr(host_state, 'host', '?')}/"
            f"{getattr(host_state, 'nodename', '?')}")


#: HostState fields the packing scores read, in this order.
_FIELDS = ('vcpus_total', 'cpu_allocation_ratio', 'vcpus_used',
           'total_usable_ram_mb', 'ram_allocation_ratio', 'free_ram_mb',
           'total_usable_disk_gb', 'disk_allocation_ratio', 'free_disk_mb')
_RATIO_COLUMNS = {1: 'cpu_allocation_ratio', 4: 'ram_allocation_ratio',
                  7: 'disk_allocation_ratio'}
_get_fields = operator.attrgetter(*_FIELDS)


def _field_or_nan(host_state, name):
    try:
        return float(getattr(host_state, name, None))
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _raw_fields(host_states):
    """The fields of every host as a (hosts, 9) float array; a missing or
    unreadable value becomes NaN."""
    try:
        rows = [_get_fields(h) for h in host_states]
        raw = np.array(rows, dtype=np.float64)
    except Exception:  # a field missing or not a number: go one by one
        raw = np.array([[_field_or_nan(h, f) for f in _FIELDS]
                        for h in host_states], dtype=np.float64)
    return raw.reshape(-1, len(_FIELDS))


def _warn_bad_ratios(host_states, raw):
    for col, attr in _RATIO_COLUMNS.items():
        ratios = raw[:, col]
        with np.errstate(invalid='ignore'):
            bad = ~np.isnan(ratios) & ~(np.isfinite(ratios) & (ratios > 0))
        for idx in np.flatnonzero(bad):
            host = _host_name(host_states[idx])
            warn_once(('ratio', host, attr, float(ratios[idx])),
                      "Host %(host)s reports an invalid %(attr)s %(value)r; "
                      "packing scores use 1.0 for it.",
                      {'host': host, 'attr': attr,
                       'value': float(ratios[idx])})


def fleet_vectors(host_states):
    """``(capacity, used)`` arrays of shape (hosts, resources).

    Capacity is what each host offers after its allocation ratio: vCPUs,
    memory in MiB and disk in GiB.  Usage is taken from the host's free
    amounts, so memory and disk the compute node keeps reserved count as
    used, as they do in Nova's own accounting.  Missing values mean "not
    offered" (capacity) or "nothing used" (usage); an invalid allocation
    ratio counts as 1.0 and is logged once.
    """
    host_states = list(host_states)
    raw = _raw_fields(host_states)
    _warn_bad_ratios(host_states, raw)
    totals = np.nan_to_num(raw[:, [0, 3, 6]], nan=0.0, posinf=0.0,
                           neginf=0.0)
    capacity = resources.effective_capacity(totals, raw[:, [1, 4, 7]])
    capacity = np.asarray(capacity, dtype=np.float64).reshape(-1, 3)
    free = np.nan_to_num(raw[:, [5, 8]], nan=0.0, posinf=0.0, neginf=0.0)
    used = np.zeros_like(capacity)
    used[:, 0] = np.nan_to_num(raw[:, 2], nan=0.0, posinf=0.0, neginf=0.0)
    used[:, 1] = np.where(totals[:, 1] > 0, totals[:, 1] - free[:, 0], 0.0)
    used[:, 2] = np.where(totals[:, 2] > 0,
                          totals[:, 2] - free[:, 1] / 1024.0, 0.0)
    return capacity, used


def host_vectors(host_state):
    """``(capacity, used)`` vectors of one ``HostState`` (see
    :func:`fleet_vectors`)."""
    capacity, used = fleet_vectors([host_state])
    return capacity[0], used[0]


def request_vector(spec_obj):
    """Resources one instance of ``spec_obj`` asks for.

    vCPUs and memory come from the flavor; disk is counted as placement
    counts it: ephemeral and swap, plus the root disk unless the instance
    boots from volume.  A request without a usable flavor asks for nothing
    (and is logged once).
    """
    try:
        flavor = spec_obj.flavor
        vcpus = _finite_float(flavor.vcpus) or 0.0
        memory_mb = _finite_float(flavor.memory_mb) or 0.0
        disk_gb = (_finite_float(flavor.ephemeral_gb) or 0.0) + math.ceil(
            (_finite_float(flavor.swap) or 0.0) / 1024.0)
        is_bfv = 'is_bfv' in spec_obj and spec_obj.is_bfv
        if not is_bfv:
            disk_gb += _finite_float(flavor.root_gb) or 0.0
    except Exception as exc:  # any object Nova could hand us
        warn_once(('request', type(exc).__name__),
                  "Cannot read the flavor of a request (%(error)s); packing "
                  "scores treat it as asking for no resources.",
                  {'error': exc})
        return resources.vector()
    return resources.vector(max(vcpus, 0.0), max(memory_mb, 0.0),
                            max(disk_gb, 0.0))


def aggregate_float(host_state, key, default, minimum=None, maximum=None):
    """A number from the aggregate metadata of a host, else ``default``.

    As Nova's own per-aggregate options, when several aggregates of the host
    set ``key`` the smallest valid value wins.  A value that is not a finite
    number, or outside [minimum, maximum], is ignored with one warning naming
    the aggregate, the key and the value.
    """
    values = []
    try:
        aggregates = list(getattr(host_state, 'aggregates', None) or [])
    except Exception:
        aggregates = []
    for agg in aggregates:
        try:
            metadata = agg.metadata or {}
            if key not in metadata:
                continue
            raw = metadata[key]
        except Exception:
            continue
        value = _finite_float(raw)
        if value is not None and (minimum is None or value >= minimum) and (
                maximum is None or value <= maximum):
            values.append(value)
            continue
        name = getattr(agg, 'name', None) or getattr(agg, 'id', '?')
        warn_once(('aggregate', str(name), key, repr(raw)),
                  "Aggregate %(agg)s has an invalid value %(value)r for "
                  "metadata key %(key)s (expected a number%(range)s); "
                  "using %(default)s for its hosts instead.",
                  {'agg': name, 'value': raw, 'key': key,
                   'range': _range_text(minimum, maximum),
                   'default': default})
    return min(values) if values else default


def _range_text(minimum, maximum):
    if minimum is not None and maximum is not None:
        return f' between {minimum} and {maximum}'
    if minimum is not None:
        return f' of at least {minimum}'
    if maximum is not None:
        return f' of at most {maximum}'
    return ''
