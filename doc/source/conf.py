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
"""Sphinx configuration of the nova-scale-ext documentation."""

project = 'nova-scale-ext'
copyright = 'nova-scale-ext developers'
extensions = ['oslo_config.sphinxext']
master_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
html_static_path = ['_static']
pygments_style = 'sphinx'


def _patch_oslo_config_group_help():
    """Indent group help as deep as the ``:namespace:`` option.

    oslo.config's ``show-options`` writes a group's help two spaces deep
    under a directive whose option is three deep; recent docutils then reads
    the option as directive arguments and rejects the group.
    """
    from oslo_config import sphinxext

    original = sphinxext._format_group

    def _format_group(namespace, group_name, group_obj):
        for line in original(namespace, group_name, group_obj):
            if line.startswith('  ') and not line.startswith('   '):
                line = ' ' + line
            yield line

    sphinxext._format_group = _format_group


_patch_oslo_config_group_help()
