package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"
)

// This machine is shared: other work (builds, tests with their own
// containers) may run beside the benchmark. Before each measurement the
// benchmark waits, up to -quiet-timeout, for the host to be quiet (the CPU
// mostly idle), and records what it found, other containers included.

// quietIdle is the host idle share, over quietProbe, that counts as quiet.
const (
	quietIdle  = 85.0
	quietProbe = 2 * time.Second
)

// hostNoise is the state of the host when a measurement started.
type hostNoise struct {
	WaitedS           float64 `json:"waited_s"`
	Quiet             bool    `json:"quiet"`
	ForeignContainers int     `json:"foreign_containers"`
	HostIdlePct       float64 `json:"host_idle_pct"`
	LoadAvg           string  `json:"loadavg"`
}

// waitQuiet waits until the host is quiet or quietTimeout has passed and
// records the state under step.
func (b *bench) waitQuiet(ctx context.Context, step string) {
	t0 := time.Now()
	var n hostNoise
	for {
		n.ForeignContainers = b.foreignContainers(ctx)
		c0 := readCPU()
		if sleepCtx(ctx, quietProbe) != nil {
			break
		}
		n.HostIdlePct = round1(idlePercent(c0, readCPU()))
		n.Quiet = n.HostIdlePct >= quietIdle
		if n.Quiet || time.Since(t0) > b.cfg.quietTimeout {
			break
		}
	}
	n.WaitedS = round1(time.Since(t0).Seconds())
	n.LoadAvg = loadAvg()
	if b.report.Noise == nil {
		b.report.Noise = map[string]hostNoise{}
	}
	b.report.Noise[step] = n
	if !n.Quiet {
		b.logf("%s: host not quiet after %.0f s (%d foreign containers, %.0f%% idle): measuring anyway",
			step, n.WaitedS, n.ForeignContainers, n.HostIdlePct)
	}
}

// foreignContainers counts containers that belong neither to the servers
// under test nor to this run's baselines.
func (b *bench) foreignContainers(ctx context.Context) int {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "--format",
		`{{.Label "iexbox.instance"}}|{{.Label "iexbench.run"}}`).Output()
	if err != nil {
		return -1
	}
	ours := map[string]bool{b.cfg.label + "-breakdown": true}
	for _, s := range b.report.Servers {
		ours[s.Instance] = true
	}
	n := 0
	for line := range strings.Lines(string(out)) {
		inst, run, _ := strings.Cut(strings.TrimSpace(line), "|")
		if run == b.cfg.label || (inst != "" && ours[inst]) {
			continue
		}
		n++
	}
	return n
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// throttling is how often the CFS quota of the servers' parent cgroup
// (-cgroup-parent, which bounds all sandboxes together) held them back.
type throttling struct {
	Periods   int64   `json:"periods"`
	Throttled int64   `json:"throttled_periods"`
	Seconds   float64 `json:"throttled_s"`
}

// readThrottling reads the cpu controller's statistics of a parent cgroup
// (cgroup v1, or the unified hierarchy).
func readThrottling(parent string) throttling {
	if parent == "" {
		return throttling{}
	}
	for _, path := range []string{"/sys/fs/cgroup/cpu/" + parent + "/cpu.stat", "/sys/fs/cgroup/" + parent + "/cpu.stat"} {
		st := keyedInts(path)
		if st == nil {
			continue
		}
		if us, ok := st["throttled_usec"]; ok { // cgroup v2
			return throttling{Periods: st["nr_periods"], Throttled: st["nr_throttled"], Seconds: float64(us) / 1e6}
		}
		return throttling{Periods: st["nr_periods"], Throttled: st["nr_throttled"], Seconds: float64(st["throttled_time"]) / 1e9}
	}
	return throttling{}
}

func (t throttling) since(before throttling) throttling {
	return throttling{Periods: t.Periods - before.Periods, Throttled: t.Throttled - before.Throttled,
		Seconds: round3(t.Seconds - before.Seconds)}
}
