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
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// extensionManager implements FindExtension, RegisterExtension and
// UnregisterExtension. govmomi 0.24.2's simulator registers the
// ExtensionManager object but implements none of its methods, and
// VMwareVCDriver's constructor calls FindExtension and RegisterExtension
// for "org.openstack.compute".
type extensionManager struct {
	mo.ExtensionManager
}

func installExtensionManager() {
	ref := types.ManagedObjectReference{Type: "ExtensionManager", Value: "ExtensionManager"}
	em := &extensionManager{}
	if old, ok := simulator.Map.Get(ref).(*mo.ExtensionManager); ok {
		em.ExtensionManager = *old
	}
	em.Self = ref
	simulator.Map.Put(em)
}

func (m *extensionManager) FindExtension(req *types.FindExtension) soap.HasFault {
	body := &methods.FindExtensionBody{Res: &types.FindExtensionResponse{}}
	for i := range m.ExtensionList {
		if m.ExtensionList[i].Key == req.ExtensionKey {
			body.Res.Returnval = &m.ExtensionList[i]
		}
	}
	return body
}

func (m *extensionManager) RegisterExtension(req *types.RegisterExtension) soap.HasFault {
	body := &methods.RegisterExtensionBody{}
	for _, e := range m.ExtensionList {
		if e.Key == req.Extension.Key {
			body.Fault_ = simulator.Fault("extension exists", &types.InvalidArgument{InvalidProperty: "extension.key"})
			return body
		}
	}
	m.ExtensionList = append(m.ExtensionList, req.Extension)
	body.Res = &types.RegisterExtensionResponse{}
	return body
}

func (m *extensionManager) UnregisterExtension(req *types.UnregisterExtension) soap.HasFault {
	body := &methods.UnregisterExtensionBody{}
	for i, e := range m.ExtensionList {
		if e.Key == req.ExtensionKey {
			m.ExtensionList = append(m.ExtensionList[:i], m.ExtensionList[i+1:]...)
			body.Res = &types.UnregisterExtensionResponse{}
			return body
		}
	}
	body.Fault_ = simulator.Fault("not found", &types.NotFound{})
	return body
}
