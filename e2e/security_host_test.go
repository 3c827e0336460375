package e2e

// The host as a whole and the sandbox's kernel surface: the parent cgroup
// bounding all sandboxes together, the seccomp profile, a uid per sandbox,
// and gVisor leaving nothing behind when a start fails.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// newSessionBound is how long a new session's first 1+1 may take while
// every sandbox spins in a saturated parent. It is not innocentBound: a
// fresh BEAM's first evaluation loads code, which takes tens of
// milliseconds of CPU, and in the parent it gets its share of half a core
// among eight busy sandboxes; 2.5 s was seen on this 2-core machine. The
// innocent session, warmed before the attack, is held to innocentBound.
const newSessionBound = 5 * time.Second

// Limits of the parent cgroup in TestHostBounded: hogs that each stay
// under their own -memory together ask for far more than this.
const (
	hogs            = 5
	hogBytes        = 150_000_000   // each, under -memory 256m
	hogExpr         = "150_000_000" // not as printed, so that the echo differs
	sandboxesMemory = 600 << 20
)

// parentCPUs is the parent's CPU quota in TestHostBounded. gVisor's own
// kernel runs inside the parent too, and throttled to half a core a
// sandbox's boot was seen to take 8 to 24 s and its first 1+1 over 10 s:
// one core leaves the quota as binding (five hogs want 2.5) with room for
// the sentries.
func parentCPUs(rt string) float64 {
	if rt == "runsc" {
		return 1
	}
	return 0.5
}

// TestHostBounded: N sessions that all spin and all allocate at once, each
// within its own limits, cannot together take more than the parent cgroup
// allows (-sandboxes-memory, -sandboxes-cpus); /healthz, the innocent
// session and a new one still answer. The parent has a name of its own, so
// no other server on this machine shares its bound.
func TestHostBounded(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		parent := "iexbox-e2e-" + randomHex(4)
		t.Cleanup(func() { removeCgroup(t, parent) }) // after the server's own cleanup
		sandboxesCPUs := parentCPUs(rt)
		a := newArena(t, rt, "-pool", "1", "-cgroup-parent", parent,
			"-sandboxes-memory", strconv.Itoa(sandboxesMemory), "-sandboxes-cpus", fmt.Sprint(sandboxesCPUs))
		limit, _, tried, ok := cgroupMemory(parent)
		if !ok {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the parent cgroup's memory cannot be read (tried %s); CI=true: the bound must be proved", strings.Join(tried, ", "))
			}
			t.Skipf("the parent cgroup's memory cannot be read (tried %s)", strings.Join(tried, ", "))
		}
		if limit != sandboxesMemory {
			t.Fatalf("parent memory limit %d, want -sandboxes-memory %d", limit, sandboxesMemory)
		}

		var hogging []*wsClient
		var sessions []string
		for range hogs {
			c, ready := a.s.openSession(t, defaultCols, defaultRows)
			hogging, sessions = append(hogging, c), append(sessions, ready.Session)
		}
		a.s.waitPoolReady(t) // the new session below is warm: a boot in a starved parent takes long
		cpuBefore, cpuTried, cpuOK := cgroupCPUTime(parent)
		start := time.Now()
		for _, c := range hogging {
			c.send(t, `hold = :binary.copy(<<1>>, `+hogExpr+`); spawn(fn -> Stream.repeatedly(fn -> nil end) |> Stream.run() end); byte_size(hold)`+"\r")
		}
		// While they allocate and spin: the server, the innocent session and
		// a new session answer.
		innocentKilled := false
		for range 8 {
			requireHealthy(t, a.s, time.Second)
			if !innocentKilled {
				innocentKilled = !innocentProbe(t, a)
			}
			time.Sleep(250 * time.Millisecond)
		}
		// Each hog asked for its 150 MB; the parent's bound held, so the
		// kernel killed some of them (as their own limit never would).
		for i, c := range hogging {
			if !c.waitFor(time.Minute, func() bool { return bytes.Contains(c.out, []byte(strconv.Itoa(hogBytes))) }) && c.closeCodeNow() == 0 {
				t.Fatalf("hog %d neither allocated nor died within a minute", i)
			}
		}
		// A new session, while the survivors still spin: it gets its share
		// of the parent's CPU. Not while the parent is at its memory bound
		// and the kernel has yet to pick a victim: every allocation in the
		// parent then waits on reclaim, and under gVisor a new session's
		// first 1+1 was seen to take over 10 s then (docs/security.md).
		fresh, _ := a.s.openSession(t, defaultCols, defaultRows)
		took := time.Now()
		requireEval(t, fresh, "1+1", "2")
		if d := time.Since(took); d > newSessionBound {
			t.Errorf("a new session's 1+1 took %v with the parent's CPU saturated, want at most %v", d.Round(time.Millisecond), newSessionBound)
		} else {
			t.Logf("a new session's first 1+1 took %v with the parent's CPU saturated", d.Round(time.Millisecond))
		}
		var alive, killed int
		for i, c := range hogging {
			if c.closeCodeNow() == 0 {
				alive++
				continue
			}
			killed++
			var exit event
			for _, e := range c.allEvents() {
				if e.Type == "exit" {
					exit = e
				}
			}
			t.Logf("hog %d: %s, close %d", i, exit.raw, c.closeCodeNow())
			// The kernel killed it for the parent's limit, not its own.
			if exit.Reason != "oom" && !(exit.Reason == "exited" && exit.exitCode() == codeOOM) {
				t.Errorf("hog %d ended with %q, want killed by the kernel (oom, or exited 137)", i, exit.raw)
			}
		}
		_, peak, _, ok := cgroupMemory(parent)
		if !ok {
			t.Fatal("the parent cgroup's peak memory could no longer be read")
		}
		t.Logf("%s: %d hogs asked for %d MB each; %d killed, %d alive; the innocent session killed: %v; parent peak %d MiB of %d MiB",
			rt, hogs, hogBytes/1_000_000, killed, alive, innocentKilled, peak>>20, sandboxesMemory>>20)
		if peak > sandboxesMemory+1<<20 { // max_usage counts in whole pages past the limit
			t.Errorf("the parent cgroup peaked at %d MiB, over its %d MiB", peak>>20, sandboxesMemory>>20)
		}
		if killed == 0 {
			t.Errorf("no hog was killed: %d x %d MB fit in the parent's %d MiB?", hogs, hogBytes/1_000_000, sandboxesMemory>>20)
		}
		if cpuAfter, _, ok := cgroupCPUTime(parent); cpuOK && ok {
			cores := float64(cpuAfter-cpuBefore) / float64(time.Since(start))
			t.Logf("%s: all sandboxes together used %.2f cores (parent quota %.1f)", rt, cores, sandboxesCPUs)
			if cores > sandboxesCPUs*1.25 {
				t.Errorf("all sandboxes together used %.2f cores, over the parent's quota of %.1f", cores, sandboxesCPUs)
			}
		} else {
			cgroupMissing(t, "CPU time of the parent cgroup", cpuTried)
		}
		for _, c := range hogging {
			c.closeNormally()
		}
		for _, id := range sessions {
			requireSessionGone(t, id, 10*time.Second)
		}
	})
}

// innocentProbe is the innocent session's 1+1 while the hogs allocate
// and spin, and reports whether it answered. Under runc it must, within
// innocentBound. Under runsc the kernel, choosing a victim for the
// parent's bound among every sandbox in it, has been seen to pick the
// innocent session's sandbox rather than a hog's (docs/security.md, "The
// host as a whole"): that session must then end as a kernel kill (oom,
// close 4006), never hang or answer wrongly, and the new session that
// follows is the proof that the host held.
func innocentProbe(t *testing.T, a *arena) bool {
	t.Helper()
	if a.rt != "runsc" {
		a.innocentAnswers(t)
		return true
	}
	c := a.innocent
	start := time.Now()
	if c.trySend("1+1\r") == nil {
		if got, ok := c.tryMatch(idlePrompt, innocentBound); ok {
			if !strings.Contains(got, "\n2") {
				t.Errorf("the innocent session's 1+1 printed %q, want 2", got)
			}
			return true
		}
	}
	if code := c.closeCodeNow(); code == 4006 {
		t.Logf("runsc: the kernel picked the innocent session's sandbox for the parent's bound after %v", time.Since(start).Round(time.Millisecond))
		return false
	} else if code != 0 {
		t.Errorf("the innocent session ended with close %d during the attack, want 4006 if the kernel picked it", code)
		return false
	}
	t.Errorf("the innocent session's 1+1 got no answer within %v during the attack", innocentBound)
	return false
}

// requireHealthy fails the test unless /healthz answers 200 within d.
func requireHealthy(t *testing.T, s *testServer, d time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := httpClient.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != 200 || took > d {
		t.Errorf("/healthz answered %s after %v, want 200 within %v", resp.Status, took.Round(time.Millisecond), d)
	}
}

func readInt(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

// removeCgroup removes a parent cgroup the server created, in every
// controller, once its sandboxes are gone (their cgroups first).
func removeCgroup(t *testing.T, name string) {
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return
	}
	for _, e := range entries {
		dir := filepath.Join("/sys/fs/cgroup", e.Name(), name)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		subs, _ := os.ReadDir(dir)
		for _, s := range subs {
			if s.IsDir() {
				os.Remove(filepath.Join(dir, s.Name()))
			}
		}
		if err := os.Remove(dir); err != nil {
			t.Logf("remove cgroup %s: %v", dir, err)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sysprobeImage is a test-only copy of the sandbox image with the static
// program in testdata/sysprobe at /usr/local/bin/sysprobe, on the read-only
// root where it may run. It is built once per test binary and removed by
// the cleanup of the test that first asked for it.
var sysprobeImage = struct {
	once sync.Once
	tag  string
	err  error
}{}

func buildSysprobeImage(t *testing.T) string {
	t.Helper()
	sysprobeImage.once.Do(func() {
		dir := t.TempDir()
		bin := filepath.Join(dir, "sysprobe")
		root, err := moduleRoot()
		if err != nil {
			sysprobeImage.err = err
			return
		}
		build := exec.Command("go", "build", "-o", bin, "./e2e/testdata/sysprobe")
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := build.CombinedOutput(); err != nil {
			sysprobeImage.err = fmt.Errorf("build sysprobe: %v: %s", err, out)
			return
		}
		tag := "iexbox-sandbox:e2e-sysprobe-" + randomHex(4)
		id, err := execOutput("docker", "create", sandboxImage)
		if err != nil {
			sysprobeImage.err = err
			return
		}
		id = strings.TrimSpace(id)
		defer exec.Command("docker", "rm", "-f", id).Run()
		if _, err := execOutput("docker", "cp", bin, id+":/usr/local/bin/sysprobe"); err != nil {
			sysprobeImage.err = err
			return
		}
		if _, err := execOutput("docker", "commit", id, tag); err != nil {
			sysprobeImage.err = err
			return
		}
		sysprobeImage.tag = tag
		t.Cleanup(func() { exec.Command("docker", "rmi", tag).Run() })
	})
	if sysprobeImage.err != nil {
		t.Fatal(sysprobeImage.err)
	}
	return sysprobeImage.tag
}

// deniedCalls are the calls iexbox's profile removes from Docker's
// default, in the order sysprobe prints them.
var deniedCalls = []string{"io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key",
	"userfaultfd", "bpf", "perf_event_open", "unshare", "setns", "mount", "umount2", "pivot_root",
	"ptrace", "process_vm_readv", "personality", "name_to_handle_at", "open_by_handle_at"}

// TestSeccompProfile: every call the profile removes is refused from
// inside a session (EPERM, under gVisor too: runsc --oci-seccomp enforces
// the profile in its own kernel), while iex boots and works normally. A
// control under Docker's default profile shows the probe would see the
// difference: there ptrace reaches the kernel (ESRCH for a process it does
// not trace), personality succeeds, and under runc io_uring_setup too.
func TestSeccompProfile(t *testing.T) {
	image := buildSysprobeImage(t)
	forEachRuntime(t, func(t *testing.T, rt string) {
		probe := func(t *testing.T, seccomp bool) map[string]string {
			s := startServer(t, "-runtime", rt, "-image", image, "-pool", "0", "-seccomp="+strconv.FormatBool(seccomp))
			c, _ := s.openSession(t, defaultCols, defaultRows)
			out := c.eval(t, `{out, 0} = System.cmd("/usr/local/bin/sysprobe", []); IO.write(out)`)
			got := map[string]string{}
			for line := range strings.Lines(strings.TrimSuffix(out, ":ok")) {
				if name, res, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
					got[name] = res
				}
			}
			if seccomp {
				// iex under the profile: evaluation, processes, ports, files.
				requireEval(t, c, "Enum.reduce(1..1_000_000, 0, &+/2)", "500000500000")
				requireEval(t, c, `Task.async_stream(1..50, &(&1 * 2)) |> Enum.map(fn {:ok, v} -> v end) |> Enum.sum()`, "2550")
				requireEval(t, c, `System.cmd("echo", ["spawned"])`, `{"spawned\n", 0}`)
				requireEval(t, c, `File.write!("/tmp/f", "x"); File.read!("/tmp/f")`, `"x"`)
			}
			return got
		}
		t.Run("iexbox profile", func(t *testing.T) {
			got := probe(t, true)
			for _, name := range deniedCalls {
				if got[name] != "EPERM" {
					t.Errorf("%s: %q, want EPERM", name, got[name])
				}
			}
			// Namespaces through clone3, whose flags seccomp cannot read.
			// Under runc the profile answers clone3 with ENOSYS (glibc
			// falls back to clone, whose namespace flags the profile
			// refuses), so no namespace is made. Under runsc clone3 must
			// be allowed (runsc answers any errno as EPERM, see below, and
			// glibc would not fall back): gVisor's own kernel decides, and
			// it makes a user and a mount namespace inside the sandbox
			// for an unprivileged uid, and refuses the others.
			want := map[string]string{"newuser": "ENOSYS", "newns": "ENOSYS", "newpid": "ENOSYS",
				"newnet": "ENOSYS", "newuts": "ENOSYS", "newipc": "ENOSYS", "newcgroup": "ENOSYS"}
			if rt == "runsc" {
				want = map[string]string{"newuser": "ok", "newns": "ok", "newpid": "EPERM",
					"newnet": "EPERM", "newuts": "EPERM", "newipc": "EPERM", "newcgroup": "EINVAL"}
			}
			for ns, res := range want {
				if got["clone3_"+ns] != res {
					t.Errorf("clone3 with CLONE_%s under %s: %q, want %s", strings.ToUpper(ns), rt, got["clone3_"+ns], res)
				}
			}
		})
		if rt == "runsc" {
			t.Run("runsc answers a rule's errno as EPERM", func(t *testing.T) {
				requireClone3Errno(t, image)
			})
		}
		t.Run("Docker's default profile (control)", func(t *testing.T) {
			got := probe(t, false)
			t.Logf("under Docker's default profile: %v", got)
			want := map[string]string{"ptrace": "ESRCH", "personality": "ok"}
			if rt == "runc" {
				want["io_uring_setup"] = "ok"
			}
			for name, res := range want {
				if got[name] != res {
					t.Errorf("%s: %q under Docker's default profile, want %s (the call reaches the kernel)", name, got[name], res)
				}
			}
		})
	})
}

// TestSandboxUIDs: live sandboxes run as uids of their own from the
// -uid-base range, never root, and two servers sharing the engine never
// hand out the same uid: each claims a range of its own on the engine, and
// gives the claim back when it stops.
func TestSandboxUIDs(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		servers := []*testServer{
			startServer(t, "-runtime", rt, "-pool", "1"),
			startServer(t, "-runtime", rt, "-pool", "1"),
		}
		seen := map[string]string{} // uid: the instance whose sandbox ran as it
		var sessions []*wsClient
		for _, s := range servers {
			for range 3 {
				c, _ := s.openSession(t, defaultCols, defaultRows)
				sessions = append(sessions, c)
				uid := c.eval(t, `:os.cmd(~c"id -u") |> to_string() |> String.trim() |> String.to_integer()`)
				status := c.eval(t, `File.read!("/proc/self/status") |> String.split("\n") |> Enum.find(&String.starts_with?(&1, "Uid:")) |> String.split() |> tl() |> Enum.uniq()`)
				if n, err := strconv.Atoi(uid); err != nil || n < 100000 {
					t.Errorf("id -u printed %s, want a uid of at least 100000", uid)
				}
				if status != fmt.Sprintf(`["%s"]`, uid) {
					t.Errorf("Uid line %s, want real, effective, saved and file-system uid %s", status, uid)
				}
				if other, ok := seen[uid]; ok {
					t.Errorf("uid %s is held by two live sandboxes (instances %s and %s)", uid, other, s.Instance)
				}
				seen[uid] = s.Instance
			}
		}
		t.Logf("%s: live sandboxes of two servers ran as uids %v", rt, seen)
		for _, c := range sessions {
			c.closeNormally()
		}
		for _, s := range servers {
			s.stop(t)
			if out, err := execOutput("docker", "ps", "-aq", "--filter", "label=iexbox.uids="+s.Instance); err != nil || strings.TrimSpace(out) != "" {
				t.Errorf("uid claim of %s left after it stopped: %q %v", s.Instance, out, err)
			}
		}
	})
}

// TestRunscFailedStartsLeaveNothing: containers that gVisor fails to create
// or to start leave no runsc-sandbox or runsc-gofer process behind, whether
// started by hand or by the server's probe (-runtime auto), which then
// falls back to runc with a warning.
func TestRunscFailedStartsLeaveNothing(t *testing.T) {
	if !slices.Contains(runtimesUnderTest(), "runsc") {
		t.Skip("runsc is not among " + runtimesEnv)
	}
	requireRuntime(t, "runsc")
	t.Run("by hand", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
		}{
			{"create fails: pids limit 1", []string{"--pids-limit", "1", sandboxImage, "true"}},
			{"create fails: memory 7m", []string{"--memory", "7m", sandboxImage, "iex"}},
			{"start fails: no such program", []string{sandboxImage, "/nonexistent"}},
			{"start fails: nofile 1", []string{"--ulimit", "nofile=1", sandboxImage, "true"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				name := "iexbox-e2e-runsc-fail-" + randomHex(4)
				args := append([]string{"run", "--name", name, "--runtime", "runsc", "--network", "none"}, tc.args...)
				if out, err := execOutput("docker", args...); err == nil {
					t.Fatalf("docker run succeeded (%q): this case no longer fails", out)
				}
				id := dockerInspect(t, name, "{{.Id}}")
				t.Logf("state after the failure: %s", dockerInspect(t, name, "{{.State.Status}} {{.State.Error}}"))
				if _, err := execOutput("docker", "rm", "-f", name); err != nil {
					t.Fatal(err)
				}
				requireNoRunscProcesses(t, id)
			})
		}
	})
	t.Run("server probe", func(t *testing.T) {
		before := runscContainers()
		// -pids 1 cannot start gVisor's sandbox: the probe fails.
		s := startServer(t, "-runtime", "auto", "-pids", "1", "-pool", "0")
		st := s.status(t)
		if st.Runtime != "runc" || len(st.Warnings) == 0 || !strings.Contains(strings.Join(st.Warnings, " "), "runsc") {
			t.Errorf("/status runtime %q, warnings %q: want runc and a warning about runsc", st.Runtime, st.Warnings)
		}
		// Processes of a container that no longer exists are leftovers.
		for id := range runscContainers() {
			if !before[id] {
				if _, err := execOutput("docker", "inspect", id); err != nil {
					requireNoRunscProcesses(t, id)
				}
			}
		}
	})
}

// requireNoRunscProcesses fails if a runsc-sandbox or runsc-gofer process
// of the container is still there after a few seconds.
func requireNoRunscProcesses(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := exec.Command("pgrep", "-af", "runsc-(sandbox|gofer).*"+id).Output()
		if len(strings.TrimSpace(string(out))) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("gVisor processes of removed container %.12s left behind:\n%s", id, out)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// runscContainers is the set of container ids that runsc-sandbox or
// runsc-gofer processes run for (their log path names it).
func runscContainers() map[string]bool {
	out, _ := exec.Command("pgrep", "-af", "runsc-(sandbox|gofer)").Output()
	ids := map[string]bool{}
	for _, f := range strings.Fields(string(out)) {
		for _, part := range strings.Split(f, "/") {
			if len(part) == 64 && strings.Trim(part, "0123456789abcdef") == "" {
				ids[part] = true
			}
		}
	}
	return ids
}

// TestAutoPicksRunsc: where runsc is registered and works, -runtime auto
// (the default) runs every sandbox under gVisor, and says nothing to warn
// about. (TestRunscFailedStartsLeaveNothing/server_probe covers the
// fallback to runc.)
func TestAutoPicksRunsc(t *testing.T) {
	if !slices.Contains(runtimesUnderTest(), "runsc") {
		t.Skip("runsc is not among " + runtimesEnv)
	}
	requireRuntime(t, "runsc")
	s := startServer(t, "-pool", "0") // -runtime auto is the default
	st := s.status(t)
	if st.Runtime != "runsc" || len(st.Warnings) > 0 {
		t.Errorf("/status runtime %q, warnings %q: want runsc and none", st.Runtime, st.Warnings)
	}
	c, ready := s.openSession(t, defaultCols, defaultRows)
	if ready.Runtime != "runsc" {
		t.Errorf("ready %s, want runtime runsc", ready.raw)
	}
	// gVisor's own /proc entry: the sandbox really is under gVisor.
	requireEval(t, c, `File.exists?("/proc/gvisor")`, "true")
}

// requireClone3Errno checks why clone3 stays allowed under runsc: with
// iexbox's profile changed to answer clone3 with ENOSYS (what Docker's
// default does, so that glibc falls back to clone), runsc answers EPERM
// instead, and the BEAM cannot create a thread. Should a runsc honour the
// errno, this fails, and clone3 can be answered with ENOSYS there too.
func requireClone3Errno(t *testing.T, image string) {
	t.Helper()
	s := startServer(t, "-runtime", "runsc", "-image", image, "-pool", "0")
	_, ready := s.openSession(t, defaultCols, defaultRows)
	ids := containersLabelled(t, labelSession+"="+ready.Session)
	if len(ids) != 1 {
		t.Fatalf("containers of the session: %v", ids)
	}
	var opts []string
	if err := json.Unmarshal([]byte(dockerInspect(t, ids[0], "{{json .HostConfig.SecurityOpt}}")), &opts); err != nil {
		t.Fatal(err)
	}
	var profile map[string]any
	for _, o := range opts {
		if p, ok := strings.CutPrefix(o, "seccomp="); ok {
			if err := json.Unmarshal([]byte(p), &profile); err != nil {
				t.Fatalf("the session's seccomp profile: %v", err)
			}
		}
	}
	if profile == nil {
		t.Fatalf("no seccomp profile in the session's security options %q", opts)
	}
	changed := false
	for _, sc := range profile["syscalls"].([]any) {
		rule := sc.(map[string]any)
		if names, _ := rule["names"].([]any); len(names) == 1 && names[0] == "clone3" {
			rule["action"], rule["errnoRet"] = "SCMP_ACT_ERRNO", 38 // ENOSYS
			changed = true
		}
	}
	if !changed {
		t.Fatal("the runsc profile has no rule of its own for clone3")
	}
	b, _ := json.Marshal(profile)
	path := filepath.Join(t.TempDir(), "clone3-enosys.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		out, _ := execOutput("docker", append([]string{"run", "--rm", "--runtime", "runsc", "--network", "none",
			"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--security-opt", "seccomp=" + path,
			"--user", "100000:100000", "-e", "HOME=/tmp", image}, args...)...)
		return out
	}
	if out := run("/usr/local/bin/sysprobe"); !strings.Contains(out, "clone3_newuser EPERM") {
		t.Errorf("clone3 under a rule answering ENOSYS, under runsc: %q, want EPERM (errno not honoured)", tail(out))
	}
	if out := run("elixir", "-e", `IO.puts(:booted)`); strings.Contains(out, "booted") {
		t.Errorf("the BEAM booted with clone3 answered by a rule (%q): runsc may honour the errno now", tail(out))
	}
}
