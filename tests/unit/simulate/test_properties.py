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
"""Property-based tests: whatever bytes a trace file or a fleet file holds,
the reader gives a valid workload or fleet, or its own one-line error
naming the file (and the line and field of a trace where there is one)."""

import csv
import dataclasses
import io
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from nova_scale_ext.simulate import fleet as fleet_mod
from nova_scale_ext.simulate import workload as wl_mod

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.data_too_large])
#: Longest error message, beyond the path it names.
MAX_MESSAGE = 300


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp('inputs')


def _write(directory, name, data):
    path = directory / name
    path.write_bytes(data)
    return str(path)


def _physical_lines(data):
    """Lines as the readers count them (``\\n``, ``\\r\\n`` or ``\\r``)."""
    return len(io.StringIO(data.decode('utf-8', 'replace'),
                           newline='').readlines())


# --- trace files -------------------------------------------------------------

#: Field values that have broken or fooled readers.
ODD_FIELDS = (
    'nan', 'NaN', 'inf', '-inf', 'Infinity', '-0', '-0.0', '+0', '0', '1e30',
    '1e400', '-1e400', '1e-400', '1e-300', '9' * 400, '1' * 5000,
    str(2 ** 64), str(wl_mod.MAX_VCPUS + 1), str(wl_mod.MAX_MEMORY_MB + 1),
    str(wl_mod.MAX_TIME_S + 1), '1e11', '4194304', '4194305', '0.0004',
    '\u00b2', '\u0663', '\uff11\uff12', '1_0', '0x10', '1.5', '2.0', '',
    ' ', '\t', '\u2003', '\ufeff1', '1\x00', '\x00', 'x' * 300, '"', '""',
    '"a,b"', '"a\nb"', '#', '1,2', '\\', '\x1a', '\u2028',
)
odd_fields = st.one_of(
    st.sampled_from(ODD_FIELDS),
    st.integers(-10, 10 ** 12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=8),
)
CSV_COLUMNS = wl_mod.CSV_REQUIRED + wl_mod.CSV_OPTIONAL


def _plausible(column, draw):
    """A value a real trace could hold in ``column``."""
    small = st.integers(0, 64)
    if column in ('vcpus', 'cpu'):
        return str(draw(st.integers(1, 64)))
    if column == 'memory_mb':
        return str(draw(st.integers(1, 65536)))
    if column == 'mem':
        return draw(st.sampled_from(['0.5', '1', '2', '4', '8.0', '64']))
    if column == 'disk_gb':
        return str(draw(small))
    if column in ('start_s', 'at', 'lt'):
        return draw(st.sampled_from(['0', '1', '60.5', '3600', '86400']))
    if column == 'end_s':
        return draw(st.sampled_from(['', '86400', '100000.25']))
    return draw(st.text(max_size=5))


@st.composite
def traces(draw):
    """``(bytes, format)``: a header and rows, mostly plausible, with odd
    fields, wrong column counts, comments, blank lines, mixed line ends, a
    BOM, NUL bytes or bytes that are not UTF-8 mixed in."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300)), draw(
            st.sampled_from(['csv', 'huawei-lt', None]))
    fmt = draw(st.sampled_from(['csv', 'huawei-lt', None]))
    if fmt == 'huawei-lt' or (fmt is None and draw(st.booleans())):
        header = list(wl_mod.HUAWEI_COLUMNS)
    else:
        optional = draw(st.lists(st.sampled_from(wl_mod.CSV_OPTIONAL),
                                 unique=True))
        header = draw(st.permutations(list(wl_mod.CSV_REQUIRED) + optional))
    if draw(st.integers(0, 5)) == 0:
        header = draw(st.lists(st.one_of(st.sampled_from(CSV_COLUMNS + (
            'ID', ' id ', 'colour', '')), odd_fields), max_size=8))
    lines = [header]
    for _ in range(draw(st.integers(0, 6))):
        row = [_plausible(column, draw) for column in header]
        if row and draw(st.integers(0, 3)) == 0:
            row[draw(st.integers(0, len(row) - 1))] = draw(odd_fields)
        if draw(st.integers(0, 6)) == 0:
            row = row[:draw(st.integers(0, len(row)))] + draw(
                st.lists(odd_fields, max_size=2))
        lines.append(row)
        if draw(st.integers(0, 8)) == 0:
            lines.append(draw(st.sampled_from([[], ['# comment'], [' ']])))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(
        st.sampled_from(['\n', '\r\n', '\r'])))
    quote = draw(st.booleans())
    for row in lines:
        if quote:
            writer.writerow(row)
        else:
            out.write(','.join(row) + '\n')
    data = out.getvalue().encode('utf-8')
    if draw(st.integers(0, 5)) == 0:
        data = b'\xef\xbb\xbf' + data
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(
            [b'\x00', b'\xff', b'\xc3', b'\r', b'\n', b'"', b',',
             b'\xe2\x80\xa8', b'\x1a'])) + data[at:]
    if draw(st.integers(0, 30)) == 0:
        data += b'a,' + b'9' * 140_000 + b'\n'
    return data, fmt


def check_workload(wl, data):
    n = len(wl)
    assert n <= _physical_lines(data)
    assert len(wl.ids) == n and all(isinstance(i, str) for i in wl.ids)
    for arr, low, high in ((wl.vcpus, 1, wl_mod.MAX_VCPUS),
                           (wl.memory_mb, 1, wl_mod.MAX_MEMORY_MB),
                           (wl.disk_gb, 0, wl_mod.MAX_DISK_GB)):
        assert arr.shape == (n,) and arr.dtype == np.int64
        assert ((arr >= low) & (arr <= high)).all()
    assert np.isfinite(wl.start).all()
    assert ((wl.start >= 0) & (wl.start <= wl_mod.MAX_TIME_S)).all()
    assert not np.isnan(wl.end).any()
    assert (wl.end >= wl.start).all()
    assert (wl.end[np.isfinite(wl.end)] <= 2 * wl_mod.MAX_TIME_S).all()
    for seq in (wl.flavors, wl.projects):
        assert seq is None or len(seq) == n
    order, times = wl.events
    assert order.size <= 2 * n and np.isfinite(times).all()
    assert np.isfinite(wl.alive_peak(wl.requests())).all()
    assert 0 <= wl.peak_alive_vms() <= n
    assert math.isfinite(wl.duration)


def check_workload_error(err, path, data):
    text = str(err)
    assert err.path == path
    assert text.startswith(path)
    assert '\n' not in text
    assert len(text) <= len(path) + MAX_MESSAGE
    if err.line is not None:
        assert 1 <= err.line <= max(_physical_lines(data), 1)
        assert text.startswith(f'{path}, line {err.line}')
    if err.field is not None:
        assert ', field ' in text
        # shown as repr(): as written unless it holds a quote or a
        # backslash (which repr() escapes) or something unprintable
        if err.field.isprintable() and not set(err.field) & {"'", '\\'}:
            assert f", field '{err.field}'" in text
        assert len(err.field) <= wl_mod.MAX_QUOTED


HEADER = b'id,vcpus,memory_mb,disk_gb,start_s,end_s\n'


@SETTINGS
@given(trace=traces())
@example(trace=(b'id,\n', 'csv'))                      # a nameless column
@example(trace=(HEADER + b'a,1,1,0,0,\n\xff\n', 'csv'))  # not UTF-8
@example(trace=(HEADER + b'a,' + b'9' * 140_000 + b'\n', 'csv'))
def test_any_trace_file_is_read_or_refused_naming_where(workdir, trace):
    data, fmt = trace
    path = _write(workdir, 'trace.csv', data)
    try:
        wl = wl_mod.read(path, fmt)
    except wl_mod.WorkloadError as err:
        event('refused')
        check_workload_error(err, path, data)
        if data.startswith(HEADER + b'a,1,1,0,0,\n\xff'):
            assert err.line == 3
    else:
        event('read')
        check_workload(wl, data)


def _csv_file(rows, terminator):
    """Rows as csv lines ending in ``terminator``; a field holding a
    carriage return or a newline is quoted whatever the terminator (csv's
    writer quotes only the characters of its own terminator)."""
    lines = []
    for row in rows:
        out = io.StringIO()
        csv.writer(out, lineterminator='\r\n').writerow(row)
        lines.append(out.getvalue()[:-2] + terminator)
    return ''.join(lines)


@st.composite
def traces_with_one_odd_field(draw):
    """A valid csv trace whose ids may span lines (quoted), with one field
    of one row replaced; the row's first line and the field's column."""
    header = list(wl_mod.CSV_REQUIRED)
    rows = []
    for k in range(draw(st.integers(1, 5))):
        row = [_plausible(column, draw) for column in header]
        row[0] = draw(st.sampled_from([f'vm{k}', f'vm\n{k}', f'"vm,{k}"',
                                       f'v\r\nm{k}']))
        rows.append(row)
    victim = draw(st.integers(0, len(rows) - 1))
    column = draw(st.sampled_from(header[1:]))
    rows[victim][header.index(column)] = draw(odd_fields)
    if column == 'start_s':     # a later start must not fault end_s
        rows[victim][header.index('end_s')] = ''
    terminator = draw(st.sampled_from(['\n', '\r\n']))
    before = _csv_file([header] + rows[:victim], terminator)
    line = len(io.StringIO(before, newline='').readlines()) + 1
    return _csv_file([header] + rows, terminator), line, column


@SETTINGS
@given(case=traces_with_one_odd_field())
@example(case=(HEADER.decode() + '"vm\n0",1,1,0,0,\nvm1,x,1,0,0,\n', 4,
               'vcpus'))
@example(case=(HEADER.decode() + 'vm0,"\r",1,0,0,\n', 2, 'vcpus'))
def test_an_odd_field_is_read_or_refused_naming_its_line_and_field(
        workdir, case):
    text, line, column = case
    data = text.encode('utf-8')
    path = _write(workdir, 'one-odd.csv', data)
    try:
        wl = wl_mod.read(path, 'csv')
    except wl_mod.WorkloadError as err:
        event('refused')
        check_workload_error(err, path, data)
        assert (err.line, err.field) == (line, column), str(err)
    else:
        event('read')
        check_workload(wl, data)


@SETTINGS
@given(trace=traces())
@example(trace=(HEADER + b'a,1,1,0,0,\n', 'csv'))
def test_a_byte_order_mark_changes_nothing(workdir, trace):
    data, fmt = trace
    while data.startswith(b'\xef\xbb\xbf'):    # the file's own mark(s)
        data = data.removeprefix(b'\xef\xbb\xbf')
    results = []
    for name, body in (('plain.csv', data),
                       ('bom.csv', b'\xef\xbb\xbf' + data)):
        path = _write(workdir, name, body)
        try:
            wl = wl_mod.read(path, fmt)
        except wl_mod.WorkloadError as err:
            results.append(('error', err.line, err.field,
                            str(err).replace(path, 'PATH')))
        else:
            results.append(('read', list(wl.ids), wl.vcpus.tolist(),
                            wl.memory_mb.tolist(), wl.start.tolist()))
    event(results[0][0])
    assert results[0] == results[1]


# --- fleet files -------------------------------------------------------------

#: YAML scalars (as written) that have broken or fooled fleet readers.
ODD_SCALARS = (
    '1', '4', '64', '1024', '0', '-1', '1.5', '2.0', '1.0e+38', '1.0e+307',
    '1.0e+400', '.inf', '-.inf', '.nan', '1e3', '0x' + 'f' * 4000,
    '0b' + '1' * 20000, '0o777', '1_000', '1:30', '1:2:3:4:5:6:7:8:9:0',
    '9' * 400, '1' * 5000, 'null', '~', 'yes', 'no', 'on', 'true', "''",
    '"a\\nb"', '"a\\n"', "'x'", 'a' * 300, '2001-12-14', '2001-13-45',
    '2001-12-14t21:59:43.10-99:00', '!!bool abc', '!!bool yes',
    '!!timestamp abc', '!!timestamp 2001-12-14', '!!float abc',
    '!!float 1', '!!int abc', '!!int 0x10', '!!binary abc', '!!binary "===="',
    '!!str 1', '!!null x', '!!set {a: 1}', '!!omap [1]', '!!pairs [1]',
    '!!omap [{a: 1}]', '!!map [1]', '!!seq {a: 1}', '!x' + 'x' * 400 + ' a',
    '!<tag:' + 'y' * 400 + '> a', '!!python/name:os.system', '&a 1', '*a',
    '[]', '{}', '[1, [2]]', '{a: {b: 1}}', '"\\x00"', '"\\uffff"',
    '"\\U0010ffff"', '|\n  text', '>-\n  text', '? [a]\n  : 1',
)
scalars = st.one_of(st.sampled_from(ODD_SCALARS), st.integers().map(str),
                    st.floats().map(repr))
plausible_scalars = st.sampled_from(['1', '2', '16', '2048', '0.5', '1.0',
                                     '4.0', 'gen2', '[a]', 'b'])
CLASS_KEYS = tuple(fleet_mod._CLASS_KEYS) + ('name', 'aggregates', 'other')
#: Text inserted at random places of a fleet file.
YAML_SPECIALS = ('[', ']', '{', '}', ':', ': ', '- ', '&a ', '*a', '!', '\t',
                 '"', "'", '\x00', '\ufeff', '%', '@', '`', '|', '>', '#',
                 '\n', '\r', '\\', '\u2028', '\x85', '<<: ', '? ', '---\n',
                 '...\n', '%YAML 1.1\n', '%TAG ! tag:x,2000:\n')


@st.composite
def fleet_texts(draw):
    """Fleet files: raw text, deep nesting, or plausible documents with odd
    scalars and bits of YAML syntax inserted."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(max_size=200))
    if kind == 1:
        depth = draw(st.integers(1, 5000))
        opener, closer = draw(st.sampled_from(
            [('[', ']'), ('{a: ', '}'), ('- ', ''), ('[{a: ', '}]')]))
        return (opener * depth + '1' + closer * depth
                * draw(st.sampled_from([0, 1])))
    lines = []
    if draw(st.booleans()):
        lines.append('name: ' + draw(scalars))
    if draw(st.booleans()):
        lines.append('aggregates:')
        for _ in range(draw(st.integers(0, 2))):
            lines.append(f'  {draw(scalars)}:')
            for _ in range(draw(st.integers(0, 2))):
                lines.append(f'    {draw(scalars)}: {draw(scalars)}')
    lines.append('host_classes:')
    for _ in range(draw(st.integers(0, 3))):
        entry = {'count': '2', 'vcpus': '64', 'memory_mb': '262144'}
        for key in draw(st.lists(st.sampled_from(CLASS_KEYS), max_size=4)):
            entry[key] = draw(st.one_of(plausible_scalars, scalars))
        for key in draw(st.lists(st.sampled_from(list(entry)), max_size=1)):
            del entry[key]
        first = True
        for key, value in entry.items():
            lines.append(f"  {'- ' if first else '  '}{key}: {value}")
            first = False
    text = '\n'.join(lines) + '\n'
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(YAML_SPECIALS)) + text[at:]
    return text


NAME = re.compile(r'[A-Za-z0-9_.-]+')


def check_fleet(fleet):
    assert fleet.classes
    assert len(fleet) <= fleet_mod.MAX_HOSTS
    names = [c.name for c in fleet.classes]
    assert len(set(names)) == len(names)
    for cls in fleet.classes:
        assert NAME.fullmatch(cls.name) and len(cls.name) <= fleet_mod.MAX_NAME
        assert 1 <= cls.count <= fleet_mod.MAX_HOSTS
        assert 1 <= cls.vcpus <= wl_mod.MAX_VCPUS
        assert 1 <= cls.memory_mb <= wl_mod.MAX_MEMORY_MB
        assert 0 <= cls.disk_gb <= wl_mod.MAX_DISK_GB
        for name in cls.aggregates:
            assert name in fleet.aggregates
    for agg, meta in fleet.aggregates.items():
        for text in (agg, *meta, *meta.values()):
            assert isinstance(text, str)
            assert 1 <= len(text) <= fleet_mod.MAX_NAME
    # one host of each class: what every host of the fleet offers
    sample = fleet_mod.Fleet(tuple(dataclasses.replace(c, count=1)
                                   for c in fleet.classes))
    assert np.isfinite(sample.capacity).all()
    assert (sample.capacity > 0).any(axis=1).all()
    assert np.isfinite(sample.ratio).all() and (sample.ratio > 0).all()
    assert isinstance(fleet.describe(), str)


FLEET = 'host_classes:\n  - {count: 1, vcpus: 4, memory_mb: 1024, %s}\n'


@SETTINGS
@given(text=fleet_texts())
@example(text=FLEET % 'name: !!bool maybe')         # KeyError in PyYAML
@example(text=FLEET % 'name: !!timestamp soon')     # AttributeError
@example(text='[' * 3000)                           # RecursionError
@example(text=FLEET % ('count: 0x' + 'f' * 4000))   # too long to print
@example(text=FLEET % ('name: 0x' + 'f' * 4000))
@example(text=FLEET % ('cpu_allocation_ratio: 1' + '0' * 400))
@example(text=FLEET % 'ram_allocation_ratio: 1.0e+307')  # inf capacity
@example(text=FLEET % 'name: "a\\n"')                # a newline in a name
@example(text='host_classes:\n  - name: !x' + 'x' * 5000 + ' a\n')  # long
@example(text='\x1f')                               # two lines
@example(text='"a\\nb": 1\n')                       # a key of two lines
@example(text='aggregates: {"a\\nb": [1]}\n' + FLEET % '')
def test_any_fleet_file_is_read_or_refused_in_one_short_line(workdir, text):
    path = str(workdir / 'fleet.yaml')
    with open(path, 'w', encoding='utf-8', errors='surrogatepass',
              newline='') as handle:
        handle.write(text)
    try:
        fleet = fleet_mod.load_fleet(path)
    except fleet_mod.FleetError as err:
        event('refused')
        message = str(err)
        assert message.startswith(path)
        assert '\n' not in message
        assert len(message) <= len(path) + MAX_MESSAGE
    else:
        event('read')
        check_fleet(fleet)
