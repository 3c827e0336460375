package e2e

// Reading the cgroups the suite measures, under cgroup v1 (one hierarchy
// per controller, as on the hybrid test machine) or v2 (one unified
// hierarchy). A measurement the suite promises must not pass by being
// unreadable: under CI=true a missing file fails the test.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroupV2Dirs are where a unified hierarchy may be mounted: the root on a
// pure v2 host, unified/ on a hybrid one.
var cgroupV2Dirs = []string{cgroupRoot, filepath.Join(cgroupRoot, "unified")}

// readCgroup returns the first of the files that exists: v1 names are
// controller/file under the root, v2 names a file under rel in a unified
// hierarchy. It reports the paths it tried when none exists.
func readCgroup(rel string, v1 []string, v2 string) (data string, tried []string, ok bool) {
	var paths []string
	for _, f := range v1 {
		ctrl, file, _ := strings.Cut(f, "/")
		paths = append(paths, filepath.Join(cgroupRoot, ctrl, rel, file))
	}
	if v2 != "" {
		for _, d := range cgroupV2Dirs {
			paths = append(paths, filepath.Join(d, rel, v2))
		}
	}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			return string(b), nil, true
		}
	}
	return "", paths, false
}

// cgroupMissing reports a cgroup measurement that could not be made: a
// failure under CI=true, where the suite must prove what it names, a log
// line elsewhere.
func cgroupMissing(t *testing.T, what string, tried []string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Errorf("%s: no cgroup file (tried %s); CI=true: the measurement must be made", what, strings.Join(tried, ", "))
		return
	}
	t.Logf("%s: no cgroup file (tried %s): not measured", what, strings.Join(tried, ", "))
}

// cgroupPidsRefused is how many forks the pids controller refused at its
// limit ("max N" in pids.events, v1 and v2 alike).
func cgroupPidsRefused(rel string) (int, []string, bool) {
	data, tried, ok := readCgroup(rel, []string{"pids/pids.events"}, "pids.events")
	if !ok {
		return 0, tried, false
	}
	for line := range strings.Lines(data) {
		if v, found := strings.CutPrefix(strings.TrimSpace(line), "max "); found {
			n, err := strconv.Atoi(v)
			return n, nil, err == nil
		}
	}
	return 0, nil, true
}

// cgroupCPUTime is the CPU time used under rel: v1 cpuacct.usage
// (nanoseconds), v2 cpu.stat usage_usec.
func cgroupCPUTime(rel string) (time.Duration, []string, bool) {
	data, tried, ok := readCgroup(rel, []string{"cpu,cpuacct/cpuacct.usage", "cpuacct/cpuacct.usage"}, "")
	if ok {
		ns, err := strconv.ParseInt(strings.TrimSpace(data), 10, 64)
		return time.Duration(ns), nil, err == nil
	}
	data, tried2, ok := readCgroup(rel, nil, "cpu.stat")
	if !ok {
		return 0, append(tried, tried2...), false
	}
	for line := range strings.Lines(data) {
		if v, found := strings.CutPrefix(line, "usage_usec "); found {
			us, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Duration(us) * time.Microsecond, nil, err == nil
		}
	}
	return 0, nil, false
}

// cgroupMemory is the memory limit and the peak use under rel: v1
// memory.limit_in_bytes and memory.max_usage_in_bytes, v2 memory.max and
// memory.peak.
func cgroupMemory(rel string) (limit, peak int64, tried []string, ok bool) {
	num := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return n, err == nil
	}
	if l, tried1, ok := readCgroup(rel, []string{"memory/memory.limit_in_bytes"}, ""); ok {
		p, _, ok2 := readCgroup(rel, []string{"memory/memory.max_usage_in_bytes"}, "")
		lv, ok3 := num(l)
		pv, ok4 := num(p)
		return lv, pv, nil, ok2 && ok3 && ok4
	} else {
		tried = tried1
	}
	l, tried2, ok := readCgroup(rel, nil, "memory.max")
	if !ok {
		return 0, 0, append(tried, tried2...), false
	}
	p, tried3, ok := readCgroup(rel, nil, "memory.peak")
	if !ok {
		return 0, 0, append(tried, tried3...), false
	}
	lv, ok3 := num(l)
	pv, ok4 := num(p)
	return lv, pv, nil, ok3 && ok4
}
