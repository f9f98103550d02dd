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
"""ScaleExtTenantIsolationFilter on Nova's own HostState, RequestSpec and
filter handler."""

import logging

import pytest
from nova import objects
from nova.scheduler import filters as nova_filters
from oslo_config import cfg
from oslo_config import fixture as cfg_fixture

from nova_scale_ext import common
from nova_scale_ext.scheduler.filters import isolation
from tests import nova_objects as nobj

GROUP = 'scale_ext_isolation'


@pytest.fixture
def conf():
    fixture = cfg_fixture.Config(cfg.CONF)
    fixture.setUp()
    common.once.reset()
    yield fixture
    fixture.cleanUp()
    common.once.reset()


def fleet():
    return [
        nobj.host('empty', 16, 32768),
        nobj.host('shop', 16, 32768, vcpus_used=4, memory_mb_used=4096,
                  projects={'shop': 2}),
        nobj.host('bank', 16, 32768, vcpus_used=2, memory_mb_used=2048,
                  projects={'bank': 1}),
        nobj.host('lab', 16, 32768, vcpus_used=2, memory_mb_used=2048,
                  projects={'physics': 1, 'chemistry': 1}),
        # a project left the host: its count is 0
        nobj.host('was-bank', 16, 32768, vcpus_used=2, memory_mb_used=2048,
                  projects={'bank': 0, 'shop': 1}),
    ]


def passing(project, hosts=None):
    spec = nobj.request(2, 2048, project_id=project)
    result = nova_filters.HostFilterHandler().get_filtered_objects(
        [isolation.ScaleExtTenantIsolationFilter()], hosts or fleet(), spec)
    return sorted(h.host for h in (result or []))


def test_no_policy_passes_every_host(conf):
    assert passing('shop') == ['bank', 'empty', 'lab', 'shop', 'was-bank']


def test_isolated_projects_and_groups_get_hosts_of_their_own(conf):
    conf.config(group=GROUP, isolated_projects=['bank'],
                isolation_groups=['lab:physics,chemistry'])
    assert passing('bank') == ['bank', 'empty']
    assert passing('physics') == ['empty', 'lab']
    assert passing('chemistry') == ['empty', 'lab']
    # everyone else: never a host of an isolated group
    assert passing('shop') == ['empty', 'shop', 'was-bank']
    assert passing('newcomer') == ['empty', 'shop', 'was-bank']


def test_instances_the_host_manager_loaded_count_too(conf):
    conf.config(group=GROUP, isolated_projects=['bank'])
    host = nobj.host('quiet', 16, 32768, vcpus_used=2, memory_mb_used=2048,
                     num_instances=1)
    inst = objects.Instance(uuid='6f1d8a52-2c1e-4d3a-9b7e-0c8d1f2a3b4c',
                            project_id='bank')
    host.instances = {inst.uuid: inst}
    assert passing('shop', [host]) == []
    assert passing('bank', [host]) == ['quiet']


def test_a_host_whose_projects_are_unknown_passes_no_one(conf):
    conf.config(group=GROUP, isolated_projects=['bank'])
    # an instance on it (stats or the scheduler's own count), no project
    unknown = nobj.host('unknown', 16, 32768, vcpus_used=2,
                        memory_mb_used=2048, num_instances=1)
    assert passing('bank', [unknown]) == []
    assert passing('shop', [unknown]) == []
    # an instance in flight: the scheduler counted it, placement has it
    inflight = nobj.host('inflight', 16, 32768)
    inflight.num_instances += 1
    assert passing('shop', [inflight]) == []
    # a count that cannot be read
    garbled = nobj.host('garbled', 16, 32768, projects={'shop': 1})
    garbled.stats['num_proj_bank'] = 'many'
    assert passing('shop', [garbled]) == []


def test_an_invalid_policy_isolates_everyone_and_says_so(conf, caplog):
    conf.config(group=GROUP, isolated_projects=['bank'],
                isolation_groups=['lab:bank'])
    caplog.set_level(logging.ERROR)
    # every project on its own: only empty hosts and a project's own
    assert passing('shop') == ['empty', 'shop', 'was-bank']
    assert passing('bank') == ['bank', 'empty']
    assert passing('physics') == ['empty']
    errors = [r for r in caplog.records
              if 'isolated from every other' in r.getMessage()]
    assert len(errors) == 1
    assert 'already in isolation group' in errors[0].getMessage()
    # fixed: the policy is read again
    conf.config(group=GROUP, isolation_groups=[])
    assert passing('shop') == ['empty', 'lab', 'shop', 'was-bank']


def test_the_filter_never_raises_into_nova(conf, caplog, monkeypatch):
    conf.config(group=GROUP, isolated_projects=['bank'])

    def broken(*_):
        raise RuntimeError('boom')

    monkeypatch.setattr(isolation.isolation, 'passes', broken)
    caplog.set_level(logging.ERROR)
    # the safe side: only empty hosts
    assert passing('shop') == ['empty']
    assert passing('bank') == ['empty']
    assert sum('failed' in r.getMessage() for r in caplog.records) == 1


def test_rebuilds_are_not_judged(conf):
    conf.config(group=GROUP, isolated_projects=['bank'])
    spec = nobj.request(2, 2048, project_id='shop')
    spec.scheduler_hints = {'_nova_check_type': ['rebuild']}
    result = nova_filters.HostFilterHandler().get_filtered_objects(
        [isolation.ScaleExtTenantIsolationFilter()], fleet(), spec)
    assert len(result) == 5


def test_a_multi_create_request_takes_the_empty_host_it_was_given(conf):
    conf.config(group=GROUP, isolated_projects=['bank'])
    hosts = fleet()
    spec = nobj.request(2, 2048, project_id='bank')
    empty = hosts[0]
    # nova-scheduler consumes the chosen host for the next instance
    empty.consume_from_request(spec)
    # the host's stats do not know the instance yet: no one else gets it
    assert 'empty' not in passing('shop', hosts)
