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
"""The end-to-end cloud, once per test session.

The tests skip, saying what is missing, on a machine that cannot run the
cloud (not root, packages or virtualenvs missing: see
tools/e2e/install-e2e.sh), unless ``NOVA_SCALE_EXT_REQUIRE_E2E=1``, which
turns that into a failure (CI sets it). The directory with the
configuration and the logs of every service is kept when a test failed, or
always with ``NOVA_SCALE_EXT_E2E_KEEP=1``.
"""

import os
import shutil
import signal
import tempfile

import pytest

from tests.e2e import cloud as cloud_mod

_REPORT = []


def _unavailable(reason):
    if os.environ.get('NOVA_SCALE_EXT_REQUIRE_E2E') == '1':
        pytest.fail(f'end-to-end cloud required but {reason}',
                    pytrace=False)
    pytest.skip(f'end-to-end cloud: {reason}')


@pytest.fixture(scope='session')
def e2e_cloud(request):
    missing = cloud_mod.missing_requirements()
    if missing:
        _unavailable('; '.join(missing))
    root = tempfile.mkdtemp(prefix='nova-scale-ext-e2e-')
    no_libvirt = cloud_mod.libvirt_unavailable()
    no_vmware = cloud_mod.vmware_unavailable()
    cloud = cloud_mod.Cloud(root, log=_REPORT.append,
                            libvirt=no_libvirt is None,
                            vmware=no_vmware is None)
    cloud.no_libvirt = no_libvirt
    cloud.no_vmware = no_vmware
    if no_libvirt:
        _REPORT.append(f'e2e cloud: no libvirt compute: {no_libvirt}')
    if no_vmware:
        _REPORT.append(f'e2e cloud: no VMware computes: {no_vmware}')
    # A TERM (a CI job's time limit, kill) tears the cloud down like
    # Ctrl-C: pytest runs the session's finalizers on KeyboardInterrupt.
    signal.signal(signal.SIGTERM, cloud_mod.interrupt)
    try:
        cloud.start()
    except BaseException as exc:
        # start() has stopped whatever it had started.
        _REPORT.append(f'e2e cloud: logs kept in {root}')
        if isinstance(exc, cloud_mod.CloudError):
            pytest.fail(f'the end-to-end cloud did not come up: {exc}',
                        pytrace=False)
        raise
    try:
        yield cloud
    finally:
        _REPORT.append(f'e2e cloud: {cloud.memory_mib():.0f} MiB resident '
                       'before teardown')
        cloud.stop()
        if (os.environ.get('NOVA_SCALE_EXT_E2E_KEEP') == '1' or
                request.session.testsfailed):
            _REPORT.append(f'e2e cloud: logs kept in {root}')
        else:
            shutil.rmtree(root, ignore_errors=True)


def _with(cloud, present, why, what, env):
    """The cloud, when it has ``what``; else skip saying ``why``, or fail
    when the environment variable ``env`` is ``1``."""
    if not present:
        if os.environ.get(env) == '1':
            pytest.fail(f'{what} required but {why}', pytrace=False)
        pytest.skip(f'no {what}: {why}')
    return cloud


@pytest.fixture
def libvirt_cloud(e2e_cloud):
    """The cloud, when it has its libvirt compute."""
    return _with(e2e_cloud, e2e_cloud.libvirt, e2e_cloud.no_libvirt,
                 'libvirt compute', 'NOVA_SCALE_EXT_REQUIRE_LIBVIRT')


@pytest.fixture
def vmware_cloud(e2e_cloud):
    """The cloud, when it has its VMware computes."""
    return _with(e2e_cloud, e2e_cloud.vmware, e2e_cloud.no_vmware,
                 'VMware computes', 'NOVA_SCALE_EXT_REQUIRE_VMWARE')


@pytest.fixture
def conn(e2e_cloud):
    """An openstacksdk connection through the cloud's clouds.yaml."""
    connection = e2e_cloud.connect()
    yield connection
    connection.close()


def pytest_terminal_summary(terminalreporter):
    for line in _REPORT:
        terminalreporter.write_line(line)
