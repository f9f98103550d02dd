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
"""MariaDB: one server, a database per service.
"""

from tests.e2e.settings import DATABASES, DB_USER, PASSWORD, PORTS


class MariaDB:
    """The cloud's database server."""

    def db_url(self, name):
        return (f'mysql+pymysql://{DB_USER}:{PASSWORD}@127.0.0.1:'
                f'{PORTS["mariadb"]}/{name}?charset=utf8')

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
        self._start_mariadbd()
        sql = [f"CREATE USER '{DB_USER}'@'127.0.0.1' IDENTIFIED BY "
               f"'{PASSWORD}';",
               f"GRANT ALL PRIVILEGES ON *.* TO '{DB_USER}'@'127.0.0.1';"]
        sql += [f'CREATE DATABASE {db};' for db in DATABASES]
        self._run('mariadb-setup', ['mariadb', f'--socket={sock}', '-uroot',
                                    '-e', ' '.join(sql)])

    def _start_mariadbd(self):
        self.spawn('mariadb', ['mariadbd',
                               f'--defaults-file={self.etc / "my.cnf"}'])
        self._wait('mariadb', (self.data / 'mariadb.sock').exists, 60,
                   'to open its socket')

    def restart_mariadb(self):
        """Stop the database server and start it again on its data; the
        services reconnect on their own."""
        self.kill('mariadb')
        self._start_mariadbd()
