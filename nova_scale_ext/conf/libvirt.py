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
"""Options of the libvirt tuning driver: ``[scale_ext_libvirt]``."""

from oslo_config import cfg

#: ``on_invalid_xml``: what to do with tuned XML libvirt's schema refuses.
_ON_INVALID_XML = [
    ('fallback', 'Log an error naming the instance and the offending '
                 'element, and define Nova\'s XML without tuning.'),
    ('fail', 'Fail the boot (or the live migration) with that error.'),
]
ON_INVALID_XML_CHOICES = tuple(choice for choice, _ in _ON_INVALID_XML)
#: Where libvirt's packages install the domain schema.
DEFAULT_SCHEMA_FILE = '/usr/share/libvirt/schemas/domain.rng'

GROUP = cfg.OptGroup(
    name='scale_ext_libvirt',
    title='nova-scale-ext libvirt tuning',
    help="""
Options of ``ScaleExtLibvirtDriver``, the libvirt compute driver that tunes
the domain XML Nova generates by policy. It is enabled with
``[DEFAULT] compute_driver = scale_ext.ScaleExtLibvirtDriver``; every other
``[libvirt]`` option keeps its meaning.

Each per-guest policy can be overridden per flavor with the extra spec
``scale_ext:<option name>`` (for example
``scale_ext:guest_halt_polling=false``); nova-api validates these extra specs
when they are set. The shim never changes which host CPUs or which memory
pages a guest gets: that stays with Nova's own extra specs
(``hw:cpu_policy``, ``hw:mem_page_size``, ...).
""")

FLAVOR_OPTS = [
    cfg.BoolOpt('emulator_threads_on_shared_set',
        default=True,
        help="""
Pin the emulator threads and IO threads of pinned guests to the host's shared
CPU set.

Applies to guests with ``hw:cpu_policy=dedicated`` or ``mixed`` that do not ask
for ``hw:emulator_threads_policy=isolate``. Without it, Nova lets QEMU's
emulator and IO threads float over the host CPUs the guest's vCPUs are pinned
to, so disk and device emulation steal time from the vCPUs. With it, those
threads run on ``[compute] cpu_shared_set``, as
``hw:emulator_threads_policy=share`` does, without setting that extra spec on
every flavor. No dedicated CPU is consumed, so Nova's accounting is unchanged.

Possible values:

* True (the default): move the threads to the shared CPU set.
* False: keep Nova's placement of the threads.

Related options:

* ``[compute] cpu_shared_set``: must be set; without it the threads stay
  where Nova puts them (logged once).
* Flavor extra spec ``scale_ext:emulator_threads_on_shared_set``.
"""),
    cfg.BoolOpt('iothread_on_virtio_disks',
        default=True,
        help="""
Attach the guest's IO thread to its virtio disks and virtio-scsi controllers
(pinned guests).

Nova gives every guest an IO thread but leaves disk requests in QEMU's main
loop. With this option the virtio-blk disks and virtio-scsi controllers of
pinned guests are served by that IO thread, which runs on the CPUs of the
emulator threads: disk I/O no longer contends with device emulation, and
latency is steadier.

Possible values:

* True (the default): attach the IO thread.
* False: leave the disks as Nova defines them.

Related options:

* ``emulator_threads_on_shared_set``: decides where the IO thread runs.
* Flavor extra spec ``scale_ext:iothread_on_virtio_disks``.
"""),
    cfg.BoolOpt('guest_halt_polling',
        default=True,
        help="""
Let guests whose vCPUs are all pinned poll before they halt (KVM only).

Sets the KVM ``hint-dedicated`` and ``poll-control`` features, so a Linux guest
loads its ``haltpoll`` cpuidle driver: an idle vCPU polls for a short while
before it halts, instead of exiting to the host, which lowers wake-up latency
for interrupt-heavy workloads. It burns a little CPU time on the guest's own
dedicated CPUs only, which is why it is not applied to guests with shared or
mixed vCPUs. Changes the guest's CPUID, so it takes effect at the next boot
(hard reboot) of an existing guest, not on live migration.

Possible values:

* True (the default): enable guest halt-polling for ``hw:cpu_policy=dedicated``
  guests when ``[libvirt] virt_type`` is ``kvm``.
* False: leave the guest's CPU features as Nova defines them.

Related options:

* Flavor extra spec ``scale_ext:guest_halt_polling``.
"""),
    cfg.BoolOpt('hugepage_no_ksm',
        default=True,
        help="""
Keep the memory of hugepage-backed guests out of KSM page merging.

Adds ``<nosharepages/>``: the kernel's same-page merging does not scan or
merge the guest's memory. Guests that asked for huge pages want predictable
memory latency; merging and later copy-on-write breaking of their pages
defeats that, and it spends host CPU time on scanning.

Possible values:

* True (the default): no KSM merging for hugepage-backed guests.
* False: leave the memory backing as Nova defines it.

Related options:

* Flavor extra spec ``scale_ext:hugepage_no_ksm``.
"""),
    cfg.BoolOpt('hugepage_no_balloon',
        default=True,
        help="""
Give hugepage-backed guests no memory balloon.

Memory of a hugepage-backed guest is reserved in the host's huge page pool and
cannot be given back or overcommitted, so a balloon device only costs a PCI
slot, a driver in the guest and periodic statistics polling. The shim sets
``<memballoon model='none'/>``.

Possible values:

* True (the default): no balloon device for hugepage-backed guests.
* False: keep Nova's balloon device.

Related options:

* Flavor extra spec ``scale_ext:hugepage_no_balloon``.
* ``[libvirt] mem_stats_period_seconds``: Nova's balloon statistics period.
"""),
    cfg.BoolOpt('free_page_reporting',
        default=True,
        help="""
Give shared (overcommitted) guests a virtio memory balloon with free page
reporting.

Applies to guests with neither pinned vCPUs nor huge pages: the guest reports
the memory it frees back to the host, which reclaims it. Hosts with
``ram_allocation_ratio`` above 1.0 need less swap and fit more such guests
(density); the price is a little guest CPU time to report pages and page
faults when the guest reuses them.

Possible values:

* True (the default): a virtio balloon with ``freePageReporting='on'``, even
  when ``[libvirt] mem_stats_period_seconds`` is 0.
* False: keep Nova's balloon device.

Related options:

* Flavor extra spec ``scale_ext:free_page_reporting``.
"""),
    cfg.StrOpt('on_invalid_xml',
        default='fallback',
        choices=_ON_INVALID_XML,
        help="""
What to do when a tuned domain XML does not validate against libvirt's
Relax-NG schema.

Every domain XML the shim produces is validated against ``schema_file``
before it is defined, because libvirt silently drops elements it does not
know. A tuned XML that cannot be validated, because ``schema_file`` cannot
be loaded, is never defined either: with ``fallback`` the guest gets Nova's
XML without the tuning, with ``fail`` the operation fails with an error
naming the schema file. The driver reports an unusable schema file once,
when it starts, instead of at each boot.

Related options:

* ``schema_file``.
* Flavor extra spec ``scale_ext:on_invalid_xml``.
"""),
]

HOST_OPTS = [
    cfg.BoolOpt('reserve_hugepage_memory',
        default=True,
        help="""
Do not offer memory held in huge page pools to small-page guests.

Nova reports all host memory as ``MEMORY_MB`` inventory, huge page pools
included, so guests without huge pages can be placed (and, with
``ram_allocation_ratio`` above 1.0, overcommitted) into memory that only
hugepage-backed guests can use. With this option the driver adds to the
``reserved`` amount of its ``MEMORY_MB`` inventory the part of the huge page
pools that is not held by Nova's hugepage-backed guests on the host (their
memory is already counted by their own allocations). The value is refreshed
each time the compute service updates its inventory.

Possible values:

* True (the default): reserve free huge page pool memory.
* False: report ``MEMORY_MB`` as Nova does.

Related options:

* ``[DEFAULT] reserved_host_memory_mb``: added to, not replaced.
* ``[compute] reserved_huge_pages``: those pages are part of the pools and
  are reserved too.
"""),
    cfg.BoolOpt('multi_tenant_host',
        default=False,
        help="""
This host runs guests of tenants that do not trust each other: harden every
guest against cross-guest side channels.

Each guest's memory is kept out of KSM page merging (``<nosharepages/>``
in its domain XML): no page of one guest is ever the same physical page as
another guest's, which closes memory deduplication side channels (a guest
learning whether another holds a given page from how long a write to its
own copy takes) and attacks that rely on merged pages. It costs the memory
KSM would have saved by merging identical pages of different guests, and
saves the CPU time ``ksmd`` spends scanning.

Guests of projects isolated by ``[scale_ext_isolation]`` (read on this
compute host) get the same hardening whatever this option says; an
isolation policy that cannot be read hardens every guest.

Possible values:

* False (the default): harden only the guests of isolated projects.
* True: harden every guest on this host.

Related options:

* ``[scale_ext_isolation] isolated_projects`` and ``isolation_groups``.
"""),
    cfg.StrOpt('schema_file',
        default=DEFAULT_SCHEMA_FILE,
        help="""
Path of libvirt's Relax-NG schema for domain XML.

The shim validates each domain XML it produces against this schema before
defining it. Use the schema of the libvirt version running on the host; the
default path is where libvirt's packages install it (libvirt0 on Debian and
Ubuntu, libvirt-libs on RHEL and Fedora). A file that cannot be loaded is
reported when the driver starts and tried again at each boot.

Related options:

* ``on_invalid_xml``: what happens when validation fails.
"""),
]

OPTS = FLAVOR_OPTS + HOST_OPTS


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
