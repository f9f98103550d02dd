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
"""``nova-scale-ext capacity``: the arithmetic on placement's numbers.

The command against a real cloud is tested in tests/e2e/test_capacity.py.
"""

import os
import subprocess
import sys

from nova_scale_ext import cloud
from nova_scale_ext.cloud import Inventory, Provider
from nova_scale_ext.cmd import capacity, main


def host(name, vcpus, memory_mb, used_vcpus=0, used_mb=0, cpu_ratio=1.0,
         reserved_mb=0):
    return Provider(name, {
        'VCPU': Inventory(vcpus, allocation_ratio=cpu_ratio),
        'MEMORY_MB': Inventory(memory_mb, reserved=reserved_mb)},
        {'VCPU': used_vcpus, 'MEMORY_MB': used_mb})


def test_a_flavor_fits_as_often_as_its_scarcest_resource_allows():
    assert host('h', 16, 8192).fits({'VCPU': 2, 'MEMORY_MB': 2048}) == 4


def test_allocation_ratio_reserved_and_usage_shape_the_free_capacity():
    provider = host('h', 4, 10240, used_vcpus=2, used_mb=2048,
                    cpu_ratio=4.0, reserved_mb=2048)
    assert provider.free('VCPU') == 14
    assert provider.free('MEMORY_MB') == 6144
    assert provider.fits({'VCPU': 1, 'MEMORY_MB': 1024}) == 6


def test_a_request_above_max_unit_or_of_a_missing_class_fits_nowhere():
    provider = Provider('h', {'VCPU': Inventory(8, max_unit=4)}, {})
    assert provider.fits({'VCPU': 6}) == 0
    assert provider.fits({'VCPU': 2, 'PCPU': 1}) == 0


def test_flavor_request_follows_nova():
    assert cloud.flavor_request(2, 4096, 20, ephemeral=10, swap=1536) == {
        'VCPU': 2, 'MEMORY_MB': 4096, 'DISK_GB': 32}
    pinned = cloud.flavor_request(
        4, 1024, 0, extra_specs={'hw:cpu_policy': 'dedicated',
                                 'resources:CUSTOM_GPU': '1',
                                 'resources:VCPU': '0'})
    assert pinned == {'PCPU': 4, 'MEMORY_MB': 1024, 'CUSTOM_GPU': 1}


def test_report_counts_per_flavor_and_strands_what_no_flavor_can_use():
    providers = [host('full-cpu', 4, 16384, used_vcpus=4),
                 host('empty', 8, 16384)]
    flavors = {'small': {'VCPU': 1, 'MEMORY_MB': 2048},
               'big': {'VCPU': 8, 'MEMORY_MB': 16384}}
    data = capacity.report(providers, flavors)
    assert data['flavors']['small'] == {
        'request': flavors['small'], 'fits': 8, 'where': {'empty': 8}}
    assert data['flavors']['big']['where'] == {'empty': 1}
    memory = data['resources']['MEMORY_MB']
    assert memory['capacity'] == 32768
    assert memory['stranded'] == 16384      # free, but beside no free vCPU
    assert data['resources']['VCPU']['utilisation'] == 4 / 12


def test_the_table_has_a_row_per_flavor_and_per_resource_class():
    data = capacity.report([host('empty', 8, 16384)],
                           {'a-rather-long-flavor-name': {'VCPU': 2}})
    lines = capacity.format_table(data).splitlines()
    assert lines[1].split() == ['a-rather-long-flavor-name', '4', 'empty',
                                '4']
    assert lines[4].split() == ['MEMORY_MB', '16384', '0', '0.0%', '0',
                                '(0.0%)']


def test_the_command_is_registered_with_its_options():
    args = main.build_parser().parse_args(
        ['capacity', '--os-cloud', 'prod', '--json'])
    assert args.func is capacity.run
    assert args.os_cloud == 'prod' and args.json


def test_an_unreachable_cloud_is_reported_by_name(tmp_path):
    clouds = tmp_path / 'clouds.yaml'
    clouds.write_text('clouds:\n  gone:\n    auth:\n'
                      '      auth_url: http://127.0.0.1:9/v3\n'
                      '      username: u\n      password: p\n'
                      '      project_name: p\n'
                      '      user_domain_name: Default\n'
                      '      project_domain_name: Default\n')
    result = subprocess.run(
        [sys.executable, '-m', 'nova_scale_ext.cmd.main', 'capacity',
         '--os-cloud', 'gone'], capture_output=True, text=True, timeout=120,
        env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds)))
    assert result.returncode == 1
    assert "cloud 'gone'" in result.stderr
