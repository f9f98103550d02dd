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
"""tools/test.sh runs the tests in shards (NOVA_SCALE_EXT_SHARD=I/N): every
test runs in exactly one of them."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# Small and quick to collect, with a module that must stay whole.
PATHS = ['tests/unit/core', 'tests/packaging/test_artifacts.py']


def _collect(shard=None):
    env = dict(os.environ)
    env.pop('NOVA_SCALE_EXT_SHARD', None)
    if shard is not None:
        env['NOVA_SCALE_EXT_SHARD'] = shard
    res = subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider',
         '--collect-only', '-q', *PATHS],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    return res, [line for line in res.stdout.splitlines() if '::' in line]


def test_shards_split_the_tests_without_loss_or_overlap():
    res, everything = _collect()
    assert res.returncode == 0, res.stdout + res.stderr
    shards = []
    for index in range(2):
        res, ids = _collect(f'{index}/2')
        assert res.returncode == 0, res.stdout + res.stderr
        shards.append(ids)
    assert sorted(shards[0] + shards[1]) == sorted(everything)
    assert not set(shards[0]) & set(shards[1])
    # Both get work; the packaging module is in one shard only.
    assert shards[0] and shards[1]
    packaging = [[i for i in ids if 'test_artifacts' in i] for ids in shards]
    assert sorted(map(len, packaging))[0] == 0
    assert sum(map(len, packaging)) > 1


@pytest.mark.parametrize('value', ['2/2', 'a/b', '-1/2', '0/1000'])
def test_a_bad_shard_is_a_usage_error(value):
    res, ids = _collect(value)
    assert res.returncode == 4, res.stdout + res.stderr
    assert f'NOVA_SCALE_EXT_SHARD={value!r}' in res.stdout + res.stderr
    assert 'Traceback' not in res.stdout + res.stderr
    assert ids == []
