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
"""The tuning policy of one guest: ``[scale_ext_libvirt]`` overridden by the
flavor's ``scale_ext:`` extra specs.

An extra spec that nova-api would have rejected can still reach a compute
host (a flavor created before the validators were installed, or through the
database): it is ignored with one warning naming the flavor, the key and the
value, and the configured value is used instead.
"""

from oslo_config import cfg
from oslo_utils import strutils

from nova_scale_ext import common
from nova_scale_ext.conf import libvirt as libvirt_conf
from nova_scale_ext.virt import tuning

GROUP = libvirt_conf.GROUP.name
NAMESPACE = 'scale_ext'


def extra_spec_key(field):
    """``'guest_halt_polling'`` -> ``'scale_ext:guest_halt_polling'``."""
    return f'{NAMESPACE}:{field}'


def _parse(field, raw):
    if field == 'on_invalid_xml':
        value = str(raw).strip().lower()
        if value not in tuning.ON_INVALID_XML_CHOICES:
            raise ValueError(raw)
        return value
    return strutils.bool_from_string(raw, strict=True)


def from_config():
    """The policy configured in ``[scale_ext_libvirt]``."""
    return tuning.TuningPolicy(**{
        field: common.config_value(GROUP, field)
        for field in tuning.POLICY_FIELDS})


def for_flavor(extra_specs, flavor_name=None, base=None):
    """The policy of a guest of a flavor with ``extra_specs``.

    :param base: the configured policy (read from ``nova.conf`` if None).
    """
    policy = base if base is not None else from_config()
    overrides = {}
    for field in tuning.POLICY_FIELDS:
        key = extra_spec_key(field)
        if not extra_specs or key not in extra_specs:
            continue
        raw = extra_specs[key]
        try:
            overrides[field] = _parse(field, raw)
        except (TypeError, ValueError):
            common.warn_once(
                ('extra_spec', flavor_name, key, repr(raw)),
                "Flavor %(flavor)s has an invalid value %(value)r for extra "
                "spec %(key)s; using [%(group)s] %(field)s = %(default)r "
                "instead.",
                {'flavor': flavor_name or '?', 'value': raw, 'key': key,
                 'group': GROUP, 'field': field,
                 'default': getattr(policy, field)})
    if not overrides:
        return policy
    values = {f: getattr(policy, f) for f in tuning.POLICY_FIELDS}
    values.update(overrides)
    return tuning.TuningPolicy(**values)


def hardened(project_id):
    """Whether a guest of ``project_id`` on this host is hardened against
    cross-guest side channels: the host is marked multi-tenant, or the
    project is isolated by ``[scale_ext_isolation]``; an isolation policy
    that cannot be read hardens every guest (the safe side)."""
    if common.config_value(GROUP, 'multi_tenant_host'):
        return True
    from nova_scale_ext.core import isolation
    group = cfg.CONF.scale_ext_isolation
    try:
        pol = isolation.Policy.from_options(group.isolated_projects,
                                            group.isolation_groups)
    except (isolation.PolicyError, ValueError, cfg.Error) as exc:
        common.warn_once(('isolation-policy-compute', str(exc)),
                         "[scale_ext_isolation] cannot be read (%(error)s): "
                         "every guest is hardened against cross-guest side "
                         "channels until it is fixed.", {'error': exc})
        return True
    return pol.group_of(project_id) != isolation.SHARED
