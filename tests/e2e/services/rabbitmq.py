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
"""RabbitMQ with an epmd of its own, on 127.0.0.1 only.
"""

from tests.e2e.settings import LOOPBACK_DIST, PORTS, port_open


class RabbitMQ:
    """The cloud's message broker."""

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
        self._wait('epmd', lambda: port_open(PORTS['epmd']), 20)
        self._start_rabbitmq_server()

    def restart_rabbitmq(self):
        """Stop the broker and start it again on its data (epmd stays);
        the services reconnect on their own."""
        self.kill('rabbitmq')
        self._start_rabbitmq_server()

    def _start_rabbitmq_server(self):
        env = self._rabbit_env()
        self.spawn('rabbitmq', ['/usr/lib/rabbitmq/bin/rabbitmq-server'],
                   env=env)
        self._wait('rabbitmq', lambda: port_open(PORTS['rabbit']), 120,
                   'to open its AMQP port')
        self._run('rabbitmqctl', ['/usr/lib/rabbitmq/bin/rabbitmqctl', '-n',
                                  'rabbit@localhost', 'await_startup'],
                  env=env, timeout=120)

    @property
    def transport_url(self):
        return f'rabbit://guest:guest@127.0.0.1:{PORTS["rabbit"]}/'
