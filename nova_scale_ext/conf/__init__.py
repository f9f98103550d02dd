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
"""All configuration options of nova-scale-ext, registered on
``oslo_config.cfg.CONF`` (the object Nova reads ``nova.conf`` into)."""

from oslo_config import cfg

from nova_scale_ext.conf import filters, isolation, libvirt, weights

CONF = cfg.CONF

_MODULES = (filters, weights, isolation, libvirt)


def register_opts(conf=CONF):
    for module in _MODULES:
        module.register_opts(conf)


def list_opts():
    """Options by group, for ``oslo-config-generator``."""
    return [(group, opts) for module in _MODULES
            for group, opts in module.list_opts().items()]


def default_of(group, name):
    """The default value of one of our options."""
    for grp, opts in list_opts():
        if grp.name == group:
            for opt in opts:
                if opt.name == name:
                    return opt.default
    raise KeyError(f'[{group}] {name}')


register_opts(CONF)
