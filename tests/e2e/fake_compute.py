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
"""nova-compute with a fake driver of a given size and a stable node id.

Nova imports ``[DEFAULT] compute_driver`` as ``nova.virt.<value>``, so this
module registers itself as ``nova.virt.scale_ext_e2e`` before it runs
nova-compute: set ``compute_driver = scale_ext_e2e.SizedFakeDriver``.

The size comes from ``NOVA_SCALE_EXT_E2E_FAKE_SIZE`` (``VCPUS,MEMORY_MB,
LOCAL_GB``). Nova's ``FakeDriver`` makes up a new node UUID in every
process, so a restarted compute would find its node taken; this one derives
it from the node name.

Usage: python -m tests.e2e.fake_compute --config-file FILE ...
"""

import os
import sys
import uuid

from nova.cmd import compute
from nova.virt import fake
from oslo_concurrency import processutils

SIZE_VARIABLE = 'NOVA_SCALE_EXT_E2E_FAKE_SIZE'
MODULE_NAME = 'nova.virt.scale_ext_e2e'
NAMESPACE = uuid.UUID('4f0c6a50-3b7e-4a53-9f43-0d2b8c1d6e11')


def node_uuid(nodename):
    return str(uuid.uuid5(NAMESPACE, nodename))


class SizedFakeDriver(fake.FakeDriver):
    """FakeDriver sized from the environment, with a stable node UUID."""

    vcpus, memory_mb, local_gb = (
        int(n) for n in os.environ.get(SIZE_VARIABLE, '8,16384,100')
        .split(','))

    def get_available_resource(self, nodename):
        status = super().get_available_resource(nodename)
        if status:
            status['uuid'] = node_uuid(nodename)
        return status

    def get_nodenames_by_uuid(self, refresh=False):
        return {node_uuid(n): n for n in self.get_available_nodes()}

    def get_host_uptime(self):
        """The host's ``uptime`` line, as Nova's libvirt driver reports it
        (Nova's fake driver raises NotImplementedError, which fills the
        compute log with tracebacks whenever a client asks for hypervisor
        details at microversion 2.88 or later)."""
        out, _err = processutils.execute('env', 'LANG=C', 'uptime')
        return out


def main():
    sys.modules[MODULE_NAME] = sys.modules[__name__]
    return compute.main()


if __name__ == '__main__':
    sys.exit(main())
