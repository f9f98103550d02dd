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
"""A real OpenStack control plane on 127.0.0.1, in one directory.

:class:`Cloud` starts, as separate processes it owns, MariaDB, RabbitMQ
(with its own epmd), Keystone (fernet tokens, bootstrapped), Placement,
Glance (file store), neutron-server (ML2 without agents or mechanism
drivers: enough for servers without ports), nova-api, nova-conductor,
nova-scheduler, one nova-compute per entry of ``fleet``
(:mod:`tests.e2e.fake_compute`) and, with ``libvirt=True``, a nova-compute
with the libvirt driver shim on the host's libvirtd. It writes a
``clouds.yaml`` with an
``e2e-admin`` cloud that tests and tools use as a user would, and stops
every process it started, by process group, in :meth:`Cloud.stop`.

The ``nova.conf`` of the Nova services is the one the DevStack plugin's
post-config phase writes (``devstack/plugin.sh stack post-config``, run with
the stand-ins of ``tests/functional/devstack``) on top of the options
DevStack's lib/nova writes first; nova-scheduler can be restarted on Nova's
defaults (the same file without the plugin's lines) with
:meth:`Cloud.restart_scheduler`.

What is installed where: ``tools/e2e/install-e2e.sh``. Run by hand::

    python -m tests.e2e.cloud check             # can it run here?
    python -m tests.e2e.cloud up [--dir DIR]    # Ctrl-C tears it down
"""

import argparse
import concurrent.futures
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests import kvm_probe

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get('NOVA_SCALE_EXT_E2E_CACHE',
                            '/var/cache/nova-scale-ext-e2e'))
#: The project's virtualenv: Nova, Placement, openstacksdk.
VENV = Path(sys.prefix)
CLOUD = 'e2e-admin'
#: [DEFAULT] host of nova-api, nova-conductor and nova-scheduler.
CONTROLLER = 'e2e-controller'
PASSWORD = 'e2e-secret'
REGION = 'RegionOne'
SERVICE_USERS = ('nova', 'placement', 'glance', 'neutron')

#: Below Linux's ephemeral range (32768-60999): a port in it can be taken,
#: while the cloud comes up, by the outgoing connection of another service.
PORTS = {
    'mariadb': 13306, 'rabbit': 16672, 'rabbit_dist': 16673,
    'epmd': 14369, 'keystone': 15357, 'placement': 18778,
    'glance': 19292, 'nova': 18774, 'neutron': 19696,
}

#: The fake computes: host name -> (vCPUs, memory MiB, local disk GiB).
FLEET = {
    'e2e-small': (4, 8192, 100),
    'e2e-medium': (8, 12288, 100),
    'e2e-large': (16, 32768, 100),
}

#: Availability zones (host aggregates) of the fake computes and of the
#: libvirt compute, so that each test's servers go to its own hosts.
FAKE_AZ = 'e2e-fake'
LIBVIRT_AZ = 'e2e-libvirt'
LIBVIRT_HOST = 'e2e-libvirt'
#: The image every test boots (1 MiB of zeros: the fake computes ignore it,
#: and the libvirt guests need no operating system to be inspected).
IMAGE = 'e2e-image'
#: How the DevStack plugin is configured (local.conf) for this cloud.
LOCAL_CONF = {
    'NOVA_SCALE_EXT_USE_SHIM': 'True',
    'NOVA_SCALE_EXT_TUNING_POLICY': 'hugepage_no_ksm=True',
}

#: Erlang's distribution (RabbitMQ's inter-node port) on 127.0.0.1 only.
LOOPBACK_DIST = '-kernel inet_dist_use_interface {127,0,0,1}'

DB_USER = 'e2e'
DATABASES = ('keystone', 'placement', 'glance', 'neutron', 'nova_api',
             'nova_cell0', 'nova')


class CloudError(RuntimeError):
    """A service did not come up; the message names its log file."""


def missing_requirements():
    """What this machine lacks to run the cloud, as sentences ([]: ok)."""
    missing = []
    if os.geteuid() != 0:
        missing.append('the end-to-end cloud runs as root')
    for tool in ('mariadbd', 'mariadb-install-db', 'epmd'):
        if not shutil.which(tool, path=os.environ.get('PATH', '') +
                            ':/usr/sbin:/usr/bin'):
            missing.append(f'{tool} is not installed (mariadb-server, '
                           'rabbitmq-server)')
    if not Path('/usr/lib/rabbitmq/bin/rabbitmq-server').exists():
        missing.append('rabbitmq-server is not installed')
    for venv in ('keystone', 'glance', 'neutron'):
        if not (CACHE / venv / '.installed').exists():
            missing.append(f'no {venv} virtualenv in {CACHE}')
    if not (CACHE / 'nova-site' / '.installed').exists():
        missing.append(f'no gunicorn/PyMySQL/python-memcached in '
                       f'{CACHE}/nova-site')
    if missing:
        missing.append('run tools/e2e/install-e2e.sh as root')
    return missing


def libvirt_unavailable():
    """Why the libvirt compute cannot run here (None: it can)."""
    if os.geteuid() != 0:
        return 'the libvirt compute runs as root'
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return 'libvirt-python is not installed'
    if not shutil.which('qemu-img'):
        return 'qemu-img is not installed (qemu-utils)'
    if not shutil.which('virsh'):
        return 'virsh is not installed (libvirt-clients)'
    probe = subprocess.run(['virsh', '-c', 'qemu:///system', 'version'],
                           capture_output=True, text=True)
    if probe.returncode:
        return ('libvirtd does not answer on qemu:///system (run '
                'tools/start-libvirtd.sh)')
    free = Path('/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages')
    if not free.exists() or int(free.read_text()) < 128:
        return 'fewer than 128 free 2 MiB huge pages'
    if (os.cpu_count() or 1) < 2:
        return 'one CPU: nothing to split into dedicated and shared sets'
    return None


@dataclasses.dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path


def _port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(('127.0.0.1', port)) == 0


def _ini(path, sections):
    """Write ``{section: {option: value or [values]}}`` as an ini file."""
    lines = []
    for section, options in sections.items():
        lines.append(f'[{section}]')
        for option, value in options.items():
            values = value if isinstance(value, list) else [value]
            lines += [f'{option} = {v}' for v in values]
        lines.append('')
    Path(path).write_text('\n'.join(lines))


def without_sections(text, names):
    """An ini text without the sections ``names`` (lines kept as they are,
    so repeated options survive)."""
    out, keep = [], True
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith('[') and stripped.endswith(']'):
            keep = stripped[1:-1] not in names
        if keep:
            out.append(line)
    return '\n'.join(out) + '\n'


class Cloud:
    """One control plane and its fake computes, in ``root``."""

    def __init__(self, root, fleet=None, log=print, libvirt=False):
        self.root = Path(root)
        self.libvirt = libvirt
        self.fleet = dict(FLEET if fleet is None else fleet)
        self.log = log
        self.etc = self.root / 'etc'
        self.logs = self.root / 'logs'
        self.data = self.root / 'data'
        self.processes = {}
        self.clouds_yaml = self.etc / 'clouds.yaml'
        self.nova_conf = self.etc / 'nova' / 'nova.conf'
        self.nova_defaults_conf = self.etc / 'nova' / 'nova-defaults.conf'
        self.compute_conf = self.etc / 'nova' / 'nova-cpu.conf'
        self.scheduler_conf = None
        self.timings = {}
        self.bring_up_s = None
        #: Set by stop(): bring-up steps still running in threads give up.
        self._stopping = False
        #: Guests on the host's libvirtd before the libvirt compute came up
        #: (None: it did not).
        self._guests_before = None

    # Processes.

    def _env(self, **extra):
        env = dict(os.environ)
        env.pop('OS_CLOUD', None)
        env['PYTHONPATH'] = os.pathsep.join(
            [str(CACHE / 'nova-site'), str(REPO)] +
            ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
        env['PATH'] = os.pathsep.join([str(VENV / 'bin'), env['PATH'],
                                       '/usr/sbin', '/usr/bin', '/sbin'])
        env['no_proxy'] = env['NO_PROXY'] = '127.0.0.1,localhost'
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def _run(self, name, argv, env=None, timeout=300):
        """Run a set-up command to completion; its output goes to a log."""
        log = self.logs / f'{name}.log'
        with open(log, 'a') as out:
            proc = subprocess.run([str(a) for a in argv], stdout=out,
                                  stderr=subprocess.STDOUT, env=env or
                                  self._env(), cwd=self.root, timeout=timeout)
        if proc.returncode:
            raise CloudError(f'{name} failed ({proc.returncode}); see {log}:'
                             f'\n{log.read_text()[-3000:]}')

    def spawn(self, name, argv, env=None):
        """Start a long-running process in its own process group."""
        if self._stopping:
            raise CloudError(f'not starting {name}: the cloud is being '
                             'stopped')
        log = self.logs / f'{name}.log'
        out = open(log, 'a')
        popen = subprocess.Popen([str(a) for a in argv], stdout=out,
                                 stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL,
                                 env=env or self._env(), cwd=self.root,
                                 start_new_session=True)
        out.close()
        self.processes[name] = Process(name, popen, log)
        return self.processes[name]

    def kill(self, *names, timeout=15):
        """Stop process groups by their leaders' pids: TERM to all of them
        at once, then KILL to what is left after ``timeout`` seconds."""
        procs = [self.processes.pop(n) for n in names if n in self.processes]
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
            for proc in procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                for proc in procs:
                    proc.popen.poll()
                if not any(self._group_alive(p.popen.pid) for p in procs):
                    return
                time.sleep(0.1)
        alive = [p.name for p in procs if self._group_alive(p.popen.pid)]
        if alive:
            raise CloudError(f'{", ".join(alive)} did not stop')

    @staticmethod
    def _group_alive(pgid):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True

    def _wait(self, names, ready, timeout=120, what='to start'):
        """Wait until ``ready()``; fail as soon as one of the processes
        ``names`` (a name or a list of names) has exited."""
        names = [names] if isinstance(names, str) else list(names)
        procs = [self.processes[n] for n in names if n in self.processes]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stopping:
            if ready():
                return
            for proc in procs:
                if proc.popen.poll() is not None:
                    raise CloudError(
                        f'{proc.name} exited with {proc.popen.returncode}; '
                        f'see {proc.log}:\n{proc.log.read_text()[-3000:]}')
            time.sleep(0.2)
        if self._stopping:
            raise CloudError('the cloud is being stopped')
        log = self.logs / f'{names[0]}.log'
        tail = log.read_text()[-3000:] if log.exists() else ''
        raise CloudError(f'{", ".join(names)} did not manage {what} in '
                         f'{timeout} s; see {log}:\n{tail}')

    def _wait_http(self, name, url, timeout=120):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def ready():
            try:
                with opener.open(url, timeout=2):
                    return True
            except urllib.error.HTTPError:
                return True          # answering, even if with 401 or 300
            except OSError:
                return False
        self._wait(name, ready, timeout, f'to answer on {url}')

    def pids(self):
        """``{pid: resident bytes}`` of every process of the cloud: the
        members of the process groups it started."""
        groups = {p.popen.pid for p in self.processes.values()}
        out = {}
        for stat in Path('/proc').glob('[0-9]*/stat'):
            try:
                fields = stat.read_text().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) in groups:      # pgrp
                out[int(stat.parent.name)] = (int(fields[21]) *
                                              os.sysconf('SC_PAGE_SIZE'))
        return out

    def memory_mib(self):
        """Resident memory of every process of the cloud, in MiB."""
        return sum(self.pids().values()) / 2**20

    def listening(self):
        """``{(address, port)}`` of the TCP sockets the cloud's processes
        listen on (from ``/proc/net/tcp*``, addresses as the kernel has
        them: ``7F000001`` is 127.0.0.1)."""
        listeners = {}
        for table in ('/proc/net/tcp', '/proc/net/tcp6'):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == '0A':             # LISTEN
                    address, port = fields[1].split(':')
                    listeners[fields[9]] = (address, int(port, 16))
        found = set()
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for fd in Path(f'/proc/{pid}/fd').iterdir():
                    with contextlib.suppress(OSError):
                        target = os.readlink(fd)     # socket:[INODE]
                        if target.startswith('socket:['):
                            inode = target[len('socket:['):-1]
                            if inode in listeners:
                                found.add(listeners[inode])
        return found

    # Bring-up.

    def _step(self, name, func):
        began = time.monotonic()
        func()
        self.timings[name] = time.monotonic() - began

    def _steps(self, *steps):
        """Run ``(name, function)`` steps, each in a thread; raise the first
        error once every one has ended."""
        with concurrent.futures.ThreadPoolExecutor(len(steps)) as pool:
            futures = [pool.submit(self._step, *step) for step in steps]
        for future in futures:
            future.result()

    def start(self):
        began = time.monotonic()
        for path in (self.etc / 'nova', self.logs, self.data):
            path.mkdir(parents=True, exist_ok=True)
        busy = [f'{name} ({port})' for name, port in PORTS.items()
                if _port_open(port)]
        if busy:
            raise CloudError(
                'ports of the cloud already in use on 127.0.0.1: '
                f'{", ".join(busy)} (is another end-to-end cloud running?)')
        # Steps on one line run at once (they wait on MariaDB, Keystone or
        # each other's migrations more than on the CPU).
        try:
            self._steps(('mariadb', self.start_mariadb),
                        ('rabbitmq', self.start_rabbitmq))
            self._steps(('keystone', self.start_keystone))
            self._steps(('accounts', self.create_accounts),
                        ('nova-db', self.prepare_nova),
                        ('neutron', self.start_neutron),
                        ('placement', self.start_placement),
                        ('glance', self.start_glance))
            self._steps(('nova-services', self.start_nova),
                        ('image', self.upload_image))
            self._steps(('computes', self.start_computes))
            self._steps(('zones', self.create_zones))
        except BaseException:
            self.stop()
            raise
        self.bring_up_s = time.monotonic() - began
        steps = ', '.join(f'{k} {v:.1f}' for k, v in self.timings.items())
        self.log(f'e2e cloud up in {self.bring_up_s:.1f} s (steps, some at '
                 f'once: {steps}); {len(self.processes)} services, '
                 f'{self.memory_mib():.0f} MiB resident')
        return self

    def stop(self):
        """Stop every process of the cloud: the Nova services first (so
        that they do not log the loss of their database and broker), then
        the rest."""
        self._stopping = True
        names = list(self.processes)
        nova = [n for n in names if n.startswith(('nova-', 'e2e-'))]
        for group in (nova, list(self.processes)):
            try:
                self.kill(*group)
            except CloudError as exc:
                self.log(str(exc))
        if self._guests_before is not None:
            self.remove_guests()

    def remove_guests(self):
        """Destroy and undefine the guests the libvirt compute left on the
        host's libvirtd (a test that failed before deleting its server):
        libvirtd, not the cloud, is their parent."""
        import libvirt

        connection = libvirt.open('qemu:///system')
        try:
            for domain in connection.listAllDomains():
                name = domain.name()
                if (not name.startswith('instance-') or
                        name in self._guests_before):
                    continue
                self.log(f'e2e cloud: removing guest {name} left behind')
                if domain.isActive():
                    domain.destroy()
                domain.undefineFlags(
                    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                    libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        finally:
            connection.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def db_url(self, name):
        return (f'mysql+pymysql://{DB_USER}:{PASSWORD}@127.0.0.1:'
                f'{PORTS["mariadb"]}/{name}?charset=utf8')

    def url(self, service, path=''):
        return f'http://127.0.0.1:{PORTS[service]}{path}'

    def start_mariadb(self):
        datadir = self.data / 'mariadb'
        sock = self.data / 'mariadb.sock'
        cnf = self.etc / 'my.cnf'
        cnf.write_text(
            '[mysqld]\n'
            f'datadir = {datadir}\nsocket = {sock}\n'
            f'port = {PORTS["mariadb"]}\nbind-address = 127.0.0.1\n'
            f'pid-file = {self.data / "mariadb.pid"}\n'
            'user = root\nskip-name-resolve\nmax_connections = 500\n'
            'innodb_flush_log_at_trx_commit = 0\n'
            'innodb_buffer_pool_size = 128M\n'
            'character-set-server = utf8mb4\n'
            'collation-server = utf8mb4_general_ci\n')
        self._run('mariadb-install-db', [
            'mariadb-install-db', f'--defaults-file={cnf}',
            '--skip-test-db', '--auth-root-authentication-method=socket'])
        self.spawn('mariadb', ['mariadbd', f'--defaults-file={cnf}'])
        self._wait('mariadb', sock.exists, 60, 'to open its socket')
        sql = [f"CREATE USER '{DB_USER}'@'127.0.0.1' IDENTIFIED BY "
               f"'{PASSWORD}';",
               f"GRANT ALL PRIVILEGES ON *.* TO '{DB_USER}'@'127.0.0.1';"]
        sql += [f'CREATE DATABASE {db};' for db in DATABASES]
        self._run('mariadb-setup', ['mariadb', f'--socket={sock}', '-uroot',
                                    '-e', ' '.join(sql)])

    def _rabbit_env(self):
        base = self.data / 'rabbitmq'
        return self._env(
            HOME=base, RABBITMQ_NODENAME='rabbit@localhost',
            RABBITMQ_NODE_IP_ADDRESS='127.0.0.1',
            RABBITMQ_NODE_PORT=PORTS['rabbit'],
            RABBITMQ_DIST_PORT=PORTS['rabbit_dist'],
            ERL_EPMD_ADDRESS='127.0.0.1', ERL_EPMD_PORT=PORTS['epmd'],
            RABBITMQ_MNESIA_BASE=base / 'mnesia',
            RABBITMQ_LOG_BASE=self.logs / 'rabbitmq',
            RABBITMQ_PID_FILE=base / 'rabbit.pid',
            RABBITMQ_CONFIG_FILE=base / 'rabbitmq',
            RABBITMQ_ENABLED_PLUGINS_FILE=base / 'enabled_plugins',
            RABBITMQ_ADVANCED_CONFIG_FILE=base / 'advanced.config',
            RABBITMQ_SERVER_START_ARGS='+S 2:2 +sbwt none',
            # Erlang's distribution listens on every address unless told;
            # rabbitmqctl is a node too.
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=LOOPBACK_DIST,
            RABBITMQ_CTL_ERL_ARGS=LOOPBACK_DIST)

    def start_rabbitmq(self):
        base = self.data / 'rabbitmq'
        base.mkdir(parents=True, exist_ok=True)
        (base / 'enabled_plugins').write_text('[].\n')
        (base / 'rabbitmq.conf').write_text(
            'loopback_users = none\nlog.console = true\n'
            'log.file = false\n')
        cookie = base / '.erlang.cookie'
        cookie.write_text('NOVASCALEEXTE2ECOOKIE')
        cookie.chmod(0o400)
        env = self._rabbit_env()
        self.spawn('epmd', ['epmd', '-address', '127.0.0.1', '-port',
                            PORTS['epmd']], env=env)
        self._wait('epmd', lambda: _port_open(PORTS['epmd']), 20)
        self.spawn('rabbitmq', ['/usr/lib/rabbitmq/bin/rabbitmq-server'],
                   env=env)
        self._wait('rabbitmq', lambda: _port_open(PORTS['rabbit']), 120,
                   'to open its AMQP port')
        self._run('rabbitmqctl', ['/usr/lib/rabbitmq/bin/rabbitmqctl', '-n',
                                  'rabbit@localhost', 'await_startup'],
                  env=env, timeout=120)

    @property
    def transport_url(self):
        return f'rabbit://guest:guest@127.0.0.1:{PORTS["rabbit"]}/'

    def _gunicorn(self, name, venv, module, port, env, workers=2):
        app = f'tests.e2e.wsgi_apps:application({module!r})'
        return self.spawn(name, [
            venv / 'bin' / 'python', '-m', 'gunicorn', '--no-control-socket',
            '--bind', f'127.0.0.1:{port}', '--workers', workers,
            '--timeout', 300, '--graceful-timeout', 5, '--chdir', REPO,
            '--name', name, app], env=env)

    def _authtoken(self, user):
        return {
            'www_authenticate_uri': self.url('keystone', '/v3'),
            'auth_url': self.url('keystone', '/v3'),
            'auth_type': 'password', 'username': user, 'password': PASSWORD,
            'project_name': 'service', 'user_domain_name': 'Default',
            'project_domain_name': 'Default', 'region_name': REGION,
        }

    def start_keystone(self):
        venv = CACHE / 'keystone'
        conf = self.etc / 'keystone.conf'
        keys = self.data / 'keystone'
        _ini(conf, {
            'DEFAULT': {'log_file': self.logs / 'keystone-app.log'},
            'database': {'connection': self.db_url('keystone')},
            'token': {'provider': 'fernet'},
            'fernet_tokens': {'key_repository': keys / 'fernet-keys'},
            'fernet_receipts': {'key_repository': keys / 'fernet-keys'},
            'credential': {'key_repository': keys / 'credential-keys'},
            'cache': {'enabled': 'false'},
        })
        for sub in ('fernet-keys', 'credential-keys'):
            (keys / sub).mkdir(parents=True, exist_ok=True)
        env = self._env(OS_KEYSTONE_CONFIG_FILES=conf, PYTHONPATH='')
        manage = [venv / 'bin' / 'keystone-manage', '--config-file', conf]
        self._run('keystone-manage', manage + ['db_sync'], env)
        for what in ('fernet_setup', 'credential_setup'):
            self._run('keystone-manage', manage + [
                what, '--keystone-user', 'root', '--keystone-group', 'root'],
                env)
        url = self.url('keystone', '/v3')
        self._run('keystone-manage', manage + [
            'bootstrap', '--bootstrap-password', PASSWORD,
            '--bootstrap-admin-url', url, '--bootstrap-internal-url', url,
            '--bootstrap-public-url', url,
            '--bootstrap-region-id', REGION], env)
        self._gunicorn('keystone', venv, 'keystone.wsgi.api',
                       PORTS['keystone'], env)
        self._wait_http('keystone', url)
        self.clouds_yaml.write_text(
            'clouds:\n'
            f'  {CLOUD}:\n'
            '    auth:\n'
            f'      auth_url: {url}\n'
            '      username: admin\n'
            f'      password: {PASSWORD}\n'
            '      project_name: admin\n'
            '      user_domain_name: Default\n'
            '      project_domain_name: Default\n'
            f'    region_name: {REGION}\n'
            '    identity_api_version: 3\n'
            '    interface: public\n')

    def connect(self):
        """An openstacksdk connection to the ``e2e-admin`` cloud."""
        import openstack
        from openstack import config as os_config

        config = os_config.OpenStackConfig(
            config_files=[str(self.clouds_yaml)])
        return openstack.connection.Connection(
            config=config.get_one(cloud=CLOUD))

    def create_accounts(self):
        """Service project, users and catalog, as DevStack creates them."""
        conn = self.connect()
        identity = conn.identity
        project = identity.create_project(name='service',
                                          domain_id='default')
        roles = {r.name: r for r in identity.roles()}
        if 'service' not in roles:
            roles['service'] = identity.create_role(name='service')
        for name in SERVICE_USERS:
            user = identity.create_user(name=name, password=PASSWORD,
                                        domain_id='default',
                                        default_project_id=project.id)
            for role in ('admin', 'service'):
                identity.assign_project_role_to_user(project, user,
                                                     roles[role])
        for name, kind, port, path in (
                ('nova', 'compute', 'nova', '/v2.1'),
                ('placement', 'placement', 'placement', ''),
                ('glance', 'image', 'glance', ''),
                ('neutron', 'network', 'neutron', '')):
            service = identity.create_service(name=name, type=kind)
            identity.create_endpoint(service_id=service.id,
                                     interface='public',
                                     url=self.url(port, path),
                                     region_id=REGION)
        conn.close()

    def start_placement(self):
        conf_dir = self.etc / 'placement'
        conf_dir.mkdir(exist_ok=True)
        _ini(conf_dir / 'placement.conf', {
            'DEFAULT': {'log_file': self.logs / 'placement-app.log'},
            'api': {'auth_strategy': 'keystone'},
            'placement_database': {'connection': self.db_url('placement')},
            'keystone_authtoken': self._authtoken('placement'),
        })
        env = self._env(OS_PLACEMENT_CONFIG_DIR=conf_dir)
        self._run('placement-manage', [
            VENV / 'bin' / 'placement-manage', '--config-file',
            conf_dir / 'placement.conf', 'db', 'sync'], env)
        self._gunicorn('placement', VENV, 'placement.wsgi.api',
                       PORTS['placement'], env)
        self._wait_http('placement', self.url('placement'))

    def start_glance(self):
        venv = CACHE / 'glance'
        conf_dir = self.etc / 'glance'
        conf_dir.mkdir(exist_ok=True)
        images = self.data / 'glance'
        _ini(conf_dir / 'glance-api.conf', {
            'DEFAULT': {'log_file': self.logs / 'glance-app.log',
                        'enabled_backends': 'fs:file',
                        'bind_host': '127.0.0.1',
                        'bind_port': PORTS['glance']},
            'database': {'connection': self.db_url('glance')},
            'keystone_authtoken': self._authtoken('glance'),
            'paste_deploy': {'flavor': 'keystone', 'config_file':
                             venv / 'etc' / 'glance' /
                             'glance-api-paste.ini'},
            'glance_store': {'default_backend': 'fs'},
            'fs': {'filesystem_store_datadir': images / 'images'},
            'os_glance_staging_store': {
                'filesystem_store_datadir': images / 'staging'},
            'os_glance_tasks_store': {
                'filesystem_store_datadir': images / 'tasks'},
        })
        env = self._env(OS_GLANCE_CONFIG_DIR=conf_dir, PYTHONPATH='')
        self._run('glance-manage', [
            venv / 'bin' / 'glance-manage', '--config-dir', conf_dir,
            'db_sync'], env)
        self._gunicorn('glance', venv, 'glance.wsgi.api',
                       PORTS['glance'], env, workers=1)
        self._wait_http('glance', self.url('glance'))

    def start_neutron(self):
        """neutron-server's API (ML2, no service plugins, no agents):
        Nova asks it about every server's ports even when it has none."""
        venv = CACHE / 'neutron'
        conf_dir = self.etc / 'neutron'
        conf_dir.mkdir(exist_ok=True)
        state = self.data / 'neutron'
        _ini(conf_dir / 'neutron.conf', {
            'DEFAULT': {
                'log_file': self.logs / 'neutron-app.log',
                'state_path': state, 'transport_url': self.transport_url,
                'auth_strategy': 'keystone', 'core_plugin': 'ml2',
                'service_plugins': '',
                'api_paste_config': venv / 'etc' / 'neutron' /
                'api-paste.ini',
                # No ports, so nothing to tell Nova about.
                'notify_nova_on_port_status_changes': 'False',
                'notify_nova_on_port_data_changes': 'False'},
            'database': {'connection': self.db_url('neutron')},
            'keystone_authtoken': self._authtoken('neutron'),
            'ml2': {'type_drivers': 'flat', 'tenant_network_types': '',
                    'mechanism_drivers': '', 'extension_drivers': ''},
            'oslo_concurrency': {'lock_path': state / 'lock'},
        })
        env = self._env(OS_NEUTRON_CONFIG_DIR=conf_dir,
                        OS_NEUTRON_CONFIG_FILES='neutron.conf',
                        PYTHONPATH='')
        self._run('neutron-db-manage', [
            venv / 'bin' / 'neutron-db-manage', '--config-file',
            conf_dir / 'neutron.conf', 'upgrade', 'heads'], env)
        self._gunicorn('neutron', venv, 'neutron.wsgi.api',
                       PORTS['neutron'], env, workers=1)
        self._wait_http('neutron', self.url('neutron'))

    # Nova.

    def base_nova_conf(self):
        """What DevStack's lib/nova writes before the plugins' post-config
        (create_nova_conf), for this machine."""
        from tests.functional.devstack import harness

        sections = {
            'DEFAULT': {
                'debug': 'True', 'transport_url': self.transport_url,
                'my_ip': '127.0.0.1', 'state_path': self.data / 'nova',
                'host': CONTROLLER, 'use_stderr': 'True',
                'graceful_shutdown_timeout': '5',
                # The fleet as the tests (and the simulator) see it.
                'cpu_allocation_ratio': '1.0', 'ram_allocation_ratio': '1.0',
                'disk_allocation_ratio': '1.0',
                'reserved_host_memory_mb': '0', 'reserved_host_disk_mb': '0',
            },
            'api': {'auth_strategy': 'keystone'},
            'wsgi': {'api_paste_config': VENV / 'etc' / 'nova' /
                     'api-paste.ini'},
            'database': {'connection': self.db_url('nova')},
            'api_database': {'connection': self.db_url('nova_api')},
            'keystone_authtoken': self._authtoken('nova'),
            'placement': self._authtoken('nova'),
            'neutron': self._authtoken('nova'),
            'oslo_concurrency': {'lock_path': self.data / 'nova' / 'locks'},
            'scheduler': {'discover_hosts_in_cells_interval': '-1',
                          'workers': '1'},
            'conductor': {'workers': '1'},
            'quota': {'driver': 'nova.quota.NoopQuotaDriver'},
            'vnc': {'enabled': 'False'},
            'filter_scheduler': {'enabled_filters':
                                 harness.DEVSTACK_FILTERS},
        }
        for section in ('placement', 'neutron', 'keystone_authtoken'):
            sections[section].pop('www_authenticate_uri', None)
        sections['keystone_authtoken']['www_authenticate_uri'] = self.url(
            'keystone', '/v3')
        return sections

    def write_nova_conf(self, **local_conf):
        """nova.conf: lib/nova's options, then the plugin's post-config."""
        from tests.functional.devstack import harness

        (self.data / 'nova' / 'locks').mkdir(parents=True, exist_ok=True)
        shutil.copy(VENV / 'etc' / 'nova' / 'api-paste.ini',
                    self.nova_conf.parent / 'api-paste.ini')
        _ini(self.nova_defaults_conf, self.base_nova_conf())
        with tempfile.TemporaryDirectory() as tmp:
            host = harness.FakeDevStack(tmp, **dict(LOCAL_CONF,
                                                    **local_conf))
            shutil.copy(self.nova_defaults_conf, host.nova_conf)
            host.run(('stack', 'post-config'))
            self.nova_conf.write_text(host.nova_conf.read_text())
        self.compute_conf.write_text(without_sections(
            self.nova_conf.read_text(), ('database', 'api_database')))
        self.scheduler_conf = self.nova_conf

    def _nova_env(self, conf=None):
        conf = conf or self.nova_conf
        # nova-api reads its paste pipeline from the first file.
        return self._env(OS_NOVA_CONFIG_DIR=conf.parent,
                         OS_NOVA_CONFIG_FILES=f'api-paste.ini;{conf.name}')

    def nova_manage(self, *args):
        self._run('nova-manage', [VENV / 'bin' / 'nova-manage',
                                  '--config-file', self.nova_conf, *args],
                  self._nova_env())

    def prepare_nova(self):
        self.write_nova_conf()
        self.sync_nova_db()

    def sync_nova_db(self):
        self.nova_manage('api_db', 'sync')
        self.nova_manage('cell_v2', 'map_cell0', '--database_connection',
                         self.db_url('nova_cell0'))
        self.nova_manage('db', 'sync')
        self.nova_manage('cell_v2', 'create_cell', '--name', 'cell1',
                         '--transport-url', self.transport_url,
                         '--database_connection', self.db_url('nova'))

    def start_nova(self):
        env = self._nova_env()
        self._gunicorn('nova-api', VENV, 'nova.wsgi.osapi_compute',
                       PORTS['nova'], env)
        self.spawn('nova-conductor', [VENV / 'bin' / 'nova-conductor',
                                      '--config-file', self.nova_conf], env)
        self.start_scheduler(self.scheduler_conf)
        self._wait_http('nova-api', self.url('nova', '/v2.1'))

    def start_scheduler(self, conf):
        self.scheduler_conf = Path(conf)
        self.spawn('nova-scheduler', [VENV / 'bin' / 'nova-scheduler',
                                      '--config-file', conf],
                   self._nova_env(Path(conf)))

    def _services_up(self, binary, hosts):
        conn = self.connect()
        try:
            up = {s.host for s in conn.compute.services(binary=binary)
                  if s.state == 'up' and s.status == 'enabled'}
        finally:
            conn.close()
        return set(hosts) <= up

    def restart_scheduler(self, conf):
        """Restart nova-scheduler alone on another nova.conf."""
        began = time.monotonic()
        self.kill('nova-scheduler')
        # Its service record stays 'up' for a while: wait for the new
        # process's log line saying it starts its service instead. A request
        # sent before it consumes waits in its (durable) RabbitMQ queue.
        mark = self.logs / 'nova-scheduler.log'
        size = mark.stat().st_size if mark.exists() else 0
        self.start_scheduler(conf)

        def started():
            with open(mark, 'rb') as handle:
                handle.seek(size)
                return b'Starting scheduler node' in handle.read()
        self._wait('nova-scheduler', started, 120, 'to start its service')
        took = time.monotonic() - began
        self.log(f'nova-scheduler restarted on {Path(conf).name} in '
                 f'{took:.1f} s')
        return took

    def start_computes(self):
        """The fake computes and, if asked for, the libvirt compute; wait
        until placement and the API know them all."""
        hosts, nodes = list(self.fleet), list(self.fleet)
        if self.libvirt:
            hosts.append(LIBVIRT_HOST)
            nodes.append(self.start_libvirt_compute())
        for host, (vcpus, memory_mb, disk_gb) in self.fleet.items():
            conf = self.etc / 'nova' / f'{host}.conf'
            # The resource tracker refreshes the host's statistics every
            # second: nova-scheduler's IoOpsWeigher (on by default) counts
            # an instance as building until the next refresh after it is
            # ACTIVE, which the simulator does not model.
            _ini(conf, {'DEFAULT': {
                'host': host,
                'compute_driver': 'scale_ext_e2e.SizedFakeDriver',
                'state_path': self.data / host,
                'update_resources_interval': '1',
                'periodic_fuzzy_delay': '0'}})
            (self.data / host).mkdir(exist_ok=True)
            env = self._env(NOVA_SCALE_EXT_E2E_FAKE_SIZE=(
                f'{vcpus},{memory_mb},{disk_gb}'))
            self.spawn(host, [VENV / 'bin' / 'python', '-m',
                              'tests.e2e.fake_compute', '--config-file',
                              self.compute_conf, '--config-file', conf], env)
        self.wait_for_hosts(hosts, nodes)

    def wait_for_hosts(self, hosts, nodes, timeout=180):
        """Wait until placement has the providers of the hosts' nodes, then
        map the hosts to the cell and wait until the API sees them up."""
        conn = self.connect()

        def providers():
            names = {rp.name for rp in conn.placement.resource_providers()}
            return set(nodes) <= names
        try:
            self._wait(hosts, providers, timeout, 'to report to placement')
        finally:
            conn.close()
        self.nova_manage('cell_v2', 'discover_hosts')
        self._wait(hosts, lambda: self._services_up('nova-compute', hosts),
                   60, 'to report up')

    def start_libvirt_compute(self):
        """nova-compute with the driver the plugin configured (our shim)
        on this host's libvirtd: CPU 0 shared, the others dedicated.
        Returns the name of its node."""
        import libvirt

        connection = libvirt.open('qemu:///system')
        try:
            self._guests_before = {d.name()
                                   for d in connection.listAllDomains()}
        finally:
            connection.close()
        host = LIBVIRT_HOST
        state = self.data / host
        (state / 'instances').mkdir(parents=True, exist_ok=True)
        # Everything runs as root: Nova's privilege helpers need no sudo.
        shims = self.root / 'bin'
        shims.mkdir(exist_ok=True)
        sudo = shims / 'sudo'
        sudo.write_text('#!/bin/sh\nexec "$@"\n')
        sudo.chmod(0o755)
        kvm = kvm_probe.kvm_boots('host-passthrough')
        cpus = sorted(os.sched_getaffinity(0))
        conf = self.etc / 'nova' / f'{host}.conf'
        _ini(conf, {
            'DEFAULT': {'host': host, 'state_path': state,
                        'instances_path': state / 'instances'},
            'libvirt': {'virt_type': 'kvm' if kvm else 'qemu',
                        'cpu_mode': 'host-passthrough' if kvm else 'none'},
            'compute': {'cpu_shared_set': str(cpus[0]),
                        'cpu_dedicated_set': ','.join(
                            str(c) for c in cpus[1:])},
            'workarounds': {'disable_rootwrap': 'True'},
        })
        env = self._env()
        env['PATH'] = f'{shims}{os.pathsep}{env["PATH"]}'
        self.spawn(host, [VENV / 'bin' / 'nova-compute', '--config-file',
                          self.compute_conf, '--config-file', conf], env)
        # The libvirt driver names its node after the machine.
        return subprocess.run(
            ['virsh', '-c', 'qemu:///system', 'hostname'], check=True,
            capture_output=True, text=True).stdout.strip()

    def create_zones(self):
        conn = self.connect()
        try:
            zones = [(FAKE_AZ, list(self.fleet))]
            if self.libvirt:
                zones.append((LIBVIRT_AZ, [LIBVIRT_HOST]))
            for zone, hosts in zones:
                aggregate = conn.compute.create_aggregate(
                    name=zone, availability_zone=zone)
                for host in hosts:
                    conn.compute.add_host_to_aggregate(aggregate, host)
        finally:
            conn.close()

    def upload_image(self):
        conn = self.connect()
        try:
            conn.image.create_image(
                name=IMAGE, data=b'\0' * 2**20, disk_format='raw',
                container_format='bare', visibility='public',
                wait=True)
        finally:
            conn.close()


def interrupt(signum, frame):
    """A signal handler that stops the cloud as Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='check: say whether this machine can run the cloud '
                    '(exit status 1 if not); up: bring it up until Ctrl-C.')
    parser.add_argument('action', choices=['check', 'up'])
    parser.add_argument('--dir', help='directory for configuration, data '
                        'and logs (default: a new temporary directory)')
    args = parser.parse_args(argv)
    missing = missing_requirements()
    if missing:
        print('; '.join(missing), file=sys.stderr)
        return 1
    no_libvirt = libvirt_unavailable()
    if args.action == 'check':
        print('the end-to-end cloud can run here' + (
            f', without its libvirt compute: {no_libvirt}' if no_libvirt
            else ', with its libvirt compute'))
        return 0
    root = args.dir or tempfile.mkdtemp(prefix='nova-scale-ext-e2e-')
    cloud = Cloud(root, libvirt=no_libvirt is None)
    # A TERM (from kill or timeout) tears the cloud down like Ctrl-C.
    signal.signal(signal.SIGTERM, interrupt)
    with cloud:
        print(f'OS_CLIENT_CONFIG_FILE={cloud.clouds_yaml} '
              f'OS_CLOUD={CLOUD}; Ctrl-C stops it', flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == '__main__':
    sys.exit(main())
