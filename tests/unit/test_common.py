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
"""The layer the plugins, the driver and the tools share."""

import subprocess
import sys
from unittest import mock

import pytest
from oslo_config import cfg

from nova_scale_ext import common
from nova_scale_ext import conf as scale_conf


@pytest.fixture
def conf(tmp_path):
    def load(text):
        path = tmp_path / 'nova.conf'
        path.write_text(text)
        from nova.conf import scheduler
        c = cfg.ConfigOpts()
        scheduler.register_opts(c)
        scale_conf.register_opts(c)
        c(['--config-file', str(path)], project='nova')
        return c
    return load


def test_a_problem_is_logged_once_until_reset():
    common.once.reset()
    log = mock.Mock()
    for _ in range(3):
        common.warn_once(('test', 1), 'bad %(x)s', {'x': 1}, log=log)
    common.warn_once(('test', 2), 'bad %(x)s', {'x': 2}, log=log)
    assert log.warning.call_count == 2
    common.once.reset()
    common.warn_once(('test', 1), 'bad %(x)s', {'x': 1}, log=log)
    assert log.warning.call_count == 3


def test_an_invalid_option_reads_as_its_default_with_one_warning(conf):
    c = conf('[scale_ext_weights]\nlarge_slot_spare_host_share = nan\n'
             'best_fit_weight_multiplier = 2.5\n')
    common.once.reset()
    with mock.patch.object(common, 'CONF', c), \
            mock.patch.object(common.LOG, 'warning') as warning:
        share = common.config_value('scale_ext_weights',
                                    'large_slot_spare_host_share')
        again = common.config_value('scale_ext_weights',
                                    'large_slot_spare_host_share')
        good = common.config_value('scale_ext_weights',
                                   'best_fit_weight_multiplier')
    default = scale_conf.default_of('scale_ext_weights',
                                    'large_slot_spare_host_share')
    assert share == again == default
    assert good == 2.5
    assert warning.call_count == 1
    assert 'large_slot_spare_host_share' in warning.call_args[0][0] % (
        warning.call_args[0][1])


def test_invalid_values_lists_each_bad_option_of_the_groups_asked(conf):
    c = conf('[scale_ext_weights]\nlarge_slot_spare_host_share = nan\n'
             '[scale_ext_filters]\nheadroom_vcpu_ratio = lots\n')
    found = common.invalid_values(['scale_ext_weights', 'no_such_group'],
                                  conf=c)
    assert [(g, n) for g, n, _ in found] == [
        ('scale_ext_weights', 'large_slot_spare_host_share')]
    both = common.invalid_values(['scale_ext_weights', 'scale_ext_filters'],
                                 conf=c)
    assert {n for _, n, _ in both} == {'large_slot_spare_host_share',
                                       'headroom_vcpu_ratio'}


def test_plugins_resolve_as_nova_scheduler_resolves_them(conf):
    from nova import exception
    c = conf('[filter_scheduler]\n'
             'available_filters = nova.scheduler.filters.all_filters\n'
             'available_filters = '
             'nova_scale_ext.scheduler.filters.all_filters\n'
             'enabled_filters = ComputeFilter,ScaleExtHeadroomFilter\n')
    available, enabled, weighers = common.resolve_plugins(c)
    assert [cls.__name__ for cls in enabled] == ['ComputeFilter',
                                                 'ScaleExtHeadroomFilter']
    assert set(enabled) <= set(available)
    assert weighers
    c = conf('[filter_scheduler]\nenabled_filters = ComputeFilter,Nope\n')
    with pytest.raises(exception.SchedulerHostFilterNotFound) as info:
        common.resolve_plugins(c)
    assert 'Nope' in str(info.value)


def test_importing_the_common_layer_does_not_import_nova():
    code = ('import sys, nova_scale_ext.common; '
            'print(any(m == "nova" or m.startswith("nova.") '
            'for m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip() == 'False'
