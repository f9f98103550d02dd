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
"""nova-api validates the ``scale_ext:`` flavor extra specs.

Our validators are registered under Nova's
``nova.api.extra_spec_validators`` entry point; a deployed nova-api loads
them and answers a bad key or value in our namespace with 400 and a
message naming it. Nova validates extra specs from microversion 2.86 on;
openstacksdk's flavor calls stop at 2.61, so the request goes through the
SDK's compute proxy with the microversion asked for, as ``openstack
--os-compute-api-version 2.86 flavor set --property`` would send it.
"""

import pytest
from openstack import exceptions

VALIDATING_MICROVERSION = '2.86'


def set_extra_specs(conn, flavor, specs):
    response = conn.compute.post(
        f'/flavors/{flavor.id}/os-extra_specs', json={'extra_specs': specs},
        microversion=VALIDATING_MICROVERSION, raise_exc=False)
    exceptions.raise_from_response(response)
    return response.json()['extra_specs']


@pytest.fixture
def flavor(conn):
    flavor = conn.compute.create_flavor(name='e2e.extra-specs', vcpus=1,
                                        ram=512, disk=0)
    yield flavor
    conn.compute.delete_flavor(flavor)


def test_a_bad_value_is_refused_with_the_key_and_what_is_accepted(conn,
                                                                  flavor):
    with pytest.raises(exceptions.BadRequestException) as error:
        set_extra_specs(conn, flavor, {'scale_ext:hugepage_no_ksm': 'maybe'})
    message = str(error.value)
    assert 'scale_ext:hugepage_no_ksm' in message
    assert 'boolean' in message


def test_an_unknown_key_in_our_namespace_is_refused(conn, flavor):
    with pytest.raises(exceptions.BadRequestException) as error:
        set_extra_specs(conn, flavor, {'scale_ext:hugepage_no_kms': 'true'})
    assert 'scale_ext:hugepage_no_kms' in str(error.value)


def test_a_good_value_is_stored(conn, flavor):
    set_extra_specs(conn, flavor, {'scale_ext:hugepage_no_ksm': 'true',
                                   'scale_ext:on_invalid_xml': 'fail'})
    specs = conn.compute.fetch_flavor_extra_specs(flavor).extra_specs
    assert specs['scale_ext:hugepage_no_ksm'] == 'true'
    assert specs['scale_ext:on_invalid_xml'] == 'fail'
