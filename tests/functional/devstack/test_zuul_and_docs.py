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
"""The gate job (.zuul.yaml) and the plugin's documentation stay true."""

import re

import yaml

from nova_scale_ext import recommended
from tests.functional.devstack import harness

DOC = harness.REPO / 'doc' / 'source' / 'devstack.rst'
SETTINGS = harness.REPO / 'devstack' / 'settings'


def settings_variables():
    return set(re.findall(r'^(NOVA_SCALE_EXT_[A-Z0-9_]+)=',
                          SETTINGS.read_text(), re.MULTILINE))


def zuul_jobs():
    config = yaml.safe_load((harness.REPO / '.zuul.yaml').read_text())
    return {item['job']['name']: item['job'] for item in config
            if 'job' in item}, config


def test_zuul_job_is_a_devstack_job_enabling_the_plugin():
    jobs, config = zuul_jobs()
    job = jobs['nova-scale-ext-devstack']

    assert job['parent'] == 'devstack'
    assert 'nova-scale-ext' in job['vars']['devstack_plugins']
    unknown = set(job['vars']['devstack_localrc']) - settings_variables()
    assert not unknown, f'not in devstack/settings: {unknown}'
    shim = jobs['nova-scale-ext-devstack-shim']
    assert shim['parent'] == 'nova-scale-ext-devstack'
    assert set(shim['vars']['devstack_localrc']) <= settings_variables()
    checked = {name if isinstance(name, str) else next(iter(name))
               for item in config if 'project' in item
               for name in item['project']['check']['jobs']}
    assert checked == set(jobs)


def test_zuul_run_playbook_exists_and_runs_the_functional_tests():
    jobs, _ = zuul_jobs()
    playbook_path = harness.REPO / jobs['nova-scale-ext-devstack']['run']

    plays = yaml.safe_load(playbook_path.read_text())

    assert plays[0]['roles'] == ['orchestrate-devstack']
    commands = ' '.join(str(task) for play in plays[1:]
                        for task in play['tasks'])
    assert 'pytest' in commands and 'tests/functional' in commands


def test_every_variable_is_documented():
    text = DOC.read_text()

    missing = {v for v in settings_variables() if f'``{v}' not in text
               and f'{v}``' not in text}

    assert not missing


def test_the_documented_default_nova_conf_is_the_recommended_one():
    text = DOC.read_text()

    for line in recommended.NOVA_CONF.splitlines():
        if line.startswith(('enabled_filters', 'weight_classes')):
            continue  # long lists: shown abridged
        assert f'    {line}'.rstrip() in text.splitlines(), line
