package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"iexbox/internal/flagenv"
	"iexbox/internal/sandbox"
)

// errHelp is returned after -h printed the usage.
var errHelp = errors.New("help requested")

// measurements are the names -only accepts, in the order they run.
var measurements = []string{"prompt", "echo", "eval", "check", "throughput", "producer", "churn", "boot", "density", "wave", "arrivals", "toolchains", "class"}

// defaultMeasurements run when -only is not given: the classroom ones
// (wave, arrivals) want a server of their own with the default flags.
var defaultMeasurements = measurements[:9]

// config is the benchmark's configuration, from flags.
type config struct {
	url, coldURL, processURL       string
	serverPID, coldPID, processPID int
	image, runtime, memory, cpus   string
	pids, nofile                   int
	tmpfs                          int64
	policy                         sandbox.Policy // of the baseline, from the fields above
	n                              int
	keys, echoSessions             int
	manyKeyGaps                    []time.Duration
	keyGap                         time.Duration
	rounds                         int
	evals                          int
	checks                         int
	checkGap                       time.Duration
	floodRuns                      int
	floodCmd                       string
	floodBytes                     int64
	floodSessions                  int
	quietTimeout                   time.Duration
	churnDuration                  time.Duration
	churnWorkers                   int
	churnEnd                       string
	bootK                          int
	density                        int
	densitySettle                  time.Duration
	densityDocker                  bool
	densityMax                     bool
	densityStep, densityCap        int
	openParallel                   int
	waves                          []int
	waveGap, waveHold              time.Duration
	classSeats                     int
	arrivalsRate                   float64
	arrivalsDuration, arrivalsHold time.Duration
	arrivalsFrom                   int
	cols, rows                     int
	only                           map[string]bool
	cgroupParent                   string
	jsonPath, label, note          string
	tables                         []string // -table: reports to print instead of measuring
	markdown                       bool
	args                           []string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	c := config{args: args[1:]}
	var only, manyGaps, tables, waves string
	fs := flag.NewFlagSet("iexbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.url, "url", "ws://127.0.0.1:8080/ws", "WebSocket URL of the iexbox server with a warm pool")
	fs.StringVar(&c.coldURL, "cold-url", "", "WebSocket URL of a second server started with -pool 0 (cold time to prompt; skipped when empty)")
	fs.StringVar(&c.processURL, "process-url", "", "WebSocket URL of a server started with -backend process -unsafe-no-sandbox -command sh (fast producer; skipped when empty)")
	fs.IntVar(&c.serverPID, "server-pid", 0, "pid of the -url server, for its memory (default: found with ss by port)")
	fs.IntVar(&c.coldPID, "cold-pid", 0, "pid of the -cold-url server (default: found with ss by port)")
	fs.IntVar(&c.processPID, "process-pid", 0, "pid of the -process-url server (default: found with ss by port)")
	fs.StringVar(&c.cgroupParent, "cgroup-parent", "", "the servers' -cgroup-parent, to record how often its CPU bound throttled the sandboxes")
	fs.StringVar(&c.image, "image", "iexbox-sandbox:latest", "sandbox image for the docker run baseline")
	fs.StringVar(&c.runtime, "runtime", "runc", "OCI runtime of the docker run baseline; should match the servers'")
	fs.StringVar(&c.memory, "memory", "256m", "baseline memory limit (the server's -memory)")
	fs.StringVar(&c.cpus, "cpus", "0.5", "baseline CPU quota (the server's -cpus)")
	fs.IntVar(&c.pids, "pids", 64, "baseline pids limit (the server's -pids)")
	fs.IntVar(&c.nofile, "nofile", 1024, "baseline open-file limit (the server's -nofile)")
	fs.Int64Var(&c.tmpfs, "tmpfs-bytes", 64<<20, "baseline tmpfs size in bytes (the server's -tmpfs-size)")
	fs.IntVar(&c.n, "n", 50, "sessions per time-to-prompt figure")
	fs.IntVar(&c.keys, "keys", 200, "keystrokes per session for the echo figure")
	fs.IntVar(&c.echoSessions, "echo-sessions", 50, "concurrent sessions for the loaded echo figure")
	fs.DurationVar(&c.keyGap, "key-gap", 100*time.Millisecond, "mean pause between keystrokes of one session (uniform in [gap/2, 3gap/2])")
	fs.StringVar(&manyGaps, "many-key-gaps", "100ms,250ms", "mean pauses between keystrokes for the concurrent echo figure, one run each")
	fs.IntVar(&c.rounds, "rounds", 10, "alternating rounds of iexbox and docker run for the echo and eval figures")
	fs.IntVar(&c.evals, "evals", 200, "evaluations of 1+1 for the eval figure")
	fs.IntVar(&c.checks, "checks", 20, "exercise checks for the check figure (after a first one that waits for the check BEAM)")
	fs.DurationVar(&c.checkGap, "check-gap", 6*time.Second, "pause between checks: a learner's edit, long enough for the next check BEAM to boot and within the server's rate of checks")
	fs.Int64Var(&c.floodBytes, "flood-bytes", 200_000_000, "bytes the fast producer writes")
	fs.IntVar(&c.floodRuns, "flood-runs", 3, "20 MB iex floods per path (iexbox, docker run), interleaved; the median counts")
	fs.StringVar(&c.floodCmd, "flood-cmd", defaultFloodCmd, "shell command of the fast producer; %d is -flood-bytes")
	fs.IntVar(&c.floodSessions, "flood-sessions", 4, "concurrent fast-producer sessions for the memory-per-session figure")
	fs.DurationVar(&c.churnDuration, "churn-duration", 60*time.Second, "how long churn runs")
	fs.IntVar(&c.churnWorkers, "churn-workers", 4, "concurrent churn workers")
	fs.StringVar(&c.churnEnd, "churn-end", "close", "how a churn session ends: close (the tab closes) or halt (System.halt())")
	fs.IntVar(&c.bootK, "boot-k", 10, "sequential cold docker runs for the CPU cost of one sandbox boot")
	fs.IntVar(&c.density, "density", 100, "idle sessions for the density figure")
	fs.DurationVar(&c.densitySettle, "density-settle", 20*time.Second, "wait after the last idle session opened before measuring")
	fs.BoolVar(&c.densityDocker, "density-docker", true, "also measure the same number of idle detached docker run containers")
	fs.BoolVar(&c.densityMax, "density-max", false, "after density, add idle sessions in steps until one fails or MemAvailable < 10% (long)")
	fs.IntVar(&c.densityStep, "density-step", 50, "sessions added per -density-max step")
	fs.IntVar(&c.densityCap, "density-cap", 0, "stop -density-max at this many sessions (0: no cap)")
	fs.DurationVar(&c.quietTimeout, "quiet-timeout", 2*time.Minute, "before each measurement, wait this long at most for the shared host to be quiet")
	fs.IntVar(&c.openParallel, "open-parallel", 4, "sessions opened at once when opening many")
	fs.IntVar(&c.cols, "cols", 200, "terminal columns")
	fs.IntVar(&c.rows, "rows", 50, "terminal rows")
	fs.StringVar(&waves, "waves", "40,40", "wave: sizes of the waves, clients opened at once from this one address, one wave every -wave-gap")
	fs.DurationVar(&c.waveGap, "wave-gap", 2*time.Minute, "wave: from the start of one wave to the start of the next")
	fs.IntVar(&c.classSeats, "class-seats", 100, "class: the class's seats, and the learners who join at once from this one address")
	fs.DurationVar(&c.waveHold, "wave-hold", 60*time.Second, "wave: a wave's sessions stay open this long from its start")
	fs.Float64Var(&c.arrivalsRate, "arrivals-rate", 1, "arrivals: new sessions per second")
	fs.DurationVar(&c.arrivalsDuration, "arrivals-duration", 120*time.Second, "arrivals: how long sessions keep arriving")
	fs.DurationVar(&c.arrivalsHold, "arrivals-hold", 30*time.Second, "arrivals: how long each session lasts")
	fs.IntVar(&c.arrivalsFrom, "arrivals-from", 16, "arrivals: client addresses the sessions come from in turn (127.0.1.1 and up; 1: the system's choice)")
	fs.StringVar(&only, "only", strings.Join(defaultMeasurements, ","), "comma-separated measurements to run: "+strings.Join(measurements, ","))
	fs.StringVar(&c.jsonPath, "json", "", "write the figures as JSON to this file")
	fs.StringVar(&c.label, "label", "", "label of this run's baseline containers (default iexbench-<pid>)")
	fs.StringVar(&tables, "table", "", "comma-separated JSON reports of earlier runs (say runc.json,runsc.json): print them as one table and measure nothing")
	fs.BoolVar(&c.markdown, "markdown", false, "print the table as Markdown")
	fs.StringVar(&c.note, "note", "", "free text recorded in the JSON (for example what else ran)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iexbench [flags]\n\nBenchmarks running iexbox servers against plain docker run. See docs/benchmarks.md.\n"+
			"Every flag can also be set with an environment variable: -key-gap is IEXBENCH_KEY_GAP.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := flagenv.Parse(fs, args[1:], "IEXBENCH", getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errHelp
		}
		return c, err
	}
	if err := c.parsePolicy(); err != nil {
		return c, err
	}
	for _, t := range strings.Split(tables, ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.tables = append(c.tables, t)
		}
	}
	c.only = map[string]bool{}
	for _, m := range strings.Split(only, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if !slices.Contains(measurements, m) {
			return c, fmt.Errorf("-only %q: want some of %s", m, strings.Join(measurements, ","))
		}
		c.only[m] = true
	}
	for _, w := range strings.Split(waves, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 {
			return c, fmt.Errorf("-waves %q: want sizes such as 40,40", waves)
		}
		c.waves = append(c.waves, n)
	}
	if c.arrivalsRate <= 0 || c.arrivalsDuration <= 0 || c.arrivalsFrom < 1 || c.arrivalsFrom > 254 {
		return c, errors.New("-arrivals-rate and -arrivals-duration must be positive, -arrivals-from 1 to 254")
	}
	for _, g := range strings.Split(manyGaps, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(g))
		if err != nil || d < 0 {
			return c, fmt.Errorf("-many-key-gaps %q: want durations such as 100ms,250ms", manyGaps)
		}
		c.manyKeyGaps = append(c.manyKeyGaps, d)
	}
	if c.label == "" {
		c.label = fmt.Sprintf("iexbench-%d", os.Getpid())
	}
	switch {
	case c.n < 1, c.keys < 1, c.echoSessions < 1, c.evals < 1, c.churnWorkers < 1, c.bootK < 1,
		c.density < 1, c.densityStep < 1, c.floodRuns < 1, c.rounds < 1, c.openParallel < 1, c.floodSessions < 1:
		return c, errors.New("counts must be positive")
	case c.churnEnd != "close" && c.churnEnd != "halt":
		return c, fmt.Errorf("-churn-end %q: want close or halt", c.churnEnd)
	}
	return c, nil
}

// parsePolicy builds the baseline's sandbox policy from the flags that
// mirror the server's.
func (c *config) parsePolicy() error {
	mem, err := sandbox.ParseSize("memory", c.memory, 32<<20)
	if err != nil {
		return err
	}
	cpus, err := strconv.ParseFloat(c.cpus, 64)
	if err != nil {
		return fmt.Errorf("-cpus %q: want a number of cores", c.cpus)
	}
	p := sandbox.Default()
	p.Image, p.Isolation, p.Memory, p.CPUs = c.image, c.runtime, mem, cpus
	p.Pids, p.NoFile, p.TmpfsSize, p.UIDBase = int64(c.pids), int64(c.nofile), c.tmpfs, 0
	if err := p.Validate(); err != nil {
		return err
	}
	c.policy = p
	return nil
}
