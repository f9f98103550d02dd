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
"""Workload and fleet files: what is read, and what bad input says."""

import math

import numpy as np
import pytest

from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import workload as wl_mod


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_csv_is_read_with_optional_columns(tmp_path):
    path = _write(tmp_path, 'vms.csv',
                  'id,vcpus,memory_mb,disk_gb,start_s,end_s,flavor\n'
                  'a,2,4096,20,0,100,m1.medium\n'
                  'b,1,512,0,5,,m1.tiny\n')
    wl = wl_mod.read(path)
    assert len(wl) == 2
    assert wl.vcpus.tolist() == [2, 1]
    assert wl.memory_mb.tolist() == [4096, 512]
    assert wl.disk_gb.tolist() == [20, 0]
    assert math.isinf(wl.end[1])            # empty end_s: never leaves
    assert list(wl.flavors) == ['m1.medium', 'm1.tiny']
    assert wl.projects is None


def test_huawei_format_is_detected_and_converted_from_gib(tmp_path):
    path = _write(tmp_path, 'h.csv',
                  'vmid,cpu,mem,at,lt\n0,1,2,10,50\n1,4,0.5,11,0\n')
    assert wl_mod.detect_format(path) == 'huawei-lt'
    wl = wl_mod.read(path)
    assert wl.memory_mb.tolist() == [2048, 512]
    assert wl.end.tolist() == [60.0, 11.0]


def test_csv_round_trip(tmp_path):
    wl = wl_mod.synthetic(200, 5)
    path = str(tmp_path / 'out.csv')
    wl_mod.write_csv(wl, path)
    back = wl_mod.read(path, 'csv')
    for field in ('vcpus', 'memory_mb', 'disk_gb', 'start', 'end'):
        np.testing.assert_array_equal(getattr(back, field),
                                      getattr(wl, field))
    assert list(back.flavors) == list(wl.flavors)


@pytest.mark.parametrize('body,line,field', [
    ('a,2,4096,20,0,100\nb,x,512,0,5,9\n', 3, 'vcpus'),
    ('a,0,4096,20,0,100\n', 2, 'vcpus'),
    ('a,2,-1,20,0,100\n', 2, 'memory_mb'),
    ('a,2,4096,-5,0,100\n', 2, 'disk_gb'),
    ('a,2,4096,20,50,10\n', 2, 'end_s'),
    ('a,2,4096,20,nan,100\n', 2, 'start_s'),
    ('a,2,4096,20,0\n', 2, None),
])
def test_bad_csv_rows_name_file_line_and_field(tmp_path, body, line, field):
    path = _write(tmp_path, 'bad.csv',
                  'id,vcpus,memory_mb,disk_gb,start_s,end_s\n' + body)
    with pytest.raises(wl_mod.WorkloadError) as err:
        wl_mod.read(path, 'csv')
    assert err.value.path == path
    assert err.value.line == line
    assert err.value.field == field
    assert f'{path}, line {line}' in str(err.value)


@pytest.mark.parametrize('header,field', [
    ('id,vcpus,memory_mb,disk_gb,start_s', 'end_s'),
    ('id,vcpus,memory_mb,disk_gb,start_s,end_s,colour', 'colour'),
])
def test_bad_csv_headers(tmp_path, header, field):
    path = _write(tmp_path, 'bad.csv', header + '\n')
    with pytest.raises(wl_mod.WorkloadError) as err:
        wl_mod.read(path, 'csv')
    assert err.value.line == 1
    assert err.value.field == field


def test_bad_huawei_rows(tmp_path):
    path = _write(tmp_path, 'h.csv', 'vmid,cpu,mem,at,lt\n0,1,two,0,5\n')
    with pytest.raises(wl_mod.WorkloadError, match="line 2, field 'mem'"):
        wl_mod.read(path, 'huawei-lt')
    path = _write(tmp_path, 'h2.csv', 'id,vcpus\n')
    with pytest.raises(wl_mod.WorkloadError, match='expected the header'):
        wl_mod.read(path, 'huawei-lt')


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(wl_mod.WorkloadError, match='nope.csv'):
        wl_mod.read(str(tmp_path / 'nope.csv'))
    path = tmp_path / 'bin.csv'
    path.write_bytes(b'\xff\xfe\x00garbage')
    with pytest.raises(wl_mod.WorkloadError):
        wl_mod.read(str(path))


def test_synthetic_is_seeded_and_shaped_like_a_cloud():
    a = wl_mod.synthetic(3000, 7)
    b = wl_mod.synthetic(3000, 7)
    c = wl_mod.synthetic(3000, 8)
    np.testing.assert_array_equal(a.vcpus, b.vcpus)
    np.testing.assert_array_equal(a.start, b.start)
    assert not np.array_equal(a.vcpus, c.vcpus)
    assert len(a) == 3000
    assert (np.diff(a.start) >= 0).all()
    assert (a.end > a.start).all()
    # mostly small flavors, a few large ones
    assert np.median(a.vcpus) <= 2
    assert a.vcpus.max() >= 16


@pytest.mark.parametrize('text,expected', [
    ('80c/180G', (80, 184320, 0)),
    ('96c/384G/2000', (96, 393216, 2000)),
    ('8C/15.5g', (8, 15872, 0)),
])
def test_host_sizes(text, expected):
    hc = fleet_mod.parse_host_size(text)
    assert (hc.vcpus, hc.memory_mb, hc.disk_gb) == expected


@pytest.mark.parametrize('text', ['80', '80c', 'c/180G', '0c/10G',
                                  '80c/-1G', '80c/180G/x', ''])
def test_bad_host_sizes(text):
    with pytest.raises(fleet_mod.FleetError, match='host size'):
        fleet_mod.parse_host_size(text)


def test_fleet_file(tmp_path):
    path = _write(tmp_path, 'f.yaml', """\
name: two
host_classes:
  - {name: a, count: 2, vcpus: 16, memory_mb: 32768,
     cpu_allocation_ratio: 4.0, reserved_memory_mb: 512, aggregates: [x]}
  - {name: b, count: 1, vcpus: 32, memory_mb: 65536, disk_gb: 500}
aggregates:
  x: {best_fit_weight_multiplier: 2}
""")
    fl = fleet_mod.load_fleet(path)
    assert len(fl) == 3
    assert fl.aggregates == {'x': {'best_fit_weight_multiplier': '2'}}
    # capacity after allocation ratio and reserved
    assert fl.capacity[0].tolist()[:2] == [64.0, 32256.0]
    assert fl.capacity[2].tolist() == [32.0, 65536.0, 500.0]


@pytest.mark.parametrize('text,needle', [
    ('host_classes: []\n', 'host_classes'),
    ('host_classes:\n  - {name: a, vcpus: 4, memory_mb: 1024}\n', 'count'),
    ('host_classes:\n  - {name: a, count: two, vcpus: 4, memory_mb: 1}\n',
     'count'),
    ('host_classes:\n  - {name: a, count: 1, vcpus: 4, memory_mb: 1,'
     ' colour: red}\n', 'colour'),
    ('host_classes: [\n', 'not valid YAML'),
    ('hosts: 3\n', 'hosts'),
    ('host_classes:\n  - {name: a, count: 1, vcpus: 4, memory_mb: 1,'
     ' aggregates: [y]}\naggregates: {y: [1]}\n', 'aggregates.y'),
])
def test_bad_fleet_files(tmp_path, text, needle):
    path = _write(tmp_path, 'f.yaml', text)
    with pytest.raises(fleet_mod.FleetError) as err:
        fleet_mod.load_fleet(path)
    assert path in str(err.value)
    assert needle in str(err.value)


def test_day_resample_keeps_days_and_lifetimes():
    wl = wl_mod.synthetic(4000, 2)
    days = int((wl.start.max() - wl.start.min()) // wl_mod.DAY_S) + 1
    a = wl_mod.resample_days(wl, 5)
    b = wl_mod.resample_days(wl, 5)
    c = wl_mod.resample_days(wl, 6)
    np.testing.assert_array_equal(a.start, b.start)
    assert not np.array_equal(a.start, c.start)
    assert (np.diff(a.start) >= 0).all()
    # same number of days; every VM keeps its lifetime and time of day
    span = int((a.start.max() - a.start.min()) // wl_mod.DAY_S) + 1
    assert span <= days
    lifetimes = sorted((wl.end - wl.start).tolist())
    assert set((a.end - a.start).tolist()) <= set(lifetimes)
    def time_of_day(w):
        return set(((w.start - wl.start.min()) % wl_mod.DAY_S).tolist())

    assert time_of_day(a) <= time_of_day(wl)
    # flavors come along with their VMs
    pairs = set(zip(wl.flavors, wl.vcpus.tolist()))
    assert set(zip(a.flavors, a.vcpus.tolist())) <= pairs


CSV_HEADER = 'id,vcpus,memory_mb,disk_gb,start_s,end_s\n'


@pytest.mark.parametrize('row,field', [
    ('a,1e30,4096,20,0,100', 'vcpus'),
    (f'a,{2 ** 63},4096,20,0,100', 'vcpus'),
    (f'a,{2 ** 20 + 1},4096,20,0,100', 'vcpus'),
    (f'a,2,{2 ** 63},20,0,100', 'memory_mb'),
    (f'a,2,{2 ** 32 + 1},20,0,100', 'memory_mb'),
    ('a,2,4096,1e19,0,100', 'disk_gb'),
    ('a,2,4096,20,1e300,', 'start_s'),
    ('a,2,4096,20,0,1e300', 'end_s'),
])
def test_absurd_csv_values_name_the_field_and_the_maximum(tmp_path, row,
                                                          field):
    path = _write(tmp_path, 'big.csv', CSV_HEADER + row + '\n')
    with pytest.raises(wl_mod.WorkloadError) as err:
        wl_mod.read(path, 'csv')
    assert (err.value.line, err.value.field) == (2, field)
    assert f"{path}, line 2, field '{field}': expected at most" in str(
        err.value)


@pytest.mark.parametrize('row,field', [
    ('0,1e30,2,0,5', 'cpu'),
    ('0,1,1e306,0,5', 'mem'),
    (f'0,1,{2 ** 22 + 1},0,5', 'mem'),
    ('0,1,2,1e300,5', 'at'),
    ('0,1,2,0,1e308', 'lt'),
])
def test_absurd_huawei_values_name_the_field_and_the_maximum(tmp_path, row,
                                                             field):
    path = _write(tmp_path, 'h.csv', 'vmid,cpu,mem,at,lt\n' + row + '\n')
    with pytest.raises(wl_mod.WorkloadError) as err:
        wl_mod.read(path, 'huawei-lt')
    assert (err.value.line, err.value.field) == (2, field)
    assert 'expected at most' in str(err.value)


def test_largest_accepted_values_are_read(tmp_path):
    path = _write(tmp_path, 'max.csv', CSV_HEADER + (
        f'a,{wl_mod.MAX_VCPUS},{wl_mod.MAX_MEMORY_MB},{wl_mod.MAX_DISK_GB},'
        f'0,{wl_mod.MAX_TIME_S}\n'))
    wl = wl_mod.read(path, 'csv')
    assert wl.memory_mb.tolist() == [2 ** 32]


def test_error_messages_quote_at_most_a_few_dozen_characters(tmp_path):
    path = _write(tmp_path, 'long.csv', CSV_HEADER + 'a,' + 'x' * 100_000
                  + ',1,0,0,1\n')
    with pytest.raises(wl_mod.WorkloadError) as err:
        wl_mod.read(path, 'csv')
    assert len(str(err.value)) < len(path) + 150


def test_synthetic_and_identical_fleets_have_a_maximum_size():
    with pytest.raises(ValueError, match='at most 10,000,000'):
        wl_mod.synthetic(10 ** 12)
    with pytest.raises(fleet_mod.FleetError, match='at most 1,000,000'):
        fleet_mod.identical(10 ** 12, '80c/180G')
    with pytest.raises(fleet_mod.FleetError, match='at most 1,048,576'):
        fleet_mod.parse_host_size('9' * 30 + 'c/180G')


def test_day_resample_refuses_an_absurd_time_span():
    wl = wl_mod.Workload(
        'long', ['a', 'b'], np.array([1, 1]), np.array([512, 512]),
        np.zeros(2, dtype=np.int64), np.array([0.0, 1e10]),
        np.array([10.0, 1e10 + 10]))
    with pytest.raises(wl_mod.WorkloadError,
                       match=r'long: its arrivals span 115,741 days; .* at '
                             r'most 36,525'):
        wl_mod.resample_days(wl, 1)


@pytest.mark.parametrize('text,needle', [
    ('host_classes:\n  - {name: a, count: 1000000000000, vcpus: 4,'
     ' memory_mb: 1024}\n', 'count: expected at most 1,000,000'),
    ('host_classes:\n  - {name: a, count: 600000, vcpus: 4, memory_mb: 1}\n'
     '  - {name: b, count: 600000, vcpus: 4, memory_mb: 1}\n',
     'expected at most 1,000,000 hosts in all, got 1,200,000'),
    ('host_classes:\n  - {name: a, count: 1, vcpus: .inf, memory_mb: 1}\n',
     'vcpus: expected a positive integer'),
    ('host_classes:\n  - {name: a, count: 1, vcpus: 4,'
     ' memory_mb: 100000000000000000000000}\n',
     'memory_mb: expected at most 4,294,967,296'),
    ('host_classes:\n  - {name: a, count: 1, vcpus: 4, memory_mb: 1,'
     ' aggregates: [[x, y]]}\n', 'aggregates: expected a string'),
    ('host_classes:\n  - {name: a, count: 1, vcpus: 4, memory_mb: '
     + '1' * 5000 + '}\n', 'not a usable YAML file'),
])
def test_absurd_fleet_files(tmp_path, text, needle):
    path = _write(tmp_path, 'f.yaml', text)
    with pytest.raises(fleet_mod.FleetError) as err:
        fleet_mod.load_fleet(path)
    assert path in str(err.value)
    assert needle in str(err.value)


def test_fleet_files_refuse_yaml_aliases(tmp_path):
    """A few aliases would expand into gigabytes of names and messages."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 5):
        lines.append(f'{chr(97 + i)}: &{chr(97 + i)} '
                     f'[{", ".join([f"*{chr(96 + i)}"] * 7)}]')
    lines.append('host_classes:\n  - {name: x, count: 1, vcpus: 4,'
                 ' memory_mb: 1024, aggregates: *e}')
    path = _write(tmp_path, 'bomb.yaml', '\n'.join(lines) + '\n')
    with pytest.raises(fleet_mod.FleetError) as err:
        fleet_mod.load_fleet(path)
    assert str(err.value) == (
        f'{path}, line 1: YAML anchors and aliases (&, *) are not allowed '
        'in a fleet file; write each value out')
    # a merge key needs an alias too
    path = _write(tmp_path, 'merge.yaml', """\
base: &base {vcpus: 4, memory_mb: 1024}
host_classes:
  - {<<: *base, name: x, count: 1}
""")
    with pytest.raises(fleet_mod.FleetError, match='line 1: YAML anchors'):
        fleet_mod.load_fleet(path)


@pytest.mark.parametrize('text', [
    'host_classes:\n  - {name: ' + 'a' * 100_000 + ', count: 1, vcpus: 4,'
    ' memory_mb: 1}\n',
    'host_classes:\n  - name: a\n    count: 1\n    vcpus: 4\n'
    '    memory_mb: 1\n    ? ' + 'b' * 100_000 + '\n    : 1\n',
    'host_classes:\n  - {name: a, count: 1, vcpus: 4, memory_mb: 1,'
    ' aggregates: [' + 'c' * 100_000 + ']}\n',
    'host_classes:\n  - {name: a, count: [' + '1, ' * 30_000 + '1],'
    ' vcpus: 4, memory_mb: 1}\n',
    'aggregates: {x: {key: ' + 'd' * 100_000 + '}}\nhost_classes:\n'
    '  - {name: a, count: 1, vcpus: 4, memory_mb: 1}\n',
])
def test_fleet_errors_echo_short_names(tmp_path, text):
    path = _write(tmp_path, 'f.yaml', text)
    with pytest.raises(fleet_mod.FleetError) as err:
        fleet_mod.load_fleet(path)
    assert len(str(err.value)) < len(path) + 300


def test_a_vm_larger_than_every_host_is_an_error_naming_it():
    """Memory written in KiB, say: the VM cannot size a fleet."""
    from nova_scale_ext.simulate import compact
    wl = wl_mod.Workload(
        'vms.csv', ['small', 'huge'], np.array([2, 2]),
        np.array([1024, 10 ** 9]), np.zeros(2, dtype=np.int64),
        np.array([0.0, 1.0]), np.array([10.0, 10.0]))
    one = fleet_mod.identical(1, '80c/180G')
    with pytest.raises(compact.Unplaceable) as err:
        compact.lower_bound(wl, one, wl.requests(False))
    assert str(err.value) == (
        "vms.csv: VM 'huge' asks 1,000,000,000 MiB of memory, more than a "
        'host of 80c/180G offers (184,320 MiB): no number of such hosts can '
        'place it')
    # on a mixed fleet, a VM may exceed each class in another resource
    wl = wl_mod.Workload(
        'vms.csv', ['wide'], np.array([64]), np.array([300_000]),
        np.zeros(1, dtype=np.int64), np.array([0.0]), np.array([10.0]))
    mixed = fleet_mod.Fleet((
        fleet_mod.HostClass('a', 2, 8, 400_000),
        fleet_mod.HostClass('b', 2, 128, 16_384)))
    with pytest.raises(compact.Unplaceable,
                       match="VM 'wide' .* fits no single host"):
        compact.lower_bound(wl, mixed, wl.requests(False))
    # reserved amounts count: 180G less 4G reserved
    reserved = fleet_mod.Fleet((fleet_mod.HostClass(
        'r', 1, 80, 184320, reserved_memory_mb=4096),))
    wl = wl_mod.Workload(
        'vms.csv', ['full'], np.array([1]), np.array([184320]),
        np.zeros(1, dtype=np.int64), np.array([0.0]), np.array([10.0]))
    with pytest.raises(compact.Unplaceable, match='offers .180,224 MiB.'):
        compact.lower_bound(wl, reserved, wl.requests(False))
