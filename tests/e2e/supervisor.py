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
"""Process supervision for the end-to-end cloud: start a service in its own
process group with its own log, wait until it is ready (or say why it is
not, from its log), stop process groups, and tell what the cloud's
processes hold (resident memory, listening sockets).
"""

import concurrent.futures
import contextlib
import dataclasses
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e.settings import CACHE, REPO, VENV


class CloudError(RuntimeError):
    """A service did not come up; the message names its log file."""


@dataclasses.dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path


class Supervisor:
    """The processes of the cloud, each in a process group of its own,
    with a log file each in ``logs``; ``root`` is their working directory.
    """

    def __init__(self, root, log=print):
        self.root = Path(root)
        self.log = log
        self.logs = self.root / 'logs'
        self.processes = {}
        self.timings = {}
        #: Set by stop(): bring-up steps still running in threads give up.
        self._stopping = False

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

    def _gunicorn(self, name, venv, module, port, env, workers=2):
        app = f'tests.e2e.wsgi_apps:application({module!r})'
        return self.spawn(name, [
            venv / 'bin' / 'python', '-m', 'gunicorn', '--no-control-socket',
            '--bind', f'127.0.0.1:{port}', '--workers', workers,
            '--timeout', 300, '--graceful-timeout', 5, '--chdir', REPO,
            # nova-api asks neutron for the ports of a page of servers in
            # one query string, longer than gunicorn's default 4094 bytes
            # for a few dozen servers (Apache, as DevStack runs the APIs,
            # takes 8190)
            '--limit-request-line', 8190,
            '--name', name, app], env=env)

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
