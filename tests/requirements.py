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
"""Tests that need something this machine may lack (libvirt's schema, a
libvirtd): skip them saying what is missing and how to get it, or fail them
where the environment says it must be there (CI sets
``NOVA_SCALE_EXT_REQUIRE_LIBVIRT=1``).

Call these from a test or a pytest fixture; for a ``unittest.TestCase``
(Nova's test classes), use a fixture through ``pytest.mark.usefixtures``:
testtools does not understand pytest's skip.
"""

import os

import pytest

LIBVIRT = 'NOVA_SCALE_EXT_REQUIRE_LIBVIRT'


def unavailable(what, how, env=LIBVIRT):
    """Skip the running test because ``what`` is missing; fail it instead
    when the environment variable ``env`` is ``1``."""
    __tracebackhide__ = True
    if os.environ.get(env) == '1':
        pytest.fail(f'{what}: {how} ({env}=1 makes this a failure, not a '
                    f'skip)', pytrace=False)
    pytest.skip(f'{what}: {how}')


def require(condition, what, how, env=LIBVIRT):
    """Go on if ``condition`` holds, else :func:`unavailable`."""
    __tracebackhide__ = True
    if not condition:
        unavailable(what, how, env)
