package e2e

// The adversarial suite: every promise of docs/security.md, attacked from
// inside a real session as a user would type it, under each OCI runtime.
// Each case asserts its precise outcome (the session's end reason, or what
// iex prints) and that the host and an innocent session are unharmed: the
// innocent session's 1+1 answers within innocentBound while the attack runs,
// the attacker's container is gone afterwards, and neither the host's free
// disk nor the server's memory moved beyond a small bound.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runtimesEnv names the OCI runtimes the security suite runs under,
// comma-separated; every case runs once per runtime as runc/... and
// runsc/... subtests.
const runtimesEnv = "IEXBOX_E2E_RUNTIMES"

var defaultRuntimes = []string{"runc", "runsc"}

// Bounds on harm to the host and to the innocent session.
const (
	// innocentBound is how long the innocent session's 1+1 may take
	// while an attack runs (the promise).
	innocentBound = 2 * time.Second
	// rssBound is how much the server's resident memory may grow over one
	// attack. Go does not hand freed memory back at once; what matters is
	// that nothing grows with the attack's size (an output flood of many
	// megabytes, say).
	rssBound = 48 << 20
	// diskBound is how much the host's free disk may shrink over one
	// attack. Other work shares the machine, so this is coarse; the
	// precise check is containerDiskBound on the attacker's own files.
	diskBound = 100 << 20
	// containerDiskBound is what Docker may keep on disk for one sandbox
	// (its config, hosts and resolv.conf files); a log or a writable layer
	// that grew with the attack would exceed it.
	containerDiskBound = 1 << 20
)

// runtimesUnderTest is the list in IEXBOX_E2E_RUNTIMES, or runc and runsc.
func runtimesUnderTest() []string {
	v := strings.TrimSpace(os.Getenv(runtimesEnv))
	if v == "" {
		return defaultRuntimes
	}
	var out []string
	for _, rt := range strings.Split(v, ",") {
		if rt = strings.TrimSpace(rt); rt != "" {
			out = append(out, rt)
		}
	}
	return out
}

// forEachRuntime runs f as one subtest per runtime under test, the
// runtimes in parallel with each other. A runtime the engine lacks skips
// (fails under CI=true, see requireRuntime).
func forEachRuntime(t *testing.T, f func(t *testing.T, rt string)) {
	t.Helper()
	for _, rt := range runtimesUnderTest() {
		t.Run(rt, func(t *testing.T) {
			t.Parallel()
			requireRuntime(t, rt)
			f(t, rt)
		})
	}
}

// forEachRuntimeInTurn is forEachRuntime with the runtimes one after the
// other, for a test whose load alone fills the machine: fifty sandboxes
// of each runtime at once on two cores starve the servers themselves.
func forEachRuntimeInTurn(t *testing.T, f func(t *testing.T, rt string)) {
	t.Helper()
	for _, rt := range runtimesUnderTest() {
		t.Run(rt, func(t *testing.T) {
			requireRuntime(t, rt)
			f(t, rt)
		})
	}
}

// arena is one server under attack with an innocent session beside the
// attackers, shared by the cases of one runtime, which run one at a time.
type arena struct {
	s  *testServer
	rt string

	mu        sync.Mutex // one probe of the innocent session at a time
	innocent  *wsClient
	latencies []time.Duration
}

func newArena(t *testing.T, rt string, flags ...string) *arena {
	t.Helper()
	// Every attacker comes from 127.0.0.1, the innocent client from
	// 127.0.0.2: no per-client limit here (they have their own test). A pool of 2 keeps the next attacker warm.
	s := startServer(t, append([]string{"-runtime", rt, "-pool", "2",
		"-client-sessions", "0", "-client-rate", "0"}, flags...)...)
	a := &arena{s: s, rt: rt}
	// The innocent client comes from another address than the attackers.
	a.innocent = s.connectFrom(t, "127.0.0.2", nil)
	a.innocent.hello(t, defaultCols, defaultRows)
	a.innocent.waitEvent(t, "ready", readyWait)
	a.innocent.waitPrompt(t, readyWait)
	a.innocentAnswers(t) // warm: the first eval loads modules
	return a
}

// innocentAnswers evaluates 1+1 in the innocent session and fails the test
// unless it prints 2 within innocentBound.
func (a *arena) innocentAnswers(t *testing.T) time.Duration {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	start := time.Now()
	got := a.innocent.eval(t, "1+1")
	took := time.Since(start)
	a.latencies = append(a.latencies, took)
	if got != "2" {
		t.Errorf("the innocent session's 1+1 printed %q, want 2", got)
	}
	if took > innocentBound {
		t.Errorf("the innocent session's 1+1 took %v during the attack, want at most %v", took.Round(time.Millisecond), innocentBound)
	}
	return took
}

// latencySummary describes the innocent session's latencies so far.
func (a *arena) latencySummary() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.latencies) == 0 {
		return "no probes"
	}
	l := slices.Clone(a.latencies)
	slices.Sort(l)
	return fmt.Sprintf("%d probes, p50 %v, p90 %v, max %v", len(l),
		l[len(l)/2].Round(time.Millisecond), l[len(l)*9/10].Round(time.Millisecond), l[len(l)-1].Round(time.Millisecond))
}

// hostState is what an attack must leave unchanged.
type hostState struct {
	rss      int64 // the server's resident memory
	freeDisk int64 // free bytes where Docker keeps its data
}

func (a *arena) hostState(t *testing.T) hostState {
	t.Helper()
	return hostState{rss: a.s.rss(t), freeDisk: freeDisk(t)}
}

// requireUnharmed compares the host with its state before the attack.
func (a *arena) requireUnharmed(t *testing.T, before hostState) {
	t.Helper()
	after := a.hostState(t)
	if shrunk := before.freeDisk - after.freeDisk; shrunk > diskBound {
		// Others share this machine: look again before blaming the attack.
		time.Sleep(2 * time.Second)
		after.freeDisk = freeDisk(t)
		if shrunk = before.freeDisk - after.freeDisk; shrunk > diskBound {
			t.Errorf("the host's free disk shrank by %d MiB over the attack, want at most %d MiB", shrunk>>20, diskBound>>20)
		}
	}
	if grew := after.rss - before.rss; grew > rssBound {
		t.Errorf("the server's RSS grew by %d MiB over the attack (%d -> %d MiB), want at most %d MiB",
			grew>>20, before.rss>>20, after.rss>>20, rssBound>>20)
	}
	t.Logf("host: free disk %+d MiB, server RSS %d -> %d MiB", (after.freeDisk-before.freeDisk)>>20, before.rss>>20, after.rss>>20)
}

// attack is one case of the suite: run types the attack into the attacker's
// session and asserts its outcome, calling x.innocent while it runs.
type attack struct {
	name string
	run  func(t *testing.T, x *attackRun)
}

// attackRun is one attack in progress.
type attackRun struct {
	*arena
	c      *wsClient // the attacker's session
	ready  event
	probes int
}

// innocent checks the innocent session once.
func (x *attackRun) innocent(t *testing.T) {
	t.Helper()
	x.probes++
	x.innocentAnswers(t)
}

// innocentWhile checks the innocent session up to n times, a quarter of a
// second apart, stopping early once the attacker's connection has closed.
// It checks at least once.
func (x *attackRun) innocentWhile(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		x.innocent(t)
		if x.c.closeCodeNow() != 0 || i == n-1 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// container is the id of the attacker's container, "" once it is gone.
func (x *attackRun) container(t *testing.T) string {
	t.Helper()
	ids := containersLabelled(t, labelSession+"="+x.ready.Session)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// requireExit waits for the attacker's exit event and close, and checks
// them against the reason, the exit code ("null" when none) and the close
// code.
func (x *attackRun) requireExit(t *testing.T, reason, code string, closeCode int, timeout time.Duration) {
	t.Helper()
	exit := x.c.waitEvent(t, "exit", timeout)
	if exit.Reason != reason || exit.exitCode() != code {
		t.Errorf("exit event %s, want reason %s and code %s", exit.raw, reason, code)
	}
	x.c.requireClose(t, closeCode, eventWait)
}

// run runs one attack on a fresh attacker session, then checks that the
// attacker's container is gone and that the host is unharmed.
func (a *arena) run(t *testing.T, tc attack) {
	t.Helper()
	before := a.hostState(t)
	c, ready := a.s.openSession(t, defaultCols, defaultRows)
	x := &attackRun{arena: a, c: c, ready: ready}
	tc.run(t, x)
	if x.probes == 0 {
		t.Error("the case never checked the innocent session while it attacked")
	}
	if id := x.container(t); id != "" {
		requireContainerDiskSmall(t, id)
	}
	c.closeNormally()
	requireSessionGone(t, ready.Session, 5*time.Second)
	a.requireUnharmed(t, before)
}

// TestAttacks runs the attacks of docs/security.md, each against its own
// session of one server per runtime, with one innocent session beside them.
func TestAttacks(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		a := newArena(t, rt)
		t.Logf("%s: server RSS at start %d MiB", rt, a.s.rss(t)>>20)
		for _, group := range attackGroups {
			t.Run(group.name, func(t *testing.T) {
				for _, tc := range group.cases {
					t.Run(tc.name, func(t *testing.T) { a.run(t, tc) })
				}
			})
		}
		t.Logf("%s: innocent session's 1+1 during the attacks: %s", rt, a.latencySummary())
	})
}

// attackGroups are the cases, grouped as in docs/security.md.
var attackGroups = []struct {
	name  string
	cases []attack
}{
	{"fork_bomb", forkBombs},
	{"memory", memoryAttacks},
	{"disk", diskAttacks},
	{"output", outputAttacks},
	{"cpu", cpuAttacks},
	{"network", networkAttacks},
	{"privilege", privilegeAttacks},
	{"beam", beamAttacks},
}

// rss is the server process's resident memory in bytes.
func (s *testServer) rss(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("server memory: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("server memory: %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatal("server memory: no VmRSS")
	return 0
}

// dockerRoot is where the Docker Engine keeps its data.
var dockerRoot = sync.OnceValue(func() string {
	out, err := exec.Command("docker", "info", "--format", "{{.DockerRootDir}}").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return "/var/lib/docker"
	}
	return strings.TrimSpace(string(out))
})

// freeDisk is the free space, in bytes, of the file system holding
// Docker's data (and so any log or layer a sandbox could grow).
func freeDisk(t *testing.T) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dockerRoot(), &st); err != nil {
		t.Fatalf("statfs %s: %v", dockerRoot(), err)
	}
	return int64(st.Bavail) * st.Bsize
}

// requireContainerDiskSmall fails the test if Docker holds more than
// containerDiskBound on disk for the container: its own directory (where a
// log would go) plus its writable layer.
func requireContainerDiskSmall(t *testing.T, id string) {
	t.Helper()
	var size int64
	filepath.WalkDir(filepath.Join(dockerRoot(), "containers", id), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				size += info.Size()
			}
		}
		return nil
	})
	out, err := exec.Command("docker", "inspect", "--size", "--format", "{{.SizeRw}}", id).Output()
	if err != nil {
		return // removed meanwhile: nothing left on disk to measure
	}
	rw, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if size+rw > containerDiskBound {
		t.Errorf("the sandbox holds %d KiB on the host's disk (files %d KiB, writable layer %d KiB), want at most %d KiB",
			(size+rw)>>10, size>>10, rw>>10, containerDiskBound>>10)
	}
}

// outputLen is how many raw output bytes the client has received.
func (c *wsClient) outputLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.out)
}

// waitRaw waits until the raw output from byte offset from on contains
// want, then forgets the output before the match, so that later waits scan
// little after a flood. It reports whether want came within timeout.
func (c *wsClient) waitRaw(from int, want string, timeout time.Duration) bool {
	return c.waitFor(timeout, func() bool {
		i := bytes.Index(c.out[min(from, len(c.out)):], []byte(want))
		if i < 0 {
			return false
		}
		c.out = slices.Clone(c.out[min(from, len(c.out))+i:])
		c.outCursor = 0
		return true
	})
}

// sortedKeys is for stable failure messages.
func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// execOutput runs a command for at most a minute and returns its standard
// output; an error carries its standard error.
func execOutput(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
