package main

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// procTimes is the CPU time of every live process, by pid, with its name.
type procTimes map[int]procTime

type procTime struct {
	comm string
	cpu  float64
}

func snapshotProcs() procTimes {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	m := make(procTimes, len(dirs))
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(d + "/comm")
		if err != nil {
			continue
		}
		m[pid] = procTime{comm: strings.TrimSpace(string(comm)), cpu: procCPU(pid)}
	}
	return m
}

// topConsumers sums, by command name, the CPU seconds processes alive at
// both snapshots used between them, and returns the n largest, so a
// figure taken on a shared host shows what else ran.
func topConsumers(a, b procTimes, n int) map[string]float64 {
	by := map[string]float64{}
	for pid, pb := range b {
		pa, ok := a[pid]
		if !ok || pa.comm != pb.comm {
			pa = procTime{comm: pb.comm} // born in the window: all its time
		}
		if d := pb.cpu - pa.cpu; d > 0 {
			by[pb.comm] += d
		}
	}
	names := make([]string, 0, len(by))
	for k := range by {
		names = append(names, k)
	}
	slices.SortFunc(names, func(x, y string) int { return cmp.Compare(by[y], by[x]) })
	out := map[string]float64{}
	for _, k := range names[:min(n, len(names))] {
		out[k] = round3(by[k])
	}
	return out
}
