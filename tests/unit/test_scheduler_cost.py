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
"""benchmarks/scheduler_cost.py runs both pipelines and its busy load."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'benchmarks', 'scheduler_cost.py')


def _run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args],
                          capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def test_both_pipelines_are_timed_beside_a_busy_load():
    res = _run('--hosts', '30', '--requests', '6', '--load', '2',
               '--load-kind', 'mixed')
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert '30 hosts, 6 requests' in out
    assert '2 busy processes (mixed)' in out
    for name in ('nova-default', 'scale-ext'):
        line = next(li for li in out.splitlines() if li.startswith(name))
        assert re.search(r'[\d.]+ ms CPU/request \(median; [\d.]+ ms '
                         r'elapsed\)', line), line
    assert re.search(r'ratio scale-ext / nova-default: \d+\.\d{3}', out)
    assert re.search(r'per-request ratio: median \d+\.\d{3}, quartiles '
                     r'\d+\.\d{3} to \d+\.\d{3}', out)


def test_bad_arguments_are_one_line():
    res = _run('--load', 'many')
    assert res.returncode == 2
    assert 'Traceback' not in res.stderr
    assert '--load' in res.stderr
