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
"""The wheel ships ``nova/virt/scale_ext`` and nothing else of ``nova``.

Nova imports ``[DEFAULT] compute_driver`` from ``nova.virt`` only, so the
driver needs that small package; a ``nova/__init__.py`` or
``nova/virt/__init__.py`` in the wheel would overwrite Nova's own files. The
wheel is built from a copy of the source tree, so the build leaves nothing
behind in it.
"""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
IGNORE = shutil.ignore_patterns('.venv', '.git', '.tox', 'build', 'dist',
                                '*.egg-info', '__pycache__', '.pytest_cache',
                                '.ruff_cache')


@pytest.fixture(scope='module')
def wheel_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    shutil.copytree(ROOT, src, ignore=IGNORE, symlinks=True)
    env = dict(os.environ, PBR_VERSION='0.0.1')
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '--disable-pip-version-check', '-q',
         '-w', str(tmp / 'dist'), str(src)],
        env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    if "invalid command 'bdist_wheel'" in output:
        pytest.fail('building a wheel without build isolation needs the '
                    '"wheel" package (see test-requirements.txt)')
    assert result.returncode == 0, output
    [wheel] = (tmp / 'dist').glob('nova_scale_ext-*.whl')
    with zipfile.ZipFile(wheel) as zf:
        return {name: (zf.read(name).decode()
                       if name.endswith('entry_points.txt') else None)
                for name in zf.namelist()}


def test_wheel_ships_the_compute_driver_entry_package(wheel_files):
    assert 'nova/virt/scale_ext/__init__.py' in wheel_files
    assert 'nova_scale_ext/virt/driver.py' in wheel_files


def test_wheel_does_not_overwrite_novas_packages(wheel_files):
    assert 'nova/__init__.py' not in wheel_files
    assert 'nova/virt/__init__.py' not in wheel_files
    assert {f for f in wheel_files if f.startswith('nova/')} <= {
        'nova/virt/scale_ext/__init__.py'}


def test_wheel_registers_the_extra_spec_validators(wheel_files):
    [text] = [v for f, v in wheel_files.items()
              if f.endswith('.dist-info/entry_points.txt')]
    section = text.split('[nova.api.extra_spec_validators]', 1)[1]
    assert section.split('[', 1)[0].split() == [
        'scale_ext', '=', 'nova_scale_ext.virt.extra_specs']


def test_tests_are_not_shipped(wheel_files):
    assert not [f for f in wheel_files if f.startswith('tests/')]
