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
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// datastoreBrowser wraps the simulator's HostDatastoreBrowser for a
// SearchDatastore_Task without a searchSpec.
type datastoreBrowser struct {
	*simulator.HostDatastoreBrowser
}

func installDatastoreBrowsers() {
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		if orig, ok := simulator.Map.Get(ds.Browser).(*simulator.HostDatastoreBrowser); ok {
			simulator.Map.Put(&datastoreBrowser{orig})
		}
	}
}

// SearchDatastoreTask: Nova's image cache lists a folder's entries
// (ds_util.get_sub_folders) with no searchSpec, which vSphere answers with
// every entry; govmomi 0.24.2's simulator dereferences the missing spec
// and the request dies with a nil pointer panic. Search with a spec that
// matches every entry instead.
func (b *datastoreBrowser) SearchDatastoreTask(req *types.SearchDatastore_Task) soap.HasFault {
	if req.SearchSpec == nil {
		req.SearchSpec = &types.HostDatastoreBrowserSearchSpec{MatchPattern: []string{"*"}}
	}
	return b.HostDatastoreBrowser.SearchDatastoreTask(req)
}
