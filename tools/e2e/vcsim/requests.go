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
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// naiveTime matches an xsd:dateTime without a time zone. oslo.vmware's
// register_extension sends lastHeartbeatTime as Python's naive isoformat
// (2024-01-02T03:04:05.678901); vCenter accepts it, but Go's encoding/xml
// decodes time.Time as RFC 3339 only and the simulator answers with a
// parsing fault. fixRequests appends "Z".
var naiveTime = regexp.MustCompile(`>(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)<`)

// vmSelectSet matches the selectSet references of a TraversalSpec whose path
// is "vm". govmomi 0.24.2's PropertyCollector applies every TraversalSpec to
// every object regardless of TraversalSpec.type. oslo.vmware's recursive
// traversal (vim_util.build_recursive_traversal_spec, used by get_objects)
// has rp_to_vm {path vm, selectSet [rp_to_rp, rp_to_vm]}; once a VM exists
// the simulator follows rp_to_rp's path "resourcePool" from the VM back to
// its pool and recurses VM <-> ResourcePool until the process dies of a
// stack overflow. vCenter never applies rp_to_rp to a VirtualMachine, so
// fixRequests drops these references without changing the result.
var vmSelectSet = regexp.MustCompile(`(<(?:\w+:)?path>vm</(?:\w+:)?path>\s*(?:<(?:\w+:)?skip>\w+</(?:\w+:)?skip>)?)((?:\s*<(?:\w+:)?selectSet>\s*<(?:\w+:)?name>\w+</(?:\w+:)?name>\s*</(?:\w+:)?selectSet>)+)`)

// zeroFraction matches a number with a zero fraction. Nova sends Python
// floats in integer fields (vmops._prepare_flat_image sends
// CreateVirtualDisk_Task spec.capacityKb as "1024.0"), which Go's decoder
// rejects with strconv.ParseInt errors. fixRequests strips the fraction
// (harmless in float fields).
var zeroFraction = regexp.MustCompile(`>(-?\d+)\.0+<`)

// fixRequests rewrites requests before the simulator's handler sees them.
func fixRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Body != nil && (r.URL.Path == "/sdk" || r.URL.Path == "/sdk/vimService") {
			if b, err := io.ReadAll(r.Body); err == nil {
				b = naiveTime.ReplaceAll(b, []byte(">${1}Z<"))
				b = vmSelectSet.ReplaceAll(b, []byte("${1}"))
				b = zeroFraction.ReplaceAll(b, []byte(">${1}<"))
				r.Body = io.NopCloser(bytes.NewReader(b))
				r.ContentLength = int64(len(b))
			}
		}
		// Nova's vmops._fetch_image_as_file uploads images through the ESX
		// host's URL with dcPath=ha-datacenter (the ESX datacenter name);
		// in VPX mode the simulator finds no such datacenter and answers
		// 404. Without dcPath it uses its default datacenter.
		if strings.HasPrefix(r.URL.Path, "/folder/") {
			q := r.URL.Query()
			if q.Get("dcPath") == "ha-datacenter" {
				q.Del("dcPath")
				r.URL.RawQuery = q.Encode()
			}
		}
		next.ServeHTTP(w, r)
	})
}
