//    Licensed under the Apache License, Version 2.0 (the "License"); you may
//    not use this file except in compliance with the License. You may obtain
//    a copy of the License at
//
//         http://www.apache.org/licenses/LICENSE-2.0
//
//    Unless required by applicable law or agreed to in writing, software
//    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
//    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
//    License for the specific language governing permissions and limitations
//    under the License.

package main

import (
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// virtualDiskManager wraps the simulator's VirtualDiskManager: it adds
// ExtendVirtualDisk_Task and adapts CopyVirtualDisk_Task to what Nova sends.
type virtualDiskManager struct {
	*simulator.VirtualDiskManager
}

func installVirtualDiskManager() {
	si := simulator.Map.Get(types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}).(*simulator.ServiceInstance)
	if orig, ok := simulator.Map.Get(*si.Content.VirtualDiskManager).(*simulator.VirtualDiskManager); ok {
		simulator.Map.Put(&virtualDiskManager{orig})
	}
}

// ExtendVirtualDiskTask: Nova's spawn extends the root disk when the
// flavor's root_gb exceeds the image's virtual size; govmomi 0.24.2's
// simulator has no ExtendVirtualDisk_Task. The simulated disks hold no
// data, so the task just succeeds.
func (m *virtualDiskManager) ExtendVirtualDiskTask(req *types.ExtendVirtualDisk_Task) soap.HasFault {
	task := simulator.CreateTask(m, "extendVirtualDisk", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, nil
	})
	return &methods.ExtendVirtualDisk_TaskBody{
		Res: &types.ExtendVirtualDisk_TaskResponse{Returnval: task.Run()},
	}
}

// CopyVirtualDiskTask: Nova's vm_util.copy_virtual_disk sends no
// destDatacenter (vCenter then uses sourceDatacenter); the simulator in VPX
// mode answers InvalidArgument for it. Default it to the source datacenter.
//
// The simulator models a disk as <name>.vmdk plus <name>-flat.vmdk and
// copies both; a monolithic sparse image uploaded by Nova has no -flat
// file, so its copy fails with FileNotFound. Create a -flat file of the
// source's size next to such a source first (the size must be non-zero:
// FileInfo.fileSize is omitted when zero, and Nova reads it after the copy).
func (m *virtualDiskManager) CopyVirtualDiskTask(ctx *simulator.Context, req *types.CopyVirtualDisk_Task) soap.HasFault {
	if req.DestDatacenter == nil {
		req.DestDatacenter = req.SourceDatacenter
	}
	if p := datastoreFile(req.SourceName); p != "" && strings.HasSuffix(p, ".vmdk") {
		flat := strings.TrimSuffix(p, ".vmdk") + "-flat.vmdk"
		if st, err := os.Stat(p); err == nil {
			if _, err := os.Stat(flat); os.IsNotExist(err) {
				if f, err := os.Create(flat); err == nil {
					_ = f.Close()
					_ = os.Truncate(flat, st.Size())
				}
			}
		}
	}
	return m.VirtualDiskManager.CopyVirtualDiskTask(ctx, req)
}

var datastorePath = regexp.MustCompile(`^\[([^\]]+)\] ?(.*)$`)

// datastoreFile maps "[LocalDS_0] dir/file.vmdk" to the file's local path,
// or "" when the datastore is unknown.
func datastoreFile(name string) string {
	m := datastorePath.FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	for _, e := range simulator.Map.All("Datastore") {
		if ds := e.(*simulator.Datastore); ds.Name == m[1] {
			return path.Join(ds.Info.GetDatastoreInfo().Url, m[2])
		}
	}
	return ""
}
