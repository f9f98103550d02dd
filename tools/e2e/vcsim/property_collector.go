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
	"regexp"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// propertyCollector adds keyed property paths to RetrievePropertiesEx.
// Nova asks for single extraConfig entries:
//
//	config.extraConfig["nvp.vm-uuid"]             (list_instances, get_vm_ref)
//	config.extraConfig["RemoteDisplay.vnc.port"]  (VNC port allocation)
//	config.extraConfig["volume-<uuid>"]           (volume attachments)
//
// govmomi 0.24.2's simulator does not understand the ["key"] selector and
// puts InvalidProperty into missingSet, which oslo.vmware raises. The
// wrapper asks for config.extraConfig instead and returns the matching
// OptionValue under the requested name, as vCenter does.
type propertyCollector struct {
	simulator.PropertyCollector
}

var keyedPath = regexp.MustCompile(`^(.+)\["(.*)"\]$`)

func installPropertyCollector() {
	si := simulator.Map.Get(types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}).(*simulator.ServiceInstance)
	pc := &propertyCollector{}
	pc.Self = si.Content.PropertyCollector
	simulator.Map.Put(pc)
}

func optionValues(v interface{}) []types.BaseOptionValue {
	switch o := v.(type) {
	case []types.BaseOptionValue:
		return o
	case types.ArrayOfOptionValue:
		return o.OptionValue
	case *types.ArrayOfOptionValue:
		return o.OptionValue
	}
	return nil
}

func (pc *propertyCollector) RetrievePropertiesEx(ctx *simulator.Context, r *types.RetrievePropertiesEx) soap.HasFault {
	type keyed struct{ base, key, full string }
	var wanted []keyed
	asked := map[string]bool{} // the paths asked for without a key
	for i := range r.SpecSet {
		for j := range r.SpecSet[i].PropSet {
			ps := &r.SpecSet[i].PropSet[j]
			var paths []string
			seen := map[string]bool{}
			for _, p := range ps.PathSet {
				if m := keyedPath.FindStringSubmatch(p); m != nil {
					wanted = append(wanted, keyed{m[1], m[2], p})
					p = m[1]
				} else {
					asked[p] = true
				}
				if !seen[p] {
					seen[p] = true
					paths = append(paths, p)
				}
			}
			ps.PathSet = paths
		}
	}
	res := pc.PropertyCollector.RetrievePropertiesEx(ctx, r)
	if len(wanted) == 0 {
		return res
	}
	body, ok := res.(*methods.RetrievePropertiesExBody)
	if !ok || body.Res == nil || body.Res.Returnval == nil {
		return res
	}
	for i := range body.Res.Returnval.Objects {
		oc := &body.Res.Returnval.Objects[i]
		var props []types.DynamicProperty
		vals := map[string]interface{}{}
		for _, p := range oc.PropSet {
			vals[p.Name] = p.Val
			if asked[p.Name] {
				props = append(props, p)
			}
		}
		for _, w := range wanted {
			for _, ov := range optionValues(vals[w.base]) {
				if o := ov.GetOptionValue(); o.Key == w.key {
					props = append(props, types.DynamicProperty{Name: w.full, Val: o})
				}
			}
		}
		oc.PropSet = props
	}
	// Leave out the objects that have no value for the keyed paths when
	// nothing else was asked for.
	objs := body.Res.Returnval.Objects[:0]
	for _, oc := range body.Res.Returnval.Objects {
		if len(oc.PropSet) > 0 || len(oc.MissingSet) > 0 || len(asked) > 0 {
			objs = append(objs, oc)
		}
	}
	body.Res.Returnval.Objects = objs
	return body
}
