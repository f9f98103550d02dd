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
"""The recommended nova.conf of nova-scale-ext, in one place.

README.md and the documentation show exactly these lines (a test checks
it), ``nova-scale-ext plugins`` loads them by default, and the simulator's
``scale-ext`` policy is this configuration.
"""

NOVA_CONF = """\
[filter_scheduler]
available_filters = nova.scheduler.filters.all_filters
available_filters = nova_scale_ext.scheduler.filters.all_filters
enabled_filters = ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter,ScaleExtHeadroomFilter
weight_classes = nova.scheduler.weights.affinity.ServerGroupSoftAffinityWeigher,nova.scheduler.weights.affinity.ServerGroupSoftAntiAffinityWeigher,nova.scheduler.weights.compute.BuildFailureWeigher,nova.scheduler.weights.cross_cell.CrossCellWeigher,nova.scheduler.weights.hypervisor_version.HypervisorVersionWeigher,nova.scheduler.weights.image_props.ImagePropertiesWeigher,nova.scheduler.weights.metrics.MetricsWeigher,nova.scheduler.weights.num_instances.NumInstancesWeigher,nova.scheduler.weights.pci.PCIWeigher,nova_scale_ext.scheduler.weights.all_weighers

[scale_ext_weights]
best_fit_weight_multiplier = 1.0
large_slot_weight_multiplier = 3.0
large_slot_flavors = 32:65536,32:131072,64:131072
large_slot_spare_host_share = 0.55
stranded_capacity_weight_multiplier = 0.0
"""

#: Nova's weighers left out of the recommended ``weight_classes``: they
#: spread instances (free RAM, CPU, disk, fewest I/O operations first) and
#: pull against packing.
SPREADING_WEIGHERS = ('RAMWeigher', 'CPUWeigher', 'DiskWeigher',
                      'IoOpsWeigher')
#: The lists of ``[filter_scheduler]`` whose Nova part
#: :func:`nova_lists` reads from the installed Nova.
NOVA_LISTS = ('available_filters', 'enabled_filters', 'weight_classes')


def nova_lists():
    """Nova's part of the recommended lists, read from the installed Nova:
    ``available_filters`` and ``enabled_filters``, Nova's defaults;
    ``weight_classes``, Nova's weighers but :data:`SPREADING_WEIGHERS`, as
    dotted paths in order.
    The recommended configuration appends ours to each."""
    from nova.conf import scheduler
    from nova.scheduler import weights

    defaults = {opt.name: opt.default
                for opt in scheduler.filter_scheduler_opts}
    weighers = sorted(f'{cls.__module__}.{cls.__name__}'
                      for cls in weights.all_weighers()
                      if cls.__name__ not in SPREADING_WEIGHERS)
    return {'available_filters': list(defaults['available_filters']),
            'enabled_filters': list(defaults['enabled_filters']),
            'weight_classes': weighers}


#: The consolidation the documentation recommends, as a ``simulate --defrag``
#: mode (``--defrag recommended``): every two hours, restore room for the
#: largest burst of each large flavor (``large_slot_flavors``) the workload
#: has started within two hours, each flavor's room in full or not at all,
#: with all passes together migrating at most 1% of the VMs started so far;
#: once the room is there, and only while the fleet's free capacity is at
#: least 1.5 times that room, empty hosts with at most half of that budget:
#: what ``nova-scale-ext defrag keep --room FLAVOR:K ... --every 2h --whole
#: --per-boot 1% --drain --drain-spare 1.5`` does in a cloud, K being the
#: most servers of FLAVOR started within two hours in the cloud's own
#: history.
DEFRAG_MODE = 'keeper:2h:burst:1%:whole:drain=1.5'
