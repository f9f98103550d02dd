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
"""shellcheck and bashate on the DevStack plugin, our stand-ins and the
project's own shell scripts (tools/, .ci/run).

Without the tools the tests are skipped, saying which tool is missing;
``NOVA_SCALE_EXT_REQUIRE_LINT=1`` (set in CI) turns that skip into a failure.
bashate runs with the options OpenStack's DevStack plugins use: long lines
(E006) allowed, E005 and E042 as errors.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.devstack import harness

SHELL_FILES = ('devstack/plugin.sh', 'devstack/settings',
               'devstack/lib/nova-scale-ext',
               'tests/functional/devstack/fake_devstack.sh',
               *sorted(str(path.relative_to(harness.REPO))
                       for path in Path(harness.REPO).glob('tools/**/*.sh')),
               '.ci/run')
BASHATE_OPTIONS = ('-v', '-iE006', '-eE005,E042')


def tool(name, install):
    found = shutil.which(name)
    venv_copy = Path(sys.prefix, 'bin', name)
    if not found and venv_copy.exists():
        found = str(venv_copy)
    if found:
        return found
    message = f'{name} is not installed ({install})'
    if os.environ.get('NOVA_SCALE_EXT_REQUIRE_LINT') == '1':
        pytest.fail(f'{message} and NOVA_SCALE_EXT_REQUIRE_LINT=1')
    pytest.skip(message)


def run(command):
    proc = subprocess.run(command, cwd=harness.REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shellcheck_finds_nothing():
    shellcheck = tool('shellcheck', 'apt-get install shellcheck')
    # -x follows the `source` lines (devstack/.shellcheckrc sets the path).
    run([shellcheck, '-x', *SHELL_FILES])


def test_bashate_finds_nothing():
    bashate = tool('bashate', 'pip install bashate')
    run([bashate, *BASHATE_OPTIONS, *SHELL_FILES])
