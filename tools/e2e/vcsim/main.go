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

// Command vcsim-e2e is a vCenter simulator for the end-to-end tests of
// Nova's VMwareVCDriver. It builds a VPX inventory with one datacenter, one
// shared datastore and two clusters of heterogeneous hosts on top of
// govmomi's simulator package, adds the pieces Nova and oslo.vmware need
// that the simulator lacks, and serves the vSphere SOAP API (and the
// /folder datastore HTTP interface) until SIGINT or SIGTERM.
//
// Usage:
//
//	vcsim-e2e -wsdl PATH [-listen 127.0.0.1:18989] [-host-name 127.0.0.1]
//
// Once it listens it prints "vcsim ready: <URL>" on a line of its own,
// then a summary of the inventory. The simulator accepts any non-empty
// user name and password.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type hostHardware struct {
	threads int16
	memMiB  int64
}

// layout lists the clusters (in the order of the simulator's cluster names)
// and the hardware of each of their hosts.
var layout = []struct {
	name  string
	hosts []hostHardware
}{
	{"c1", []hostHardware{{8, 32768}, {16, 65536}, {4, 16384}}},
	{"c2", []hostHardware{{12, 49152}, {24, 98304}}},
}

func main() {
	listen := flag.String("listen", "127.0.0.1:18989", "address to listen on (HTTPS)")
	wsdl := flag.String("wsdl", "", "vim25 WSDL to serve at /sdk/vimService.wsdl (required; see vim_wsdl.py)")
	hostName := flag.String("host-name", "127.0.0.1", "name given to every ESX host (empty: keep the simulator's names)")
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *wsdl == "" {
		fmt.Fprintln(os.Stderr, "vcsim-e2e: -wsdl is required")
		flag.Usage()
		os.Exit(2)
	}
	if _, err := os.Stat(*wsdl); err != nil {
		log.Fatalf("-wsdl: %v", err)
	}

	model := buildModel(*hostName)
	defer model.Remove()

	installExtensionManager()
	installVirtualDiskManager()
	installPropertyCollector()
	installDatastoreBrowsers()

	model.Service.TLS = new(tls.Config) // the simulator's self-signed certificate
	// oslo.vmware loads the WSDL from https://<host>:<port>/sdk/vimService.wsdl;
	// govmomi's simulator serves none.
	wsdlPath := *wsdl
	model.Service.HandleFunc("/sdk/vimService.wsdl", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		http.ServeFile(w, r, wsdlPath)
	})
	model.Service.Listen = &url.URL{Host: *listen}
	srv := model.Service.NewServer()
	srv.Config.Handler = fixRequests(srv.Config.Handler)
	defer srv.Close()

	ready := *srv.URL
	ready.User = nil
	fmt.Printf("vcsim ready: %s\n", ready.String())
	_ = os.Stdout.Sync()
	dump()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}

// buildModel creates the simulator's inventory and reshapes it to layout.
func buildModel(hostName string) *simulator.Model {
	maxHosts := 0
	for _, c := range layout {
		if len(c.hosts) > maxHosts {
			maxHosts = len(c.hosts)
		}
	}

	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = len(layout)
	// The model creates the same number of hosts in every cluster; the
	// surplus is removed below.
	model.ClusterHost = maxHosts
	model.Host = 0 // no standalone hosts
	model.Datastore = 1
	model.Portgroup = 1
	model.Machine = 0 // no virtual machines
	model.App = 0
	model.Pod = 0
	if err := model.Create(); err != nil {
		log.Fatalf("creating the inventory: %v", err)
	}

	m := simulator.Map
	var clusters []*simulator.ClusterComputeResource
	for _, e := range m.All("ClusterComputeResource") {
		clusters = append(clusters, e.(*simulator.ClusterComputeResource))
	}
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].Name < clusters[j].Name })

	for i, c := range clusters {
		spec := layout[i]
		c.Name = spec.name
		for len(c.Host) > len(spec.hosts) {
			ref := c.Host[len(c.Host)-1]
			c.Host = c.Host[:len(c.Host)-1]
			removeHost(ref)
		}
		// The cluster summary is what Nova reports as the node's resources:
		// recompute it from the hosts.
		sum := c.Summary.GetComputeResourceSummary()
		*sum = types.ComputeResourceSummary{}
		for j, ref := range c.Host {
			h := m.Get(ref).(*simulator.HostSystem)
			s := spec.hosts[j]
			// Nova uploads images to https://<host name>:<vCenter port>/folder/...,
			// so the host name must reach this server.
			if hostName != "" {
				h.Name = hostName
				h.Summary.Config.Name = hostName
			}
			memBytes := s.memMiB * 1024 * 1024
			h.Summary.Hardware.NumCpuThreads = s.threads
			h.Summary.Hardware.NumCpuCores = s.threads
			h.Summary.Hardware.NumCpuPkgs = 1
			h.Summary.Hardware.MemorySize = memBytes
			if h.Hardware != nil {
				h.Hardware.CpuInfo.NumCpuThreads = s.threads
				h.Hardware.CpuInfo.NumCpuCores = s.threads
				h.Hardware.CpuInfo.NumCpuPackages = 1
				h.Hardware.MemorySize = memBytes
			}
			mhz := h.Summary.Hardware.CpuMhz * int32(s.threads)
			sum.TotalCpu += mhz
			sum.EffectiveCpu += mhz
			sum.TotalMemory += memBytes
			sum.EffectiveMemory += s.memMiB
			sum.NumCpuCores += s.threads
			sum.NumCpuThreads += s.threads
			sum.NumHosts++
			sum.NumEffectiveHosts++
		}
		sum.OverallStatus = types.ManagedEntityStatusGreen
	}

	// Model.Create() creates the local datastore once per host under the
	// same moref, so the registry keeps only the last host's Datastore,
	// mounted on that host alone. Rebuild the mounts from the hosts.
	for _, e := range m.All("Datastore") {
		ds := e.(*simulator.Datastore)
		ds.Host = nil
		// The simulator reports local datastores as type "OTHER"; Nova only
		// uses VMFS, NFS, NFS41 and vsan datastores.
		ds.Summary.Type = string(types.HostFileSystemVolumeFileSystemTypeVMFS)
		for _, he := range m.All("HostSystem") {
			h := he.(*simulator.HostSystem)
			for _, r := range h.Datastore {
				if r == ds.Self {
					ds.Host = append(ds.Host, types.DatastoreHostMount{
						Key: h.Self,
						MountInfo: types.HostMountInfo{
							Path:       ds.Summary.Url,
							AccessMode: string(types.HostMountModeReadWrite),
							Mounted:    types.NewBool(true),
							Accessible: types.NewBool(true),
						},
					})
				}
			}
		}
	}
	return model
}

// removeHost unlinks a HostSystem from datastores, networks and distributed
// switches, then deletes it from the registry.
func removeHost(ref types.ManagedObjectReference) {
	m := simulator.Map
	h := m.Get(ref).(*simulator.HostSystem)
	for _, dsRef := range h.Datastore {
		if ds, ok := m.Get(dsRef).(*simulator.Datastore); ok {
			var keep []types.DatastoreHostMount
			for _, mnt := range ds.Host {
				if mnt.Key != ref {
					keep = append(keep, mnt)
				}
			}
			ds.Host = keep
		}
	}
	for _, nRef := range h.Network {
		switch n := m.Get(nRef).(type) {
		case *mo.Network:
			simulator.RemoveReference(&n.Host, ref)
		case *simulator.DistributedVirtualPortgroup:
			simulator.RemoveReference(&n.Host, ref)
		}
	}
	for _, e := range m.All("VmwareDistributedVirtualSwitch") {
		if d, ok := e.(*simulator.DistributedVirtualSwitch); ok {
			simulator.RemoveReference(&d.Summary.HostMember, ref)
		}
	}
	m.Remove(ref)
}

// dump prints the inventory: clusters, hosts, datastores and networks.
func dump() {
	m := simulator.Map
	clusters := m.All("ClusterComputeResource")
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].Entity().Name < clusters[j].Entity().Name })
	for _, e := range clusters {
		c := e.(*simulator.ClusterComputeResource)
		s := c.Summary.GetComputeResourceSummary()
		fmt.Printf("cluster %s (%s): hosts=%d threads=%d mem=%dMiB datastores=%d networks=%d\n",
			c.Name, c.Self.Value, s.NumHosts, s.NumCpuThreads, s.TotalMemory>>20, len(c.Datastore), len(c.Network))
		for _, ref := range c.Host {
			h := m.Get(ref).(*simulator.HostSystem)
			fmt.Printf("  host %s (%s): threads=%d mem=%dMiB cpuMhz=%d usedMem=%dMB state=%s maint=%v\n",
				h.Name, ref.Value, h.Summary.Hardware.NumCpuThreads, h.Summary.Hardware.MemorySize>>20,
				h.Summary.Hardware.CpuMhz, h.Summary.QuickStats.OverallMemoryUsage,
				h.Runtime.ConnectionState, h.Runtime.InMaintenanceMode)
		}
	}
	for _, e := range m.All("Datastore") {
		d := e.(*simulator.Datastore)
		fmt.Printf("datastore %s (%s): capacity=%dGiB free=%dGiB hosts=%d url=%s\n", d.Name, d.Self.Value,
			d.Summary.Capacity>>30, d.Summary.FreeSpace>>30, len(d.Host), d.Summary.Url)
	}
	for _, kind := range []string{"Network", "DistributedVirtualPortgroup", "VmwareDistributedVirtualSwitch"} {
		for _, e := range m.All(kind) {
			fmt.Printf("%s %s (%s)\n", kind, e.Entity().Name, e.Reference().Value)
		}
	}
}
