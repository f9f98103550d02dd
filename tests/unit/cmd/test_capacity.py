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

import json
import os
import subprocess
import sys

import pytest

from nova_scale_ext import cloud, model
from nova_scale_ext.cloud import Inventory, Provider
from nova_scale_ext.cmd import capacity, main


def host(name, vcpus, memory_mb, used_vcpus=0, used_mb=0, **kw):
    return model.Host(name, {'VCPU': vcpus, 'MEMORY_MB': memory_mb},
                      {'VCPU': used_vcpus, 'MEMORY_MB': used_mb}, **kw)


def snap(hosts, flavors):
    return model.Snapshot(tuple(hosts), flavors=tuple(
        model.Flavor(name, vcpus, memory_mb)
        for name, (vcpus, memory_mb) in flavors.items()))


def test_a_flavor_fits_as_often_as_its_scarcest_resource_allows():
    one = snap([host('h', 16, 8192)], {})
    assert one.slots({'VCPU': 2, 'MEMORY_MB': 2048}) == {'h': 4}


def test_allocation_ratio_reserved_and_usage_shape_the_free_capacity():
    # 4 cores at 4:1, 10 GiB with 2 GiB reserved, as placement reports it
    provider = Provider('h', {
        'VCPU': Inventory(4, allocation_ratio=4.0),
        'MEMORY_MB': Inventory(10240, reserved=2048)},
        {'VCPU': 2, 'MEMORY_MB': 2048})
    assert provider.free('VCPU') == 14
    assert provider.free('MEMORY_MB') == 6144
    view = cloud.Cloud([provider], {}, node_host={'': 'h'})
    one = cloud.snapshot(view)
    assert one.slots({'VCPU': 1, 'MEMORY_MB': 1024}) == {'h': 6}


def test_a_request_above_max_unit_or_of_a_missing_class_fits_nowhere():
    one = snap([host('h', 8, 8192, max_unit={'VCPU': 4})], {})
    assert one.slots({'VCPU': 6}) == {'h': 0}
    assert one.slots({'VCPU': 4}) == {'h': 2}
    assert one.slots({'VCPU': 2, 'PCPU': 1}) == {'h': 0}


def test_other_resource_classes_count_like_the_others():
    gpu = model.Host('g', {'VCPU': 32, 'MEMORY_MB': 65536, 'VGPU': 2},
                     {'VGPU': 1})
    plain = host('p', 32, 65536)
    one = model.Snapshot((gpu, plain), flavors=(
        model.Flavor('gpu', 4, 8192, other={'VGPU': 1}),))
    data = capacity.report(one)
    assert data['flavors']['gpu']['where'] == {'g': 1}
    assert data['resources']['VGPU'] == {
        'capacity': 2, 'used': 1, 'utilisation': 0.5, 'stranded': 0.0,
        'stranded_share': 0.0}


def test_flavor_request_follows_nova():
    assert cloud.flavor_request(2, 4096, 20, ephemeral=10, swap=1536) == {
        'VCPU': 2, 'MEMORY_MB': 4096, 'DISK_GB': 32}
    pinned = cloud.flavor_request(
        4, 1024, 0, extra_specs={'hw:cpu_policy': 'dedicated',
                                 'resources:CUSTOM_GPU': '1',
                                 'resources:VCPU': '0'})
    assert pinned == {'PCPU': 4, 'MEMORY_MB': 1024, 'CUSTOM_GPU': 1}


def test_report_counts_per_flavor_and_strands_what_no_flavor_can_use():
    hosts = [host('full-cpu', 4, 16384, used_vcpus=4),
             host('empty', 8, 16384)]
    flavors = {'small': (1, 2048), 'big': (8, 16384)}
    data = capacity.report(snap(hosts, flavors))
    assert data['flavors']['small'] == {
        'request': {'VCPU': 1, 'MEMORY_MB': 2048}, 'fits': 8,
        'where': {'empty': 8}}
    assert data['flavors']['big']['where'] == {'empty': 1}
    memory = data['resources']['MEMORY_MB']
    assert memory['capacity'] == 32768
    assert memory['stranded'] == 16384      # free, but beside no free vCPU
    assert data['resources']['VCPU']['utilisation'] == 4 / 12


def test_usage_left_out_is_what_the_instances_hold():
    hosts = [model.Host('h', {'VCPU': 8, 'MEMORY_MB': 8192})]
    one = model.Snapshot(tuple(hosts), (
        model.Instance('i1', 'h', {'VCPU': 2, 'MEMORY_MB': 4096}),),
        flavors=(model.Flavor('f', 2, 2048),))
    data = capacity.report(one)
    assert data['resources']['VCPU']['used'] == 2
    assert data['flavors']['f']['fits'] == 2


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / 'cloud.json'
    path.write_text(snap([host('busy', 8, 16384, used_vcpus=6),
                          host('empty', 8, 16384)],
                         {'a-rather-long-flavor-name': (2, 0)}).dumps())
    return str(path)


def lines_of(capsys, *argv):
    assert main.main(['capacity', *argv]) == 0
    return capsys.readouterr().out.splitlines()


def test_the_table_has_a_row_per_flavor(saved, capsys):
    lines = lines_of(capsys, '--snapshot', saved)
    assert [c.strip() for c in lines[1].split('|')[1:-1]] == [
        'Flavor', 'Fits', 'Where', 'Request']
    assert [c.strip() for c in lines[3].split('|')[1:-1]] == [
        'a-rather-long-flavor-name', '5', 'busy 1, empty 4', 'VCPU 2']


def test_resources_have_a_row_per_resource_class(saved, capsys):
    rows = json.loads('\n'.join(lines_of(
        capsys, '--snapshot', saved, '--resources', '-f', 'json')))
    assert rows == [
        {'Resource': 'MEMORY_MB', 'Capacity': 32768, 'Used': 0,
         'Utilisation': 0.0, 'Stranded': 0, 'Stranded Share': 0.0},
        {'Resource': 'VCPU', 'Capacity': 16, 'Used': 6,
         'Utilisation': 0.375, 'Stranded': 0, 'Stranded Share': 0.0}]


@pytest.mark.parametrize('argv, expected', [
    (('-f', 'value', '-c', 'Fits'), ['5']),
    (('-f', 'csv', '-c', 'flavor', '-c', 'fits'),
     ['"Flavor","Fits"', '"a-rather-long-flavor-name",5']),
    (('-f', 'yaml', '-c', 'Where'), ['- Where:', '    busy: 1',
                                     '    empty: 4']),
])
def test_the_standard_formatters_and_columns(saved, capsys, argv,
                                             expected):
    assert lines_of(capsys, '--snapshot', saved, *argv) == expected


def test_an_unknown_column_is_one_line(saved, capsys):
    assert main.main(['capacity', '--snapshot', saved, '-c', 'Host']) == 1
    err = capsys.readouterr().err
    assert err.startswith("nova-scale-ext capacity: -c: No recognized "
                          "column names in ['Host']")
    assert len(err.splitlines()) == 1


def test_a_saved_snapshot_gives_the_same_report(tmp_path, capsys):
    one = snap([host('full-cpu', 4, 16384, used_vcpus=4),
                host('empty', 8, 16384)], {'small': (1, 2048)})
    path = tmp_path / 'cloud.json'
    path.write_text(one.dumps())
    assert main.main(['capacity', '--snapshot', str(path), '--json']) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(
        capacity.report(one)))


@pytest.mark.parametrize('content, message', [
    (None, 'No such file'),
    (b'{"hosts": [', 'not JSON'),
    (b'\xff\xfe', 'not UTF-8'),
    (b'[' * 100000 + b']' * 100000, 'not JSON'),
    (b'{"hosts": [{"name": "h", "capacity": {"VCPU": NaN}}]}',
     "host 'h': capacity.VCPU: expected a finite number"),
    (b'{"format": "x"}', "format: expected 'nova-scale-ext-snapshot'"),
])
def test_a_bad_snapshot_file_is_one_clear_line(tmp_path, capsys, content,
                                               message):
    path = tmp_path / 'cloud.json'
    if content is not None:
        path.write_bytes(content)
    assert main.main(['capacity', '--snapshot', str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f'nova-scale-ext capacity: --snapshot {path}: ')
    assert message in err and len(err.splitlines()) == 1


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
