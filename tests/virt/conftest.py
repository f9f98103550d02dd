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
"""Fixtures of the driver shim's tests."""

import pytest

from tests.virt import domains


@pytest.fixture(scope='session')
def libvirt_schema():
    """libvirt's own domain schema (``schema.DomainSchema``), compiled once;
    skips, or fails in CI, where libvirt is not installed."""
    return domains.libvirt_schema()
