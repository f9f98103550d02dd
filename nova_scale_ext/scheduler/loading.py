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
"""Load our scheduler plugins through stevedore, for Nova's loaders.

Nova's ``[filter_scheduler] available_filters`` and ``weight_classes`` accept
the dotted path of a function returning classes; ``all_filters()`` and
``all_weighers()`` are such functions, built on :func:`load_classes`.  A plugin
that fails to import, or is not a class of the right kind, is logged with its
name and the reason and left out; the others still load.
"""

from oslo_log import log as logging
from stevedore import extension

LOG = logging.getLogger(__name__)

FILTERS_NAMESPACE = 'nova_scale_ext.scheduler.filters'
WEIGHERS_NAMESPACE = 'nova_scale_ext.scheduler.weights'


def _on_load_failure(manager, entrypoint, exception):
    LOG.error("nova-scale-ext plugin %(name)s (%(target)s) in %(ns)s failed "
              "to load and is not available: %(error)s",
              {'name': entrypoint.name, 'target': entrypoint.value,
               'ns': manager.namespace, 'error': exception})


def load_classes(namespace, base_class):
    """Return the plugin classes registered under ``namespace``.

    Only subclasses of ``base_class`` are returned, sorted by entry-point
    name so that every scheduler worker loads them in the same order.
    """
    try:
        manager = extension.ExtensionManager(
            namespace=namespace, invoke_on_load=False,
            on_load_failure_callback=_on_load_failure)
    except Exception as exc:  # never stop Nova's scheduler from starting
        LOG.error("Cannot list nova-scale-ext plugins in %(ns)s: %(error)s",
                  {'ns': namespace, 'error': exc})
        return []
    classes = []
    for ext in sorted(manager, key=lambda e: e.name):
        plugin = ext.plugin
        if isinstance(plugin, type) and issubclass(plugin, base_class):
            classes.append(plugin)
        else:
            LOG.error("nova-scale-ext plugin %(name)s in %(ns)s is %(obj)r, "
                      "not a subclass of %(base)s; it is not loaded.",
                      {'name': ext.name, 'ns': namespace, 'obj': plugin,
                       'base': base_class.__name__})
    if not classes:
        LOG.warning("No nova-scale-ext plugins found in %(ns)s: is the "
                    "nova-scale-ext package installed in the same Python "
                    "environment as Nova?", {'ns': namespace})
    return classes
