package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The stack behind idle sessions, measured per part so that a figure taken
// on a shared host can be attributed: the containers (their cgroups hold
// the BEAM, or gVisor's sandbox and gofer), their containerd shims, the
// engine (dockerd, containerd) and the server.

// containerIDs lists the full ids of running containers with label.
func containerIDs(ctx context.Context, label string) []string {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-q", "--no-trunc", "--filter", "label="+label).Output()
	if err != nil {
		return nil
	}
	return strings.Fields(string(out))
}

// cgroupFile finds a container's file in a cgroup v1 controller, whatever
// its parent (docker, or the server's -cgroup-parent).
func cgroupFile(controller, id, name string) string {
	m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", controller, "*", id, name))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// keyedInts reads a "key value" file such as memory.stat.
func keyedInts(path string) map[string]int64 {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	m := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok {
			m[k], _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return m
}

// shimPIDs finds the containerd shim of each container id.
func shimPIDs(ids []string) []int {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var pids []int
	for _, pid := range pidsByName("containerd-shim") {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i, a := range args {
			if a == "-id" && i+1 < len(args) && want[args[i+1]] {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// pss is a process's proportional set size in bytes: shared pages split
// among their users, so summing it over shims does not count a page twice.
func pss(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// stackCPU is the CPU time, in seconds, of each part of the stack.
type stackCPU map[string]float64

func sampleStackCPU(ids []int, containers []string, serverPID int) stackCPU {
	s := stackCPU{"dockerd": cpuByName("dockerd"), "containerd": cpuByName("containerd"), "server": procCPU(serverPID)}
	for _, id := range containers {
		s["containers"] += float64(readInt(cgroupFile("cpuacct", id, "cpuacct.usage"))) / 1e9
	}
	for _, pid := range ids {
		s["shims"] += procCPU(pid)
	}
	return s
}

// stackIdle is what the stack cost while idle, in percent of the host's CPU
// capacity, per part and in all.
func stackIdle(a, b stackCPU, window time.Duration, cores int) map[string]float64 {
	out := map[string]float64{}
	var total float64
	for k, v := range b {
		d := max(v-a[k], 0)
		total += d
		out[k] = round3(100 * d / (window.Seconds() * float64(cores)))
	}
	out["total"] = round3(100 * total / (window.Seconds() * float64(cores)))
	return out
}

// memSnapshot is the host memory the density figures compare.
type memSnapshot struct {
	available, slab, pageTables, kernelStack int64
	dockerd, containerd, server              int64
}

func takeMem(ctx context.Context, serverPID int) memSnapshot {
	return memSnapshot{
		available: settledMemAvailable(ctx),
		slab:      meminfo("Slab"), pageTables: meminfo("PageTables"), kernelStack: meminfo("KernelStack"),
		dockerd: rssByName("dockerd"), containerd: rssByName("containerd"), server: vmRSS(serverPID),
	}
}

func rssByName(name string) int64 {
	var n int64
	for _, pid := range pidsByName(name) {
		n += vmRSS(pid)
	}
	return n
}

// memBreakdown splits the drop in MemAvailable per session by where the
// memory went, in MiB per session.
type memBreakdown struct {
	CgroupUsage float64 `json:"container_cgroup_usage"`
	CgroupRSS   float64 `json:"container_cgroup_rss"`
	CgroupCache float64 `json:"container_cgroup_cache"`
	ShimPss     float64 `json:"shim_pss"`
	Dockerd     float64 `json:"dockerd_rss_growth"`
	Containerd  float64 `json:"containerd_rss_growth"`
	Server      float64 `json:"server_rss_growth"`
	Kernel      float64 `json:"kernel_slab_pagetables_stacks_growth"`
}

// breakdownMem compares two snapshots around n sessions running in
// containers (which may include idle pool members: the per-container
// figures are averages over containers).
func breakdownMem(before, after memSnapshot, containers []string, shims []int, n int) memBreakdown {
	per := func(b int64) float64 { return round1(float64(b) / (1 << 20) / float64(n)) }
	var usage, rss, cache, shimPss int64
	for _, id := range containers {
		usage += readInt(cgroupFile("memory", id, "memory.usage_in_bytes"))
		st := keyedInts(cgroupFile("memory", id, "memory.stat"))
		rss += st["rss"]
		cache += st["cache"]
	}
	for _, pid := range shims {
		shimPss += pss(pid)
	}
	avg := func(b int64, k int) float64 {
		if k == 0 {
			return 0
		}
		return round1(float64(b) / (1 << 20) / float64(k))
	}
	return memBreakdown{
		CgroupUsage: avg(usage, len(containers)), CgroupRSS: avg(rss, len(containers)), CgroupCache: avg(cache, len(containers)),
		ShimPss:    avg(shimPss, len(shims)),
		Dockerd:    per(after.dockerd - before.dockerd),
		Containerd: per(after.containerd - before.containerd),
		Server:     per(after.server - before.server),
		Kernel:     per((after.slab + after.pageTables + after.kernelStack) - (before.slab + before.pageTables + before.kernelStack)),
	}
}
