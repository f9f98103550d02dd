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
"""The OpenStackClient plugin: ``openstack scale-ext capacity`` and
``openstack scale-ext snapshot``.

OpenStackClient finds it through the ``openstack.cli.extension`` entry
point and the commands through ``openstack.scale_ext.v1``. They use the
connection OpenStackClient already holds (its ``--os-cloud``, ``OS_*``
variables and authentication options), so nothing here talks to Keystone.
"""

import os

#: The name OpenStackClient knows the plugin by.
API_NAME = 'scale_ext'
API_VERSION_OPTION = 'os_scale_ext_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = {'1': 'nova_scale_ext.osc.plugin'}


def make_client(instance):
    """The commands read placement and Nova through openstacksdk: the
    connection OpenStackClient made."""
    return instance.sdk_connection


def build_option_parser(parser):
    parser.add_argument(
        '--os-scale-ext-api-version', metavar='<version>',
        default=os.environ.get('OS_SCALE_EXT_API_VERSION',
                               DEFAULT_API_VERSION),
        help='version of the scale-ext commands (only 1; default '
             '$OS_SCALE_EXT_API_VERSION or 1)')
    return parser
