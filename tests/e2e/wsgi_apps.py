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
"""WSGI applications for gunicorn, imported with ``sys.argv`` hidden.

``nova.wsgi.osapi_compute`` and ``keystone.wsgi.api`` parse ``sys.argv``
when they are imported, and under gunicorn those are gunicorn's arguments.
Run ``gunicorn 'tests.e2e.wsgi_apps:application("keystone.wsgi.api")'``.
The services read their configuration files from environment variables
(``OS_NOVA_CONFIG_DIR``, ``OS_KEYSTONE_CONFIG_FILES``, ...).

The module also runs in the virtualenvs of Keystone, Glance and Neutron:
it imports only the standard library and SQLAlchemy, which they all have.
"""

import importlib
import sys


def application(module, name='application'):
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        app = getattr(importlib.import_module(module), name)
    finally:
        sys.argv = saved
    # Neutron's GET /v2.0/ports reads a relationship that exists only once
    # SQLAlchemy has configured its mappers, which any query does first;
    # neutron-server without agents or mechanism drivers makes no query
    # before the first request (seen with neutron 29). Configure them now.
    from sqlalchemy import orm
    orm.configure_mappers()
    return app
