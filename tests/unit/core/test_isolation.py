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

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_scale_ext.core import isolation as iso

POLICY = iso.Policy.from_options(['bank'], ['lab:physics,chemistry'])


def test_options_make_groups_of_one_and_declared_trust_domains():
    assert POLICY.active
    assert POLICY.group_of('bank') == 'bank'
    assert POLICY.group_of('physics') == POLICY.group_of('chemistry') == 'lab'
    assert POLICY.group_of('anyone') == iso.SHARED
    assert POLICY.group_of(None) == iso.SHARED
    assert POLICY.names() == ['bank', 'lab']
    assert not iso.Policy.from_options([], []).active
    # blanks and repeats are harmless
    again = iso.Policy.from_options([' bank ', '', 'bank'],
                                    ['lab: physics , chemistry,', ' '])
    assert again.groups == POLICY.groups


@pytest.mark.parametrize('projects, groups, message', [
    (['bank'], ['bank2:bank'], "already in isolation group 'bank'"),
    ([], ['lab:a', 'lab:b'], "'lab' is used twice"),
    (['lab'], ['lab:a'], "'lab' is used twice"),
    ([], ['lab'], 'expected NAME:PROJECT'),
    ([], [':a'], 'expected NAME:PROJECT'),
    ([], ['bad name:a'], 'expected NAME:PROJECT'),
    ([], ['lab:'], 'has no project'),
    (['a b'], [], "'a b' is not a project ID"),
    ([], ['lab:ok,a;b'], "'a;b' is not a project ID"),
])
def test_bad_policies_are_refused_naming_the_value(projects, groups,
                                                   message):
    with pytest.raises(iso.PolicyError) as info:
        iso.Policy.from_options(projects, groups)
    assert message in str(info.value)


def test_owners_of_hosts():
    assert POLICY.owner([]) == iso.EMPTY
    assert POLICY.owner(['x', 'y', None]) == iso.SHARED
    assert POLICY.owner(['physics', 'chemistry']) == 'lab'
    assert POLICY.owner(['bank', 'bank']) == 'bank'
    assert POLICY.owner(['bank', 'x']) == iso.MIXED
    assert POLICY.owner(['bank', 'physics']) == iso.MIXED
    # not known: nobody may share it
    assert POLICY.owner(None) == iso.MIXED


def test_who_passes_which_host():
    for group in ('bank', 'lab', iso.SHARED):
        assert iso.passes(iso.EMPTY, group)
        assert not iso.passes(iso.MIXED, group)
    assert iso.passes('bank', 'bank')
    assert not iso.passes('bank', 'lab')
    assert not iso.passes('bank', iso.SHARED)
    assert not iso.passes(iso.SHARED, 'bank')
    assert iso.passes(iso.SHARED, iso.SHARED)
    assert iso.violation(iso.MIXED) and not iso.violation('bank')


projects = st.lists(st.sampled_from(['bank', 'physics', 'chemistry', 'x',
                                     'y', None]), max_size=6)


@settings(max_examples=300, deadline=None)
@given(host=projects, project=st.sampled_from(['bank', 'physics', 'x',
                                               None]))
def test_a_host_passed_never_ends_shared_across_groups(host, project):
    """Whatever a host holds, placing an instance the rule lets in never
    makes a host with an isolated group's instance and another's."""
    owner = POLICY.owner(host)
    group = POLICY.group_of(project)
    if iso.passes(owner, group):
        after = POLICY.owner(host + [project])
        assert after != iso.MIXED
        assert after == group


def test_the_vector_form_agrees():
    owners = np.array([iso.EMPTY_CODE, iso.SHARED_CODE, 1, 2,
                       iso.MIXED_CODE])
    assert iso.passes_codes(owners, 0).tolist() == [True, True, False,
                                                    False, False]
    assert iso.passes_codes(owners, 1).tolist() == [True, False, True,
                                                    False, False]
