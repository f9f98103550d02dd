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
"""``ScaleExtLibvirtDriver``: Nova's libvirt driver with tuning by policy.

Enabled with ``[DEFAULT] compute_driver = scale_ext.ScaleExtLibvirtDriver``
(Nova imports compute drivers from ``nova.virt``; the small package
``nova.virt.scale_ext`` re-exports this class). Four hooks, each calling
Nova's own method first:

* ``_get_guest_xml``: every domain XML Nova defines (boot, hard reboot,
  rescue, resize, ...) is tuned by :mod:`.tuning` and validated against
  libvirt's schema; on a schema failure, ``on_invalid_xml`` decides between
  Nova's untouched XML and failing the operation; tuned XML that cannot be
  validated (no usable schema, reported once by ``init_host``) is never
  defined;
* ``_get_live_migrate_numa_info`` (destination of a live migration): the
  emulator (and IO) thread pinning Nova sends to the source uses the
  destination's shared CPU set;
* ``_live_migration_operation`` (source): the destination XML Nova rewrites
  from the running domain is re-tuned (host-side tunings only) and
  validated before libvirt receives it;
* ``update_provider_tree``: free huge page pool memory is reserved from
  ``MEMORY_MB``.

Nothing here decides which host CPUs or pages a guest gets. The hooks take
the parameters of Nova's own methods, by name; a Nova whose methods take
others stops the driver at start-up (:func:`check_nova_signatures`) rather
than tuning some guests and not others.
"""

import inspect

import os_resource_classes as orc
from nova import exception
from nova.objects import fields
from nova.virt import hardware
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import guest as libvirt_guest
from oslo_config import cfg
from oslo_log import log as logging

from nova_scale_ext import common
from nova_scale_ext.virt import policy, schema, tuning

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
GROUP = policy.GROUP

_PINNED_POLICIES = (fields.CPUAllocationPolicy.DEDICATED,
                    fields.CPUAllocationPolicy.MIXED)


class ScaleExtInvalidDomainXML(exception.NovaException):
    msg_fmt = ("The tuned %(what)s of instance %(instance)s does not "
               "validate against libvirt's schema %(schema)s: %(problems)s "
               "(tunings applied: %(changes)s). %(outcome)s")


class ScaleExtSchemaUnavailable(exception.NovaException):
    msg_fmt = ("The tuned %(what)s of instance %(instance)s cannot be "
               "validated: libvirt's domain schema %(schema)s cannot be "
               "loaded (%(reason)s). %(outcome)s Install the package that "
               "ships the schema (%(packages)s) or point [scale_ext_libvirt] "
               "schema_file at it.")


_ON_INVALID_XML = policy.extra_spec_key('on_invalid_xml')


def _mode_source(flavor, mode):
    """Where the ``on_invalid_xml`` value in force comes from."""
    raw = (flavor.extra_specs or {}).get(_ON_INVALID_XML)
    if raw is not None and str(raw).strip().lower() == mode:
        return f'the flavor extra spec {_ON_INVALID_XML}={mode}'
    return f'[{GROUP}] on_invalid_xml = {mode}'


def _outcome(mode, source, migration):
    """What happens to an XML that did not validate, and the other mode."""
    if mode == 'fallback':
        if migration:
            return (f"With {source}, the live migration goes on with Nova's "
                    f"XML, without the tuning.")
        return (f"With {source}, the guest is defined with Nova's domain "
                f"XML, without the tuning.")
    what = 'the live migration' if migration else 'the operation'
    if source.startswith('the flavor'):
        other = (f"set the flavor's extra spec {_ON_INVALID_XML}=fallback "
                 f"(it overrides [{GROUP}] on_invalid_xml)")
    else:
        other = (f"set [{GROUP}] on_invalid_xml = fallback (or, for one "
                 f"flavor, its extra spec {_ON_INVALID_XML}=fallback)")
    return (f"With {source}, {what} fails; to use Nova's XML without the "
            f"tuning instead, {other}.")


#: Nova's methods this driver overrides, with the signature it is written
#: for (Nova 34); :func:`check_nova_signatures` compares them at start-up.
HOOKS = ('_get_guest_xml', '_get_live_migrate_numa_info',
         '_live_migration_operation', 'update_provider_tree', 'init_host')


class ScaleExtUnsupportedNova(exception.NovaException):
    msg_fmt = ("nova-scale-ext's libvirt driver cannot run on this Nova: "
               "%(problems)s. Install the nova-scale-ext release made for "
               "this Nova version, or set [DEFAULT] compute_driver = "
               "libvirt.LibvirtDriver to run Nova's driver without the "
               "tuning.")


def check_nova_signatures(nova_cls=None):
    """Raise :class:`ScaleExtUnsupportedNova` unless every method of
    :data:`HOOKS` takes the same parameters in ``nova_cls`` (Nova's
    ``LibvirtDriver``) as in this driver (a Nova that changed one would
    call ours with arguments it does not take, or miss some)."""
    nova_cls = (nova_cls if nova_cls is not None
                else libvirt_driver.LibvirtDriver)
    problems = []
    for name in HOOKS:
        theirs = inspect.signature(getattr(nova_cls, name))
        ours = _SIGNATURES[name]
        if list(theirs.parameters) != list(ours.parameters):
            problems.append(f'LibvirtDriver.{name}{theirs} is not '
                            f'{name}{ours}')
    if problems:
        raise ScaleExtUnsupportedNova(problems='; '.join(problems))


def guest_cpus(numa_topology, shared_cpus=frozenset()):
    """A :class:`tuning.GuestCPUs` from an ``InstanceNUMATopology``."""
    if not numa_topology or not numa_topology.cells:
        return tuning.GuestCPUs(shared_cpus=frozenset(shared_cpus))
    policies = {cell.cpu_policy for cell in numa_topology.cells
                if cell.obj_attr_is_set('cpu_policy')}
    pinned = bool(policies & set(_PINNED_POLICIES)) or any(
        cell.obj_attr_is_set('cpu_pinning_raw') and cell.cpu_pinning
        for cell in numa_topology.cells)
    return tuning.GuestCPUs(
        pinned=pinned,
        all_pinned=policies == {fields.CPUAllocationPolicy.DEDICATED},
        emulator_isolated=numa_topology.emulator_threads_isolated,
        shared_cpus=frozenset(shared_cpus))


class _RetunedMigrationGuest:
    """A ``Guest`` whose ``migrate()`` re-tunes the destination XML."""

    def __init__(self, guest, retune):
        self._guest = guest
        self._retune = retune

    def __getattr__(self, name):
        return getattr(self._guest, name)

    def migrate(self, *args, **kwargs):
        xml = kwargs.get('destination_xml')
        if xml:
            kwargs['destination_xml'] = self._retune(xml)
        return self._guest.migrate(*args, **kwargs)


class ScaleExtLibvirtDriver(libvirt_driver.LibvirtDriver):
    """Nova's libvirt driver that tunes each guest's domain by policy."""

    def __init__(self, *args, **kwargs):
        check_nova_signatures()
        super().__init__(*args, **kwargs)
        self._scale_ext_schemas = {}
        self._scale_ext_last_reserve = None

    # -- guest class and policy ----------------------------------------------

    def _scale_ext_shared_cpus(self):
        shared = hardware.get_cpu_shared_set() or set()
        if not shared:
            return frozenset()
        try:
            online = self._host.get_online_cpus()
        except Exception as exc:  # a libvirt error must not fail the boot
            common.warn_once(
                ('online_cpus', type(exc).__name__),
                "Cannot read the host's online CPUs (%(error)s); emulator "
                "threads stay where Nova puts them.", {'error': exc})
            return frozenset()
        return frozenset(shared & online)

    def _scale_ext_guest(self, instance, numa_topology=None, flavor=None):
        numa_topology = (numa_topology if numa_topology is not None
                         else instance.numa_topology)
        flavor = flavor if flavor is not None else instance.flavor
        pol = policy.for_flavor(flavor.extra_specs, flavor.name)
        cpus = guest_cpus(numa_topology)
        if (cpus.pinned and pol.emulator_threads_on_shared_set and
                not cpus.emulator_isolated):
            shared = self._scale_ext_shared_cpus()
            if not shared:
                common.warn_once(
                    ('no_shared_set',),
                    "[scale_ext_libvirt] emulator_threads_on_shared_set is "
                    "on but [compute] cpu_shared_set is not set (or none of "
                    "its CPUs is online): emulator and IO threads of pinned "
                    "guests stay where Nova puts them.", {})
            cpus = guest_cpus(numa_topology, shared)
        return cpus, pol

    def _scale_ext_schema(self):
        path = common.config_value(GROUP, 'schema_file')
        if path not in self._scale_ext_schemas:
            self._scale_ext_schemas[path] = schema.DomainSchema(path)
        return self._scale_ext_schemas[path]

    def _scale_ext_report_schema(self, exc):
        """Say once why the schema cannot be used and what happens instead."""
        if not common.once.first(('schema_unavailable', exc.path,
                                    exc.reason)):
            return
        if common.config_value(GROUP, 'on_invalid_xml') == 'fail':
            log, instead = LOG.error, (
                "with on_invalid_xml = fail, every boot, hard reboot or live "
                "migration of a guest that would be tuned fails (flavors "
                f"with {_ON_INVALID_XML}=fallback boot with Nova's XML, "
                "untuned)")
        else:
            log, instead = LOG.warning, (
                "with on_invalid_xml = fallback, guests boot with Nova's "
                "domain XML, without the tuning (flavors with "
                f"{_ON_INVALID_XML}=fail fail to boot)")
        log("libvirt's domain schema %(schema)s ([%(group)s] schema_file) "
            "cannot be used: %(reason)s. Tuned domain XML cannot be "
            "validated, and this driver never defines unvalidated XML: "
            "%(instead)s. Install the package that ships the schema "
            "(%(packages)s), or point schema_file at the domain.rng of the "
            "libvirt on this host. The file is tried again at each boot: "
            "no restart is needed.",
            {'schema': exc.path, 'group': GROUP, 'reason': exc.reason,
             'instead': instead, 'packages': schema.PROVIDED_BY})

    def init_host(self, host):
        super().init_host(host)
        sch = self._scale_ext_schema()
        try:
            sch.load()
        except schema.SchemaUnavailable as exc:
            self._scale_ext_report_schema(exc)
        else:
            LOG.info("Tuned domain XML is validated against libvirt's schema "
                     "%s.", sch.path)

    # -- tuning and validation -----------------------------------------------

    def _scale_ext_tune(self, instance, xml, migration=False):
        """Tune ``xml`` of ``instance``; return the XML to define."""
        cpus, pol = self._scale_ext_guest(instance)
        dom = tuning.parse(xml)
        tune = tuning.tune_migration_domain if migration else \
            tuning.tune_domain
        project = (instance.project_id
                   if instance.obj_attr_is_set('project_id') else None)
        changes = tune(dom, cpus, pol, harden=policy.hardened(project))
        if not changes:
            return xml
        what = 'live migration XML' if migration else 'domain XML'
        mode = pol.on_invalid_xml
        outcome = _outcome(mode, _mode_source(instance.flavor, mode),
                           migration)
        sch = self._scale_ext_schema()
        try:
            problems = sch.problems(dom)
        except schema.SchemaUnavailable as exc:
            self._scale_ext_report_schema(exc)
            if mode == 'fail':
                raise ScaleExtSchemaUnavailable(
                    what=what, instance=instance.uuid, schema=exc.path,
                    reason=exc.reason, outcome=outcome,
                    packages=schema.PROVIDED_BY) from exc
            LOG.debug("Not tuning the %(what)s: libvirt's domain schema "
                      "%(schema)s cannot be loaded; using Nova's XML.",
                      {'what': what, 'schema': exc.path}, instance=instance)
            return xml
        if not problems:
            LOG.info("Tuned the %(what)s of this %(cls)s guest: "
                     "%(changes)s", {'what': what,
                                     'cls': tuning.guest_class(dom, cpus),
                                     'changes': ', '.join(changes)},
                     instance=instance)
            return tuning.to_string(dom)
        error = ScaleExtInvalidDomainXML(
            what=what, instance=instance.uuid, schema=sch.path,
            problems=schema.describe(problems), changes=', '.join(changes),
            outcome=outcome)
        LOG.error("%s", error, instance=instance)
        if mode == 'fail':
            raise error
        return xml

    def _get_guest_xml(self, context, instance, network_info, disk_info,
                       image_meta, rescue=None, block_device_info=None,
                       mdevs=None, accel_info=None, share_info=None,
                       old_guest=None):
        xml = super()._get_guest_xml(
            context, instance, network_info, disk_info, image_meta,
            rescue=rescue, block_device_info=block_device_info, mdevs=mdevs,
            accel_info=accel_info, share_info=share_info,
            old_guest=old_guest)
        return self._scale_ext_tune(instance, xml)

    # -- live migration ------------------------------------------------------

    def _get_live_migrate_numa_info(self, instance_numa_topology, flavor,
                                    image_meta):
        info = super()._get_live_migrate_numa_info(
            instance_numa_topology, flavor, image_meta)
        numa_topology = instance_numa_topology
        if not numa_topology or flavor is None or 'emulator_pins' not in info:
            return info
        pol = policy.for_flavor(flavor.extra_specs, flavor.name)
        cpus = guest_cpus(numa_topology)
        if (cpus.pinned and pol.emulator_threads_on_shared_set and
                not cpus.emulator_isolated):
            shared = self._scale_ext_shared_cpus()
            if shared:
                info.emulator_pins = set(shared)
        return info

    def _live_migration_operation(self, context, instance, dest,
                                  block_migration, migrate_data, guest,
                                  device_names):
        def retune(xml):
            return self._scale_ext_tune(instance, xml, migration=True)

        if isinstance(guest, libvirt_guest.Guest):
            guest = _RetunedMigrationGuest(guest, retune)
        else:
            common.warn_once(
                ('migration_guest',),
                "_live_migration_operation was given no libvirt Guest; live "
                "migration XML is not re-tuned by nova-scale-ext.", {})
        return super()._live_migration_operation(
            context, instance, dest, block_migration, migrate_data, guest,
            device_names)

    # -- hugepage accounting -------------------------------------------------

    def _scale_ext_hugepage_pools(self):
        """``(small page KiB, [(page KiB, pages), ...])`` of the host."""
        topology = self._host.get_capabilities().host.topology
        pools = []
        for cell in (topology.cells if topology else None) or []:
            pools += [(page.size, page.total) for page in cell.mempages or []]
        sizes = [size for size, _ in pools if size]
        return (min(sizes) if sizes else tuning.SMALL_PAGE_KIB), pools

    def _scale_ext_held_hugepage_kib(self):
        held = 0
        for guest in self._host.list_guests(only_running=False):
            try:
                held += tuning.domain_hugepage_kib(
                    tuning.parse(guest.get_xml_desc()))
            except Exception as exc:  # the domain may vanish meanwhile
                LOG.debug("Skipping domain %(uuid)s in the huge page count: "
                          "%(error)s",
                          {'uuid': getattr(guest, 'uuid', '?'),
                           'error': exc})
        return held

    def _scale_ext_reserve_hugepages(self, provider_tree, nodename):
        if (not common.config_value(GROUP, 'reserve_hugepage_memory') or
                CONF.libvirt.file_backed_memory > 0):
            return
        inventory = provider_tree.data(nodename).inventory
        memory = inventory.get(orc.MEMORY_MB)
        if not memory:
            return
        small, pools = self._scale_ext_hugepage_pools()
        pool_kib = tuning.hugepage_pool_kib(pools, small)
        if not pool_kib:
            return
        extra = tuning.hugepage_reservation_mb(
            pool_kib, self._scale_ext_held_hugepage_kib())
        reserved = min(memory['total'], memory.get('reserved', 0) + extra)
        if extra != self._scale_ext_last_reserve:
            LOG.info("Reserving %(extra)d MiB of MEMORY_MB on %(node)s for "
                     "huge page pools not held by hugepage-backed guests "
                     "(pools: %(pool)d MiB); MEMORY_MB reserved is now "
                     "%(reserved)d MiB.",
                     {'extra': extra, 'node': nodename,
                      'pool': pool_kib // 1024, 'reserved': reserved})
            self._scale_ext_last_reserve = extra
        if reserved != memory.get('reserved'):
            memory['reserved'] = reserved
            provider_tree.update_inventory(nodename, inventory)

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        super().update_provider_tree(provider_tree, nodename,
                                     allocations=allocations)
        self._scale_ext_reserve_hugepages(provider_tree, nodename)


#: this driver's own signatures of :data:`HOOKS`, as written
_SIGNATURES = {name: inspect.signature(getattr(ScaleExtLibvirtDriver, name))
               for name in HOOKS}
