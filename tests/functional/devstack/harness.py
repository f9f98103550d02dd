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
"""Run devstack/plugin.sh as DevStack does, against our stand-ins.

``FakeDevStack`` writes a bash script that sets ``errexit``, ``nounset`` and
``pipefail``, sources ``tests/functional/devstack/fake_devstack.sh`` (our
stand-ins of DevStack's functions), sets the variables DevStack and
``local.conf`` would set, sets ``NOVA_FILTERS`` as lib/nova does, sources
``devstack/settings`` and then sources ``devstack/plugin.sh <mode> <phase>``
for each phase asked for, in one shell, as stack.sh, unstack.sh and clean.sh
do. The host is a directory: huge page pools, mounts, flavors and nova.conf
are files in it.
"""

import dataclasses
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
STAND_INS = Path(__file__).with_name('fake_devstack.sh')

# lib/nova's NOVA_FILTERS, and Nova's own default of enabled_filters.
DEVSTACK_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                    'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                    'ServerGroupAffinityFilter,SameHostFilter,'
                    'DifferentHostFilter')
NOVA_DEFAULT_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                        'ImagePropertiesFilter,'
                        'ServerGroupAntiAffinityFilter,'
                        'ServerGroupAffinityFilter')
ALL_IN_ONE = 'key,g-api,n-api,n-cond,n-sch,n-cpu,placement-api'
STACK_PHASES = ('pre-install', 'install', 'post-config', 'extra',
                'test-config')
PAGE_SIZES_KB = (2048, 1048576)


def load_nova_conf(path):
    """Read a nova.conf as Nova does: oslo.config with Nova's scheduler
    options and ours registered, on a private ``ConfigOpts``."""
    from nova.conf import scheduler
    from oslo_config import cfg

    from nova_scale_ext import conf as scale_ext_conf

    conf = cfg.ConfigOpts()
    scheduler.register_opts(conf)
    scale_ext_conf.register_opts(conf)
    conf([], project='nova', default_config_files=[str(path)])
    return conf


@dataclasses.dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    calls: list

    def called(self, name):
        """The argument lists of every call of one stand-in."""
        return [c[1:] for c in self.calls if c and c[0] == name]


class FakeDevStack:
    """One host with DevStack's variables, in a directory."""

    def __init__(self, root, services=ALL_IN_ONE,
                 nova_filters=DEVSTACK_FILTERS, **local_conf):
        self.root = Path(root)
        self.nova_conf = self.root / 'etc' / 'nova.conf'
        self.sysfs = self.root / 'sys' / 'kernel' / 'mm' / 'hugepages'
        self.state_dir = self.root / 'data' / 'nova-scale-ext'
        self.mount_1g = self.root / 'dev' / 'hugepages1G'
        self.log = self.root / 'calls.log'
        self.nova_filters = nova_filters
        self.nova_conf.parent.mkdir(parents=True, exist_ok=True)
        (self.root / 'data').mkdir(exist_ok=True)
        for size in PAGE_SIZES_KB:
            pool = self.sysfs / f'hugepages-{size}kB'
            pool.mkdir(parents=True, exist_ok=True)
            (pool / 'nr_hugepages').write_text('0\n')
        self.variables = {
            'ENABLED_SERVICES': services,
            'DEST': str(self.root),
            'DATA_DIR': str(self.root / 'data'),
            'NOVA_CONF': str(self.nova_conf),
            'NOVA_BIN_DIR': os.path.join(sys.prefix, 'bin'),
            'REQUIREMENTS_DIR': str(self.root / 'requirements'),
            'REGION_NAME': 'RegionOne',
            'VIRT_DRIVER': 'libvirt',
            'NOVA_SCALE_EXT_SYSFS_HUGEPAGES': str(self.sysfs),
            'NOVA_SCALE_EXT_HUGEPAGES_1G_MOUNT': str(self.mount_1g),
            # Loading Nova takes seconds: tests that want it turn it on.
            'NOVA_SCALE_EXT_VERIFY': 'False',
        }
        self.variables.update(local_conf)

    # The host, as files.

    def pages(self, size_kb):
        pool = self.sysfs / f'hugepages-{size_kb}kB'
        return int((pool / 'nr_hugepages').read_text())

    def limit_pages(self, size_kb, maximum):
        """Make 'the kernel' allocate at most this many pages."""
        pool = self.sysfs / f'hugepages-{size_kb}kB'
        (pool / 'max_hugepages').write_text(f'{maximum}\n')

    def mounts(self):
        path = self.root / 'mounts'
        return path.read_text().split() if path.exists() else []

    def flavors(self):
        path = self.root / 'flavors'
        if not path.exists():
            return {}
        return {p.name: p.read_text().strip() for p in path.iterdir()}

    def snapshot(self):
        """Everything the plugin can change, to compare two runs."""
        state = {}
        if self.state_dir.exists():
            state = {p.name: p.read_text() for p in self.state_dir.iterdir()}
        return {
            'nova.conf': (self.nova_conf.read_text()
                          if self.nova_conf.exists() else None),
            'pages': {size: self.pages(size) for size in PAGE_SIZES_KB},
            'mounts': self.mounts(),
            'flavors': self.flavors(),
            'state': state,
        }

    # Running DevStack.

    def script(self, phases, settings=1):
        lines = ['set -o errexit -o nounset -o pipefail',
                 f'source {shlex.quote(str(STAND_INS))}']
        lines += [f'{name}={shlex.quote(str(value))}'
                  for name, value in self.variables.items()]
        lines += [
            '# lib/nova, then the plugin settings (run_phase source)',
            f'NOVA_FILTERS={shlex.quote(self.nova_filters)}',
        ]
        # unstack.sh and clean.sh source the settings once more.
        lines += [f'source {shlex.quote(str(REPO / "devstack" / "settings"))}'
                  ] * settings
        plugin = shlex.quote(str(REPO / 'devstack' / 'plugin.sh'))
        for mode, phase in phases:
            if mode == 'stack' and phase == 'post-config':
                # lib/nova's create_nova_conf, once, before post-config.
                lines += [
                    'if [[ ! -f $NOVA_CONF ]]; then',
                    '    iniset "$NOVA_CONF" DEFAULT debug True',
                    '    iniset "$NOVA_CONF" DEFAULT compute_driver '
                    'libvirt.LibvirtDriver',
                    '    iniset "$NOVA_CONF" filter_scheduler '
                    'enabled_filters "$NOVA_FILTERS"',
                    'fi',
                ]
            if mode != 'stack':
                # unstack.sh and clean.sh have no echo_summary.
                lines.append('unset -f echo_summary')
            lines.append(f'source {plugin} {mode} {phase}'.rstrip())
        lines.append('echo "NOVA_FILTERS=$NOVA_FILTERS"')
        return '\n'.join(lines) + '\n'

    def run(self, *phases, check=True, settings=1):
        """Run ``(mode, phase)`` pairs in one shell; 'stack' runs them all.

        ``settings`` is how many times devstack/settings is sourced first;
        ``check`` raises with the shell's output when the shell fails.
        """
        expanded = []
        for phase in phases:
            if phase == 'stack':
                expanded += [('stack', p) for p in STACK_PHASES]
            elif isinstance(phase, str):
                expanded.append((phase, ''))
            else:
                expanded.append(tuple(phase))
        if self.log.exists():
            self.log.unlink()
        env = dict(os.environ,
                   FAKE_DEVSTACK_ROOT=str(self.root),
                   FAKE_DEVSTACK_LOG=str(self.log),
                   PATH=os.path.join(sys.prefix, 'bin') + os.pathsep +
                   os.environ.get('PATH', ''))
        proc = subprocess.run(['bash', '-c', self.script(expanded, settings)],
                              cwd=self.root, env=env, capture_output=True,
                              text=True, timeout=300)
        calls = []
        if self.log.exists():
            calls = [line.split()
                     for line in self.log.read_text().splitlines()]
        result = Result(proc.returncode, proc.stdout, proc.stderr, calls)
        if check and proc.returncode != 0:
            raise AssertionError(
                f'DevStack phases {expanded} failed with '
                f'{proc.returncode}:\n{proc.stderr[-4000:]}')
        return result
