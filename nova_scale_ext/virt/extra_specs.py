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
"""Validators for ``scale_ext:`` flavor extra specs.

Registered under Nova's ``nova.api.extra_spec_validators`` entry point, so
nova-api (microversion 2.86 and later) rejects a misspelt key or a bad value
in our namespace when the extra spec is set, instead of the compute host
finding out at boot.
"""

from nova import exception
from nova.api.validation.extra_specs import base

from nova_scale_ext.virt import policy, tuning

_DESCRIPTIONS = {
    'emulator_threads_on_shared_set': (
        'Pinned guests: run the emulator and IO threads on the host\'s '
        '``[compute] cpu_shared_set``. Overrides ``[scale_ext_libvirt] '
        'emulator_threads_on_shared_set``.'),
    'iothread_on_virtio_disks': (
        'Pinned guests: serve virtio disks and virtio-scsi controllers from '
        'the guest\'s IO thread. Overrides ``[scale_ext_libvirt] '
        'iothread_on_virtio_disks``.'),
    'guest_halt_polling': (
        'Guests with only dedicated vCPUs on KVM: enable guest '
        'halt-polling (KVM hint-dedicated and poll-control). Overrides '
        '``[scale_ext_libvirt] guest_halt_polling``.'),
    'hugepage_no_ksm': (
        'Hugepage-backed guests: keep the guest memory out of KSM page '
        'merging. Overrides ``[scale_ext_libvirt] hugepage_no_ksm``.'),
    'hugepage_no_balloon': (
        'Hugepage-backed guests: no memory balloon device. Overrides '
        '``[scale_ext_libvirt] hugepage_no_balloon``.'),
    'free_page_reporting': (
        'Shared guests: a virtio memory balloon with free page reporting. '
        'Overrides ``[scale_ext_libvirt] free_page_reporting``.'),
    'on_invalid_xml': (
        'What to do when the tuned domain XML does not validate against '
        'libvirt\'s schema: ``fallback`` to Nova\'s XML or ``fail`` the '
        'boot. Overrides ``[scale_ext_libvirt] on_invalid_xml``.'),
}


def _value(field):
    if field == 'on_invalid_xml':
        return {'type': str, 'enum': list(tuning.ON_INVALID_XML_CHOICES),
                'description': 'one of: fallback, fail'}
    return {'type': bool,
            'description': 'a boolean such as true or false'}


class ScaleExtValidator(base.ExtraSpecValidator):
    """Nova's validator, with the key and the accepted values in the
    error (Nova's own message names neither)."""

    def validate(self, name, value):
        try:
            super().validate(name, value)
        except exception.ValidationError as exc:
            raise exception.ValidationError(
                f"Invalid value {value!r} for flavor extra spec {name} "
                f"({self.value['description']}): {exc}") from exc


EXTRA_SPEC_VALIDATORS = [
    ScaleExtValidator(
        name=policy.extra_spec_key(field),
        description=_DESCRIPTIONS[field],
        value=_value(field),
    )
    for field in tuning.POLICY_FIELDS
]


def register():
    return EXTRA_SPEC_VALIDATORS
