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
"""Tuning policies as plain functions over a libvirt domain XML tree.

Nothing here imports Nova. Each policy is a function that edits an
``lxml`` ``<domain>`` element in place and returns what it changed, as short
human-readable strings (empty when it had nothing to do). The guest's class
comes from two places: whether its memory is backed by huge pages is read
from the XML Nova generated; whether its vCPUs are pinned, and where the
host's shared CPUs are, is given by the caller in a :class:`GuestCPUs`.

Guest classes and what each policy does to them:

* pinned (``hw:cpu_policy=dedicated`` or ``mixed``): emulator and IO threads
  on the host's shared CPU set; the IO thread serves the virtio disks; with
  every vCPU dedicated and KVM, guest halt-polling;
* hugepage-backed (``hw:mem_page_size`` other than small): no KSM merging,
  no memory balloon;
* shared (neither pinned nor hugepage-backed): a virtio balloon with free
  page reporting;
* hardened (a guest of an isolated project, or any guest of a host marked
  multi-tenant): no KSM merging, whatever else it is.

No policy changes which host CPUs the vCPUs run on or which pages back the
guest's memory: that stays with Nova and its accounting.
"""

import dataclasses
import math

from lxml import etree

from nova_scale_ext.conf import libvirt as libvirt_conf

#: Size of the smallest (non-huge) memory page, in KiB.
SMALL_PAGE_KIB = 4

#: Namespace prefix of the metadata Nova writes into the domains it owns.
NOVA_METADATA_NS_PREFIX = 'http://openstack.org/xmlns/libvirt/nova/'

ON_INVALID_XML_CHOICES = libvirt_conf.ON_INVALID_XML_CHOICES
#: The defaults of ``[scale_ext_libvirt]``, the policy's defaults.
_DEFAULTS = {opt.name: opt.default for opt in libvirt_conf.OPTS}


@dataclasses.dataclass(frozen=True)
class TuningPolicy:
    """Which tunings to apply; the fields are the options of
    ``[scale_ext_libvirt]`` that a flavor can override."""

    emulator_threads_on_shared_set: bool = _DEFAULTS[
        'emulator_threads_on_shared_set']
    iothread_on_virtio_disks: bool = _DEFAULTS['iothread_on_virtio_disks']
    guest_halt_polling: bool = _DEFAULTS['guest_halt_polling']
    hugepage_no_ksm: bool = _DEFAULTS['hugepage_no_ksm']
    hugepage_no_balloon: bool = _DEFAULTS['hugepage_no_balloon']
    free_page_reporting: bool = _DEFAULTS['free_page_reporting']
    on_invalid_xml: str = _DEFAULTS['on_invalid_xml']


#: Names of the policy fields, in order.
POLICY_FIELDS = tuple(f.name for f in dataclasses.fields(TuningPolicy))


@dataclasses.dataclass(frozen=True)
class GuestCPUs:
    """What the XML does not say about a guest's CPUs.

    :param pinned: some or all vCPUs run on dedicated host CPUs.
    :param all_pinned: every vCPU runs on a dedicated host CPU.
    :param emulator_isolated: the emulator threads have a dedicated host CPU
        of their own (``hw:emulator_threads_policy=isolate``).
    :param shared_cpus: the host's shared CPU set (online CPUs only).
    """

    pinned: bool = False
    all_pinned: bool = False
    emulator_isolated: bool = False
    shared_cpus: frozenset = frozenset()


# -- helpers -----------------------------------------------------------------

def format_cpus(cpus):
    """``{0, 1, 2, 5}`` -> ``'0-2,5'`` (libvirt's cpuset syntax)."""
    ranges = []
    for cpu in sorted(set(cpus)):
        if ranges and cpu == ranges[-1][1] + 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ','.join(str(a) if a == b else f'{a}-{b}' for a, b in ranges)


def parse(xml):
    """Parse a domain XML string into a tree that pretty-prints cleanly."""
    if isinstance(xml, str):
        xml = xml.encode('utf-8')
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.fromstring(xml, parser)


def to_string(dom):
    return etree.tostring(dom, encoding='unicode', pretty_print=True)


def _child(parent, tag, after=()):
    """The first ``tag`` child of ``parent``, created if missing (after the
    last existing element among ``after`` when given, else at the end)."""
    elem = parent.find(tag)
    if elem is not None:
        return elem, False
    elem = etree.Element(tag)
    anchors = [parent.find(name) for name in after]
    anchors = [a for a in anchors if a is not None]
    if anchors:
        max(anchors, key=parent.index).addnext(elem)
    else:
        parent.append(elem)
    return elem, True


def _virt_type(dom):
    return dom.get('type')


def hugepage_backed(dom):
    """Whether Nova backed the guest's memory with huge pages."""
    return dom.find('./memoryBacking/hugepages') is not None


def iothread_ids(dom):
    """IDs of the guest's IO threads (``<iothreads>N</iothreads>`` or
    ``<iothreadids>``)."""
    ids = [int(e.get('id')) for e in dom.findall('./iothreadids/iothread')
           if (e.get('id') or '').isdigit()]
    if ids:
        return ids
    count = dom.findtext('./iothreads')
    if count and count.strip().isdigit():
        return list(range(1, int(count) + 1))
    return []


# -- pinned guests -----------------------------------------------------------

def pin_emulator_threads(dom, cpus):
    """Pin emulator threads and every IO thread to the host CPUs ``cpus``."""
    if not cpus:
        return []
    cpuset = format_cpus(cpus)
    changes = []
    cputune, _ = _child(dom, 'cputune', after=('vcpu', 'iothreads'))
    emulatorpin, _ = _child(cputune, 'emulatorpin')
    if emulatorpin.get('cpuset') != cpuset:
        emulatorpin.set('cpuset', cpuset)
        changes.append(f'cputune/emulatorpin cpuset={cpuset}')
    changes += _pin_iothreads(dom, cputune, cpuset)
    return changes


def _pin_iothreads(dom, cputune, cpuset):
    changes = []
    for iothread in iothread_ids(dom):
        pin = cputune.find(f'./iothreadpin[@iothread="{iothread}"]')
        if pin is None:
            pin = etree.SubElement(cputune, 'iothreadpin',
                                   iothread=str(iothread))
        if pin.get('cpuset') != cpuset:
            pin.set('cpuset', cpuset)
            changes.append(
                f'cputune/iothreadpin[{iothread}] cpuset={cpuset}')
    return changes


def attach_iothread(dom):
    """Serve virtio-blk disks and virtio-scsi controllers from IO thread 1."""
    changes = []
    ids = iothread_ids(dom)
    if not ids:
        elem, _ = _child(dom, 'iothreads', after=('vcpu',))
        elem.text = '1'
        ids = [1]
        changes.append('iothreads=1')
    iothread = str(ids[0])
    devices = dom.find('./devices')
    if devices is None:
        return changes
    for disk in devices.findall('./disk'):
        target = disk.find('./target')
        if target is None or target.get('bus') != 'virtio':
            continue
        if disk.get('type') == 'vhostuser':
            continue  # served by the vhost-user back end, not by QEMU
        driver, _ = _child(disk, 'driver', after=('source',))
        if driver.get('iothread') is None:
            driver.set('iothread', iothread)
            changes.append(f"disk {target.get('dev')} driver "
                           f"iothread={iothread}")
    for ctrl in devices.findall('./controller'):
        if ctrl.get('type') != 'scsi' or not (
                ctrl.get('model') or '').startswith('virtio'):
            continue
        driver, _ = _child(ctrl, 'driver')
        if driver.get('iothread') is None:
            driver.set('iothread', iothread)
            changes.append(f"controller scsi {ctrl.get('index')} driver "
                           f"iothread={iothread}")
    return changes


def enable_halt_polling(dom):
    """Guest halt-polling: KVM ``hint-dedicated`` and ``poll-control``.

    Only for KVM guests; a no-op for any other domain type.
    """
    if _virt_type(dom) != 'kvm':
        return []
    changes = []
    features, _ = _child(dom, 'features')
    kvm, _ = _child(features, 'kvm')
    for name in ('hint-dedicated', 'poll-control'):
        elem, _ = _child(kvm, name)
        if elem.get('state') != 'on':
            elem.set('state', 'on')
            changes.append(f'features/kvm/{name} state=on')
    return changes


# -- hugepage-backed guests --------------------------------------------------

def disable_ksm(dom):
    """``<memoryBacking><nosharepages/>``: no KSM merging."""
    backing, _ = _child(dom, 'memoryBacking', after=('currentMemory',
                                                      'memory'))
    if backing.find('./nosharepages') is not None:
        return []
    _child(backing, 'nosharepages', after=('hugepages',))
    return ['memoryBacking/nosharepages']


def _balloons(dom):
    devices = dom.find('./devices')
    if devices is None:
        return None, []
    return devices, devices.findall('./memballoon')


def disable_balloon(dom):
    """``<memballoon model='none'/>`` (libvirt adds a balloon when the
    element is missing, so it is written out)."""
    if _virt_type(dom) not in ('kvm', 'qemu'):
        return []
    devices, balloons = _balloons(dom)
    if devices is None:
        return []
    if balloons and len(balloons) == 1 and balloons[0].get('model') == 'none' \
            and len(balloons[0].attrib) == 1 and len(balloons[0]) == 0:
        return []
    for balloon in balloons:
        devices.remove(balloon)
    etree.SubElement(devices, 'memballoon', model='none')
    return ["devices/memballoon model=none"]


# -- shared guests -----------------------------------------------------------

def enable_free_page_reporting(dom):
    """A virtio balloon with ``freePageReporting='on'``."""
    if _virt_type(dom) not in ('kvm', 'qemu'):
        return []
    devices, balloons = _balloons(dom)
    if devices is None:
        return []
    balloon = balloons[0] if balloons else None
    changes = []
    if balloon is None or balloon.get('model') in (None, 'none', 'xen'):
        if balloon is not None:
            devices.remove(balloon)
        balloon = etree.SubElement(devices, 'memballoon', model='virtio')
        changes.append('devices/memballoon model=virtio')
    if balloon.get('freePageReporting') != 'on':
        balloon.set('freePageReporting', 'on')
        changes.append('devices/memballoon freePageReporting=on')
    return changes


# -- whole guests ------------------------------------------------------------

def guest_class(dom, cpus):
    """``'pinned'``, ``'hugepages'``, ``'pinned+hugepages'`` or
    ``'shared'``."""
    parts = []
    if cpus.pinned:
        parts.append('pinned')
    if hugepage_backed(dom):
        parts.append('hugepages')
    return '+'.join(parts) or 'shared'


def tune_domain(dom, cpus, policy, harden=False):
    """Apply every policy that fits the guest; return the changes made.
    ``harden``: the guest shares its host with tenants it does not trust
    (its memory is kept out of KSM merging)."""
    changes = []
    if harden:
        changes += disable_ksm(dom)
    if cpus.pinned:
        if policy.iothread_on_virtio_disks:
            changes += attach_iothread(dom)
        if (policy.emulator_threads_on_shared_set and
                not cpus.emulator_isolated):
            changes += pin_emulator_threads(dom, cpus.shared_cpus)
        if policy.guest_halt_polling and cpus.all_pinned:
            changes += enable_halt_polling(dom)
    if hugepage_backed(dom):
        if policy.hugepage_no_ksm and not harden:
            changes += disable_ksm(dom)
        if policy.hugepage_no_balloon:
            changes += disable_balloon(dom)
    elif not cpus.pinned and policy.free_page_reporting:
        changes += enable_free_page_reporting(dom)
    return changes


def tune_migration_domain(dom, cpus, policy, harden=False):
    """Re-assert the host-side tunings on a live migration's destination XML.

    The destination XML is the source's running definition rewritten by
    Nova, with the emulator pinning the destination computed. Only what
    does not change the guest's ABI is touched here: every IO thread follows
    the emulator threads' CPUs, and hugepage-backed guests keep out of KSM.
    Devices and CPU features (balloon, halt-polling, disk IO threads) are
    left as the running guest has them; they change at its next boot.
    """
    changes = []
    if harden:
        changes += disable_ksm(dom)
    if (cpus.pinned and policy.emulator_threads_on_shared_set and
            not cpus.emulator_isolated):
        cputune = dom.find('./cputune')
        emulatorpin = None if cputune is None else cputune.find(
            './emulatorpin')
        if emulatorpin is not None and emulatorpin.get('cpuset'):
            changes += _pin_iothreads(dom, cputune, emulatorpin.get('cpuset'))
    if hugepage_backed(dom) and policy.hugepage_no_ksm and not harden:
        changes += disable_ksm(dom)
    return changes


# -- hugepage accounting -----------------------------------------------------

def hugepage_pool_kib(pools, small_page_kib=SMALL_PAGE_KIB):
    """Memory in huge page pools, in KiB.

    :param pools: ``(page size in KiB, number of pages)`` pairs, one per page
        size and NUMA cell; pages of ``small_page_kib`` are not huge.
    """
    return sum(size * count for size, count in pools
               if size and count and size > small_page_kib)


def domain_hugepage_kib(dom, nova_only=True):
    """KiB of huge pages a domain holds (0 for small pages).

    With ``nova_only`` a domain without Nova's metadata counts as 0: its
    memory has no allocation in placement, so its pages stay reserved.
    """
    if not hugepage_backed(dom):
        return 0
    if nova_only and not any(
            isinstance(e.tag, str) and
            e.tag.startswith('{' + NOVA_METADATA_NS_PREFIX)
            for e in dom.iterfind('./metadata/*')):
        return 0
    memory = dom.find('./memory')
    if memory is None or not (memory.text or '').strip().isdigit():
        return 0
    scale = {'b': 1 / 1024, 'bytes': 1 / 1024, 'k': 1, 'kib': 1,
             'm': 1024, 'mib': 1024, 'g': 1024 ** 2, 'gib': 1024 ** 2}
    unit = (memory.get('unit') or 'KiB').lower()
    return int(int(memory.text) * scale.get(unit, 1))


def hugepage_reservation_mb(pool_kib, held_kib):
    """MiB of ``MEMORY_MB`` to reserve so small-page guests get none of the
    huge page pools: the pools minus what hugepage-backed guests (counted by
    their own allocations) already hold."""
    return int(math.ceil(max(pool_kib - max(held_kib, 0), 0) / 1024.0))
