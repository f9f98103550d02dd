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
"""devstack/plugin.sh, phase by phase, under errexit and nounset.

Each test runs the plugin with our stand-ins of DevStack's functions
(tests/functional/devstack/fake_devstack.sh) on a host that is a temporary
directory, and reads the nova.conf it produced with oslo.config, as Nova does.
"""

import re

import pytest

from nova_scale_ext import recommended
from tests.functional.devstack import harness

OURS_AVAILABLE = 'nova_scale_ext.scheduler.filters.all_filters'
NOVA_AVAILABLE = 'nova.scheduler.filters.all_filters'
OURS_WEIGHERS = 'nova_scale_ext.scheduler.weights.all_weighers'
# Nova's weighers of the recommended weight_classes (all but ours).
NOVA_WEIGHERS = [
    path for line in recommended.NOVA_CONF.splitlines()
    if line.startswith('weight_classes = ')
    for path in line.split(' = ', 1)[1].split(',') if path != OURS_WEIGHERS]
HUGE = {'NOVA_SCALE_EXT_HUGEPAGES_2M': '64',
        'NOVA_SCALE_EXT_HUGEPAGES_1G': '2'}


@pytest.fixture
def devstack(tmp_path):
    """Build a FakeDevStack host in a fresh directory (``**local_conf``)."""
    count = iter(range(1000))

    def make(**kwargs):
        return harness.FakeDevStack(tmp_path / f'host{next(count)}',
                                    **kwargs)
    return make


def option_lines(text, section, option):
    """The lines of one option in one section of an ini text."""
    lines, current = [], None
    for line in text.splitlines():
        header = re.match(r'^\[(.+)\]\s*$', line)
        if header:
            current = header.group(1)
        elif current == section and re.match(rf'^{option}\s*=', line):
            lines.append(line)
    return lines


def recommended_options():
    """(section, option) pairs of the recommended nova.conf lines."""
    pairs, section = [], None
    for line in recommended.NOVA_CONF.splitlines():
        header = re.match(r'^\[(.+)\]$', line)
        if header:
            section = header.group(1)
        elif '=' in line:
            pair = (section, line.split('=', 1)[0].strip())
            if pair not in pairs:
                pairs.append(pair)
    return pairs


# Every phase, in DevStack's order, under errexit/nounset.

def test_stack_unstack_clean_run_cleanly_and_undo_the_host_changes(devstack):
    host = devstack(NOVA_SCALE_EXT_VERIFY='True', **HUGE)

    stacked = host.run('stack')

    assert stacked.called('setup_develop') == [[str(harness.REPO)]]
    assert ['-c', f'{host.root}/requirements/upper-constraints.txt', '-e',
            str(harness.REPO)] in stacked.called('pip_install')
    assert (host.pages(2048), host.pages(1048576)) == (64, 2)
    assert host.mounts() == [str(host.mount_1g)]
    assert sorted(host.flavors()) == ['scale-ext.hugepages-1g',
                                      'scale-ext.hugepages-2m',
                                      'scale-ext.small']
    assert 'hw:mem_page_size=1GB' in host.flavors()['scale-ext.hugepages-1g']
    # post-config loaded the plugins with `nova-scale-ext plugins`.
    assert 'ScaleExtHeadroomFilter' in stacked.stdout
    assert 'ScaleExtBestFitWeigher' in stacked.stdout

    host.run('unstack')
    assert (host.pages(2048), host.pages(1048576)) == (0, 0)
    assert host.mounts() == []

    host.run('clean')
    assert not host.state_dir.exists()


def test_the_defaults_change_nothing_on_the_host(devstack):
    host = devstack()

    result = host.run('stack', 'unstack', 'clean')

    assert result.called('sudo') == []
    assert host.snapshot()['pages'] == {2048: 0, 1048576: 0}
    assert sorted(host.flavors()) == ['scale-ext.small']


@pytest.mark.parametrize('phase', harness.STACK_PHASES + ('unstack', 'clean'))
def test_each_phase_run_twice_gives_the_same_result(devstack, phase):
    host = devstack(**HUGE)
    before = ['stack'] if phase in ('unstack', 'clean') else [
        ('stack', p) for p in harness.STACK_PHASES[
            :harness.STACK_PHASES.index(phase) + 1]]
    again = (phase if phase in ('unstack', 'clean') else ('stack', phase))
    host.run(*before)
    if phase in ('unstack', 'clean'):
        host.run(phase)
    once = host.snapshot()

    second = host.run(again)

    assert host.snapshot() == once
    # A second extra only looks the flavors up.
    assert all(args[2:4] == ['flavor', 'show']
               for args in second.called('openstack'))


def test_stacking_twice_gives_the_same_nova_conf_and_host(devstack):
    host = devstack(**HUGE)
    host.run('stack')
    once = host.snapshot()

    host.run('stack')

    assert host.snapshot() == once


def test_settings_only_set_variables_and_post_config_hands_back_filters(
        devstack):
    """Sourcing ``settings`` (once or twice, as unstack.sh does) leaves
    DevStack's ``NOVA_FILTERS`` alone and defines no function; post-config
    sets ``NOVA_FILTERS`` to the list it wrote, for lib/tempest."""
    host = devstack()
    expected = (f'NOVA_FILTERS={harness.DEVSTACK_FILTERS},'
                'ScaleExtHeadroomFilter')

    for settings in (1, 2):
        sourced = host.run(settings=settings)
        assert sourced.stdout.splitlines()[-1] == (
            f'NOVA_FILTERS={harness.DEVSTACK_FILTERS}')
        configured = host.run(('stack', 'post-config'), settings=settings)
        assert configured.stdout.splitlines()[-1] == expected
    text = (harness.REPO / 'devstack' / 'settings').read_text()
    assert 'function ' not in text and 'source ' not in text


# The nova.conf that post-config writes.

def test_by_default_post_config_writes_the_recommended_nova_conf(devstack):
    # Start from Nova's own filter list, as the recommended lines do.
    host = devstack(nova_filters=harness.NOVA_DEFAULT_FILTERS)
    reference = host.root / 'recommended.conf'
    reference.write_text(recommended.NOVA_CONF)

    result = host.run(('stack', 'post-config'))

    ours = harness.load_nova_conf(host.nova_conf)
    expected = harness.load_nova_conf(reference)
    for section, option in recommended_options():
        assert (ours[section][option] == expected[section][option]), (
            section, option)
    # ... and nothing else: every option the plugin wrote is recommended.
    written = {(args[1], args[2]) for name in ('iniset', 'iniadd')
               for args in result.called(name)
               if args[0] == str(host.nova_conf)}
    written -= {('DEFAULT', 'debug'), ('DEFAULT', 'compute_driver'),
                ('filter_scheduler', 'enabled_filters')}  # create_nova_conf
    assert written <= set(recommended_options())
    assert set(recommended_options()) - written <= {
        ('filter_scheduler', 'enabled_filters')}


def test_oslo_config_reads_both_available_filters_lines(devstack):
    host = devstack()

    host.run(('stack', 'post-config'), ('stack', 'post-config'))

    text = host.nova_conf.read_text()
    assert option_lines(text, 'filter_scheduler', 'available_filters') == [
        f'available_filters = {NOVA_AVAILABLE}',
        f'available_filters = {OURS_AVAILABLE}']
    assert len(option_lines(text, 'filter_scheduler', 'weight_classes')) == 1
    assert len(option_lines(text, 'filter_scheduler', 'enabled_filters')) == 1
    conf = harness.load_nova_conf(host.nova_conf)
    assert conf.filter_scheduler.available_filters == [NOVA_AVAILABLE,
                                                       OURS_AVAILABLE]
    assert conf.filter_scheduler.weight_classes == (
        NOVA_WEIGHERS + [OURS_WEIGHERS])
    assert conf.filter_scheduler.enabled_filters == (
        harness.DEVSTACK_FILTERS.split(',') + ['ScaleExtHeadroomFilter'])


def test_an_operators_scheduler_settings_are_kept(devstack):
    host = devstack()
    host.nova_conf.write_text(
        '[filter_scheduler]\n'
        'available_filters = nova.scheduler.filters.all_filters\n'
        'available_filters = site.filters.all_filters\n'
        'enabled_filters = ComputeFilter, SiteFilter\n'
        'weight_classes = site.weights.all_weighers\n')

    host.run(('stack', 'post-config'), ('stack', 'post-config'))

    conf = harness.load_nova_conf(host.nova_conf)
    assert conf.filter_scheduler.available_filters == [
        NOVA_AVAILABLE, 'site.filters.all_filters', OURS_AVAILABLE]
    assert conf.filter_scheduler.enabled_filters == [
        'ComputeFilter', 'SiteFilter', 'ScaleExtHeadroomFilter']
    assert conf.filter_scheduler.weight_classes == [
        'site.weights.all_weighers', OURS_WEIGHERS]


def test_local_conf_variables_reach_our_options(devstack):
    host = devstack(NOVA_SCALE_EXT_BEST_FIT_WEIGHT_MULTIPLIER='2.5',
                    NOVA_SCALE_EXT_STRANDED_CAPACITY_WEIGHT_MULTIPLIER='',
                    NOVA_SCALE_EXT_PACKING_RESOURCE_WEIGHTS=(
                        'VCPU:1.0,MEMORY_MB:2.0'),
                    NOVA_SCALE_EXT_HEADROOM_MEMORY_RATIO='0.2',
                    NOVA_SCALE_EXT_RAM_WEIGHT_MULTIPLIER='',
                    NOVA_SCALE_EXT_CPU_WEIGHT_MULTIPLIER='-1.0')

    host.run(('stack', 'post-config'))

    conf = harness.load_nova_conf(host.nova_conf)
    text = host.nova_conf.read_text()
    assert conf.scale_ext_weights.best_fit_weight_multiplier == 2.5
    assert not option_lines(text, 'scale_ext_weights',
                            'stranded_capacity_weight_multiplier')
    assert conf.scale_ext_weights.packing_resource_weights == {
        'VCPU': 1.0, 'MEMORY_MB': 2.0}
    assert conf.scale_ext_filters.headroom_memory_ratio == 0.2
    assert not option_lines(text, 'scale_ext_filters', 'headroom_vcpu_ratio')
    assert not option_lines(text, 'filter_scheduler', 'ram_weight_multiplier')
    assert conf.filter_scheduler.cpu_weight_multiplier == -1.0


def test_choosing_no_filter_and_no_weigher(devstack):
    host = devstack(NOVA_SCALE_EXT_ENABLED_FILTERS='',
                    NOVA_SCALE_EXT_WEIGHT_CLASSES='')

    host.run(('stack', 'post-config'))

    conf = harness.load_nova_conf(host.nova_conf)
    assert conf.filter_scheduler.enabled_filters == (
        harness.DEVSTACK_FILTERS.split(','))
    assert conf.filter_scheduler.weight_classes == NOVA_WEIGHERS


def test_huge_pages_enable_nova_numa_topology_filter(devstack):
    host = devstack(NOVA_SCALE_EXT_HUGEPAGES_2M='16')

    result = host.run('stack')

    conf = harness.load_nova_conf(host.nova_conf)
    assert conf.filter_scheduler.enabled_filters[-2:] == [
        'ScaleExtHeadroomFilter', 'NUMATopologyFilter']
    assert result.stdout.splitlines()[-1].endswith(
        ',ScaleExtHeadroomFilter,NUMATopologyFilter')


def test_novas_lists_come_from_the_installed_nova(devstack, tmp_path):
    """Where nova.conf does not set them, Nova's part of the lists is what
    the installed Nova reports; a Nova that cannot be asked stops
    post-config with the command that failed."""
    def fake_command(name, body):
        where = tmp_path / name
        where.mkdir()
        command = where / 'nova-scale-ext'
        command.write_text('#!/bin/sh\n' + body)
        command.chmod(0o755)
        return str(where)

    answers = fake_command('answers', (
        'case "$1 $2 $3" in\n'
        '"plugins --nova-list available_filters") echo my.filters ;;\n'
        '"plugins --nova-list weight_classes") echo my.weights.W ;;\n'
        '*) exit 1 ;;\n'
        'esac\n'))
    host = devstack(NOVA_BIN_DIR=answers)
    host.run(('stack', 'post-config'))
    text = host.nova_conf.read_text()
    assert 'available_filters = my.filters\n' in text
    assert ('weight_classes = my.weights.W,'
            'nova_scale_ext.scheduler.weights.all_weighers\n') in text

    broken = devstack(NOVA_BIN_DIR=fake_command(
        'broken', 'echo "nova is broken" >&2; exit 1\n'))
    result = broken.run(('stack', 'post-config'), check=False)
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert 'nova is broken' in output
    assert 'plugins --nova-list available_filters' in output


def test_a_filter_nova_cannot_load_stops_post_config(devstack):
    host = devstack(NOVA_SCALE_EXT_ENABLED_FILTERS='NoSuchFilter',
                    NOVA_SCALE_EXT_VERIFY='True')

    result = host.run(('stack', 'post-config'), check=False)

    assert result.returncode != 0
    assert 'nova-scheduler cannot load its filters and weighers' in (
        result.stderr)


# Which host runs what.

def test_a_compute_host_gets_pages_but_no_scheduler_options(devstack):
    host = devstack(services='n-cpu,placement-client', **HUGE)

    result = host.run('stack')

    text = host.nova_conf.read_text()
    assert not option_lines(text, 'filter_scheduler', 'weight_classes')
    assert host.pages(2048) == 64
    assert result.called('setup_develop') == [[str(harness.REPO)]]
    assert host.flavors() == {}


def test_a_controller_without_n_cpu_leaves_its_pages_alone(devstack):
    host = devstack(services='key,n-api,n-sch,n-cond', **HUGE)

    host.run('stack')

    assert host.pages(2048) == 0
    assert host.mounts() == []


# Compute-driver shim (depends on the shim being installed).

def test_the_shim_is_off_by_default(devstack):
    host = devstack()

    host.run('stack')

    text = host.nova_conf.read_text()
    assert option_lines(text, 'DEFAULT', 'compute_driver') == [
        'compute_driver = libvirt.LibvirtDriver']
    assert '[scale_ext_libvirt]' not in text


def test_the_shim_is_configured_in_nova_conf_for_nova_cpu_conf(devstack):
    host = devstack(NOVA_SCALE_EXT_USE_SHIM='True',
                    NOVA_SCALE_EXT_TUNING_POLICY=(
                        'guest_halt_polling=False  on_invalid_xml=fail'))

    host.run('stack')
    once = host.nova_conf.read_text()
    host.run(('stack', 'post-config'))

    assert host.nova_conf.read_text() == once
    assert option_lines(once, 'DEFAULT', 'compute_driver') == [
        'compute_driver = scale_ext.ScaleExtLibvirtDriver']
    assert option_lines(once, 'scale_ext_libvirt', 'guest_halt_polling') == [
        'guest_halt_polling = False']
    assert option_lines(once, 'scale_ext_libvirt', 'on_invalid_xml') == [
        'on_invalid_xml = fail']


def test_a_tuning_policy_that_is_not_option_value_is_reported(devstack):
    host = devstack(NOVA_SCALE_EXT_USE_SHIM='True',
                    NOVA_SCALE_EXT_TUNING_POLICY='fast')

    result = host.run('stack', check=False)

    assert result.returncode != 0
    assert "NOVA_SCALE_EXT_TUNING_POLICY: 'fast' is not option=value" in (
        result.stderr)


def test_the_shim_needs_the_libvirt_virt_driver(devstack):
    host = devstack(NOVA_SCALE_EXT_USE_SHIM='True', VIRT_DRIVER='fake')

    result = host.run('stack', check=False)

    assert result.returncode != 0
    assert 'needs VIRT_DRIVER=libvirt' in result.stderr


# Huge pages.

def test_pages_already_there_are_left_alone_and_not_restored(devstack):
    host = devstack(NOVA_SCALE_EXT_HUGEPAGES_2M='32')
    (host.sysfs / 'hugepages-2048kB' / 'nr_hugepages').write_text('128\n')

    result = host.run(('stack', 'pre-install'), 'unstack', 'clean')

    assert result.called('sudo') == []
    assert host.pages(2048) == 128


def test_too_few_pages_from_the_kernel_stop_stack_and_unstack_restores(
        devstack):
    host = devstack(**HUGE)
    host.limit_pages(1048576, 1)

    result = host.run(('stack', 'pre-install'), check=False)

    assert result.returncode != 0
    assert 'NOVA_SCALE_EXT_HUGEPAGES_1G=2 but the kernel allocated only 1' in (
        result.stderr)
    host.run('unstack', 'clean')
    assert (host.pages(2048), host.pages(1048576)) == (0, 0)
    assert not host.state_dir.exists()


@pytest.mark.parametrize('value', ['two', '-1', '1.5'])
def test_a_page_count_that_is_not_a_number_is_reported(devstack, value):
    host = devstack(NOVA_SCALE_EXT_HUGEPAGES_2M=value)

    result = host.run(('stack', 'pre-install'), check=False)

    assert result.returncode != 0
    assert (f"NOVA_SCALE_EXT_HUGEPAGES_2M must be a number of pages, not "
            f"'{value}'") in result.stderr


def test_a_kernel_without_1g_pages_is_reported(devstack):
    host = devstack(NOVA_SCALE_EXT_HUGEPAGES_1G='1')
    (host.sysfs / 'hugepages-1048576kB' / 'nr_hugepages').unlink()

    result = host.run(('stack', 'pre-install'), check=False)

    assert result.returncode != 0
    assert 'this kernel has no 1048576 kB huge pages' in result.stderr


# Flavors.

def test_flavors_can_be_turned_off(devstack):
    host = devstack(NOVA_SCALE_EXT_CREATE_FLAVORS='False')

    result = host.run('stack')

    assert result.called('openstack') == []
