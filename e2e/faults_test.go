package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"iexbox/internal/client"
)

// Faults: the Docker Engine going away and coming back, the server killed
// under load, and sandboxes that cannot start.

// Bounds of the Docker Engine outage test.
const (
	// engineStartWait bounds a private dockerd's start (and restart) until
	// it answers.
	engineStartWait = 60 * time.Second
	// engineStopWait bounds its exit after a signal.
	engineStopWait = 30 * time.Second
	// recoverWait bounds the server's recovery once dockerd answers.
	recoverWait = 15 * time.Second
)

// privateEngine is a Docker Engine of the test's own, beside the machine's:
// the same dockerd, with its own socket, state and containerd, so that
// killing it disturbs no one else's tests or benchmarks. Its containers
// are killed with it and found again when it restarts, as the machine's
// would be.
type privateEngine struct {
	Host string // DOCKER_HOST for it

	args    []string
	dir     string // its state; removed at cleanup
	run     string // its runtime state (short: socket paths live there)
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// startPrivateEngine starts a private dockerd, loads the sandbox image into
// it from the machine's engine, and stops and removes it all at cleanup.
func startPrivateEngine(t *testing.T) *privateEngine {
	t.Helper()
	requireDocker(t)
	if _, err := exec.LookPath("dockerd"); err != nil {
		t.Skip("no dockerd to run a private Docker Engine with")
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "iexbox-e2e-" + hex.EncodeToString(b)
	e := &privateEngine{dir: filepath.Join("/var/lib", name), run: filepath.Join("/run", name)}
	e.Host = "unix://" + filepath.Join(e.run, "docker.sock")
	e.logPath = filepath.Join(t.TempDir(), "dockerd.log")
	config := filepath.Join(t.TempDir(), "daemon.json") // not the machine's: no hosts, no runtimes
	if err := os.WriteFile(config, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.args = []string{"--config-file", config, "-H", e.Host,
		"--data-root", filepath.Join(e.dir, "data"), "--exec-root", filepath.Join(e.run, "exec"),
		"--pidfile", filepath.Join(e.run, "dockerd.pid"),
		"--bridge", "none", "--iptables=false", "--ip-masq=false"}
	t.Cleanup(func() { e.remove(t) })
	e.start(t)

	save := exec.Command("docker", "save", sandboxImage)
	load := exec.Command("docker", "-H", e.Host, "load", "-q")
	pipe, err := save.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	load.Stdin = pipe
	if err := save.Start(); err != nil {
		t.Fatal(err)
	}
	out, loadErr := load.CombinedOutput()
	if err := errors.Join(save.Wait(), loadErr); err != nil {
		t.Fatalf("load %s into the private engine: %v: %s", sandboxImage, err, out)
	}
	return e
}

// start runs dockerd and waits until it answers.
func (e *privateEngine) start(t *testing.T) {
	t.Helper()
	// dockerd kills its containerd when it dies; one killed dies with it,
	// and its containerd can stay a zombie a while (whoever inherits it
	// reaps it): a new dockerd would wait for that one's socket in vain.
	pidFile := filepath.Join(e.run, "exec", "containerd", "containerd.pid")
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || !alive(pid) {
			os.Remove(pidFile)
		}
	}
	logFile, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	e.cmd = exec.Command("dockerd", e.args...)
	e.cmd.Stdout, e.cmd.Stderr = logFile, logFile
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // no terminal signals
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	e.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { // reaps it: no zombie
		cmd.Wait()
		close(exited)
	}(e.cmd, e.exited)
	deadline := time.Now().Add(engineStartWait)
	for exec.Command("docker", "-H", e.Host, "version", "--format", "{{.Server.Version}}").Run() != nil {
		select {
		case <-e.exited:
			t.Fatalf("the private dockerd exited at start; its log:\n%s", e.log())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the private dockerd did not answer within %v; its log:\n%s", engineStartWait, e.log())
		}
	}
}

// running reports whether dockerd runs.
func (e *privateEngine) running() bool {
	if e.cmd == nil {
		return false
	}
	select {
	case <-e.exited:
		return false
	default:
		return true
	}
}

// stop ends dockerd with sig and waits until it has exited.
func (e *privateEngine) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if !e.running() {
		return
	}
	e.cmd.Process.Signal(sig)
	select {
	case <-e.exited:
	case <-time.After(engineStopWait):
		e.cmd.Process.Kill()
		<-e.exited
		t.Errorf("the private dockerd still ran %v after %v", engineStopWait, sig)
	}
}

func (e *privateEngine) log() string {
	b, _ := os.ReadFile(e.logPath)
	return string(b)
}

// remove stops the engine as an operator would (SIGTERM stops its
// containers), ends whatever of it is left (containerd, shims), and
// removes its state.
func (e *privateEngine) remove(t *testing.T) {
	t.Helper()
	e.stop(t, syscall.SIGTERM)
	for _, pid := range processesMentioning(e.run) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if data, err := os.ReadFile("/proc/mounts"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) > 1 && (strings.HasPrefix(f[1], e.dir) || strings.HasPrefix(f[1], e.run)) {
				syscall.Unmount(f[1], syscall.MNT_DETACH)
			}
		}
	}
	for _, dir := range []string{e.dir, e.run} {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove the private engine's %s: %v", dir, err)
		}
	}
	if t.Failed() {
		t.Logf("the private dockerd's log:\n%s", e.log())
	}
}

// alive reports whether process pid runs: it exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, so cut at the last ')'.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// processesMentioning lists the processes whose command line holds s.
func processesMentioning(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if cmdline, err := os.ReadFile(filepath.Join("/proc", entry.Name(), "cmdline")); err == nil && strings.Contains(string(cmdline), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestDockerEngineRestart: dockerd is stopped under a live session (kill,
// as an operator's restart does, and kill -9, as a crash does) and
// started again. The session ends with error, new sessions are refused
// with unavailable at once, /readyz says not ready; once the engine is
// back the server serves again without a restart, removes what the outage
// left behind, and refills its pool.
//
// The engine is a private one (see privateEngine): stopping the machine's
// would break everyone else's tests and benchmarks on it.
func TestDockerEngineRestart(t *testing.T) {
	engine := startPrivateEngine(t)
	t.Setenv("DOCKER_HOST", engine.Host) // for the servers, and for docker ps here
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) { engineOutage(t, engine, sig) })
	}
}

func engineOutage(t *testing.T, engine *privateEngine, sig syscall.Signal) {
	s := startServer(t, "-runtime", "runc", "-pool", "1")
	t.Cleanup(func() { // runs before the server's own cleanup, which needs the engine
		if !engine.running() {
			engine.start(t)
		}
	})
	s.waitPoolReady(t)
	c, ready := s.openSession(t, defaultCols, defaultRows)
	if got := c.eval(t, "1+1"); got != "2" {
		t.Fatalf("1+1 printed %q", got)
	}
	s.waitPoolReady(t) // a warm sandbox to lose with the engine

	down := time.Now()
	engine.stop(t, sig)
	t.Logf("dockerd gone %v after %v", time.Since(down).Round(time.Millisecond), sig)

	// A crashed engine takes the session's stream with it: error. One that
	// stops cleanly stops each container first (as docker stop does), and
	// the session may see iex exit before the engine goes.
	exit := c.waitEvent(t, "exit", eventWait)
	switch {
	case exit.Reason == "error":
		c.requireClose(t, 1011, eventWait)
	case exit.Reason == "exited" && sig == syscall.SIGTERM:
		c.requireClose(t, closeExited, eventWait)
	default:
		t.Errorf("exit %s when the engine went (%v), want reason error", exit.raw, sig)
	}
	if body, took := s.waitReadyz(t, http.StatusServiceUnavailable, 5*time.Second); !strings.Contains(body, "docker") {
		t.Errorf("/readyz = 503 %q after %v, want the reason to name Docker", body, took)
	}
	// The warm sandbox died with the engine: a new session must not hang
	// on it, nor on the engine.
	if e, took := requireRefusedUnavailable(t, s, eventWait); took > 3*time.Second {
		t.Errorf("refused after %v (%s), want at once", took, e.raw)
	}

	engine.start(t)
	back := time.Now()
	t.Logf("Docker Engine down for %v", back.Sub(down).Round(time.Millisecond))
	_, took := s.waitReadyz(t, http.StatusOK, recoverWait)
	t.Logf("/readyz 200 %v after the engine answered", took.Round(time.Millisecond))

	// What the restart left (dockerd without live-restore kills running
	// containers when it starts, and keeps them) is removed by the server.
	requireSessionGone(t, ready.Session, recoverWait)
	t.Logf("the dead session's container removed %v after the engine answered", time.Since(back).Round(time.Millisecond))

	// The warm sandbox died with the engine; the pool still counts it
	// until a session finds it dead and boots a cold one instead.
	t.Logf("pool after the engine's return: %+v", *s.status(t).Pool)
	after, _ := s.openSession(t, defaultCols, defaultRows)
	if got := after.eval(t, "2+3"); got != "5" {
		t.Errorf("2+3 after the engine's return printed %q, want 5", got)
	}
	// The pool refills with a live sandbox, and nothing else of the
	// instance is there: the session's and the warm one, both running.
	s.waitStatus(t, "the pool refilled", readyWait, func(st serverStatus) bool {
		return st.Pool != nil && st.Pool.Ready == 1 && st.Pool.Starting == 0
	})
	deadline := time.Now().Add(recoverWait)
	for {
		all, running := s.containers(t), s.runningContainers(t)
		if len(all) == 2 && len(running) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d containers of the instance (%d running) %v after the engine's return, want 2 running: the session's and the warm one", len(all), len(running), recoverWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	after.closeNormally()
}

// openSessionAsync opens a session as openSession does, but reports a
// failure instead of ending the test, so it may run in any goroutine.
func (s *testServer) openSessionAsync(t *testing.T) (*wsClient, event, error) {
	c, resp, err := s.newClient(t, client.Options{})
	if err != nil {
		return nil, event{}, fmt.Errorf("dial: %v (response: %v)", err, responseSummary(resp))
	}
	if err := c.conn.Hello(client.Hello{Cols: defaultCols, Rows: defaultRows}); err != nil {
		return nil, event{}, err
	}
	ready, ok := c.nextEvent("ready", readyWait)
	if !ok {
		return nil, event{}, fmt.Errorf("no ready within %v; events: %s", readyWait, c.eventLog())
	}
	if !c.waitFor(readyWait, func() bool { return idlePrompt.MatchString(cleanOutput(c.out)) }) {
		return nil, event{}, fmt.Errorf("no prompt within %v", readyWait)
	}
	return c, ready, nil
}

// TestCrashUnderLoad: a server killed with 50 live sessions (some
// printing, the pool refilling) leaves their containers; restarted under
// the same instance name it removes every one before it serves.
func TestCrashUnderLoad(t *testing.T) {
	const sessions, parallel = 50, 6
	first := startServer(t, "-runtime", "runc", "-pool", "2", "-client-sessions", "0", "-client-rate", "0")
	started := time.Now()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		live  []*wsClient
		ids   []string
		fails []error
	)
	sem := make(chan struct{}, parallel)
	for range sessions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, ready, err := first.openSessionAsync(t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails = append(fails, err)
				return
			}
			live, ids = append(live, c), append(ids, ready.Session)
		})
	}
	wg.Wait()
	if err := errors.Join(fails...); err != nil {
		t.Fatalf("%d of %d sessions failed to open: %v", len(fails), sessions, err)
	}
	t.Logf("%d sessions open in %v", sessions, time.Since(started).Round(time.Millisecond))
	for _, c := range live[:10] { // load: output flowing when the server dies
		c.send(t, "Stream.interval(20) |> Stream.each(&IO.puts/1) |> Stream.run()\r")
	}
	for _, c := range live[:10] {
		c.waitOutput(t, "\n3\n", evalWait)
	}

	first.kill(t)
	orphans := first.containers(t)
	for _, id := range ids {
		if n := len(containersLabelled(t, labelSession+"="+id)); n != 1 {
			t.Errorf("after kill -9, %d containers of session %s, want 1 left behind", n, id)
		}
	}
	if len(orphans) < sessions {
		t.Fatalf("%d containers left by the killed server, want at least %d", len(orphans), sessions)
	}

	restart := time.Now()
	second := startServer(t, "-instance", first.Instance, "-runtime", "runc", "-pool", "0")
	t.Logf("restarted and healthy in %v, removing %d orphans", time.Since(restart).Round(time.Millisecond), len(orphans))
	if left := slices.DeleteFunc(second.containers(t), func(id string) bool {
		return !slices.Contains(orphans, id)
	}); len(left) > 0 {
		t.Errorf("%d orphans still there once the restarted server serves: %v", len(left), left)
	}
	if !strings.Contains(second.logs.String(), fmt.Sprintf(`removed leftover containers" count=%d`, len(orphans))) {
		t.Errorf("the restarted server's log does not report removing the %d orphans", len(orphans))
	}
	c, _ := second.openSession(t, defaultCols, defaultRows)
	if got := c.eval(t, "1+1"); got != "2" {
		t.Errorf("1+1 after the restart printed %q, want 2", got)
	}
}

// TestStartFailures: a sandbox that cannot start is refused with
// unavailable at once, the log says why, and nothing is left behind.
func TestStartFailures(t *testing.T) {
	t.Run("image missing at start-up", func(t *testing.T) {
		t.Parallel()
		requireDocker(t)
		instance := uniqueInstance(t)
		ctx, cancel := context.WithTimeout(context.Background(), serverStartWait)
		defer cancel()
		cmd := exec.CommandContext(ctx, serverBinary, "-addr", freeAddr(t), "-instance", instance, "-image", "nosuch:latest")
		cmd.Env = serverEnv()
		out, err := cmd.CombinedOutput()
		t.Logf("server output:\n%s", out)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("server with a missing image: %v, want exit status 1", err)
		}
		if !strings.Contains(string(out), "nosuch:latest") || !strings.Contains(string(out), "make image") {
			t.Errorf("output %q, want it to name the image and `make image`", out)
		}
		if strings.Contains(string(out), "gVisor") {
			t.Errorf("output %q blames gVisor for the missing image", out)
		}
		if ids := containersLabelled(t, labelInstance+"="+instance); len(ids) > 0 {
			t.Errorf("containers left behind: %v", ids)
			exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
	})

	for _, tc := range []struct {
		name, flag, value string
		log               string // what the server's log must say
	}{
		// Docker refuses the create: more CPUs than the host has.
		{"create refused", "-cpus", strconv.Itoa(runtime.NumCPU() + 1), "Range of CPUs"},
		// The create passes, the start fails: above the kernel's nr_open.
		{"start refused", "-nofile", "2000000000", "rlimit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, "-runtime", "runc", "-pool", "1", tc.flag, tc.value)
			for range 2 {
				if _, took := requireRefusedUnavailable(t, s, readyWait); took > 5*time.Second {
					t.Errorf("refused after %v, want at once", took)
				}
			}
			if !strings.Contains(s.logs.String(), tc.log) {
				t.Errorf("the server's log does not say %q", tc.log)
			}
			// Every check passes, but sandboxes do not start: a load
			// balancer must hear that too.
			if body, _ := s.waitReadyz(t, http.StatusServiceUnavailable, 15*time.Second); !strings.Contains(body, "sandbox starts failed") || !strings.Contains(body, tc.log) {
				t.Errorf("/readyz says %q, want it to say starts fail, and why (%q)", body, tc.log)
			}
			// The pool keeps trying (every 2 s), each try removing its
			// container: none may stay.
			if _, ok := waitNoContainers(t, labelInstance+"="+s.Instance, 3*time.Second); !ok {
				t.Errorf("containers left after failed starts: %v", s.containers(t))
			}
			if st := s.status(t); st.Sessions.Active != 0 {
				t.Errorf("%d sessions active after failed starts, want 0", st.Sessions.Active)
			}
		})
	}

	// The image goes while the server runs (an operator cleaning up):
	// readiness says so, and sessions are refused.
	t.Run("image removed while serving", func(t *testing.T) {
		t.Parallel()
		requireDocker(t)
		tag := "iexbox-e2e-" + strings.ToLower(uniqueInstance(t)[4:]) + ":gone"
		if out, err := exec.Command("docker", "tag", sandboxImage, tag).CombinedOutput(); err != nil {
			t.Fatalf("docker tag: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("docker", "rmi", tag).Run() })
		s := startServer(t, "-runtime", "runc", "-pool", "0", "-image", tag)
		c, _ := s.openSession(t, defaultCols, defaultRows)
		if out, err := exec.Command("docker", "rmi", tag).CombinedOutput(); err != nil { // the tag only
			t.Fatalf("docker rmi: %v: %s", err, out)
		}
		body, _ := s.waitReadyz(t, http.StatusServiceUnavailable, 5*time.Second)
		if !strings.Contains(body, "make image") {
			t.Errorf("/readyz says %q, want it to say the image is missing", body)
		}
		requireRefusedUnavailable(t, s, readyWait)
		if got := c.eval(t, "1+1"); got != "2" { // a live session is not disturbed
			t.Errorf("1+1 in the live session printed %q, want 2", got)
		}
		if n := len(s.containers(t)); n != 1 {
			t.Errorf("%d containers of the instance, want 1: the live session's", n)
		}
	})
}
