package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds on the server process.
const (
	// serverStartWait bounds the start-up: Docker checks, the sweep of
	// leftovers, then /healthz; on Kubernetes, probe Pods too (several
	// seconds each under gVisor on a busy machine).
	serverStartWait = 90 * time.Second
	// serverStopWait bounds the exit after SIGTERM: the server's
	// -shutdown-timeout for its sessions, then the Docker backend's sweep
	// of what is left (at most 30 s, internal/docker closeSweepTimeout),
	// and slack. Forty sessions of each runtime ending at once on a
	// loaded 2-core machine were seen to need more than 15 s.
	serverStopWait  = 45 * time.Second
	shutdownTimeout = "10s"
	// leftoverWait is how long the end-of-test check polls for containers
	// of the test's instance to disappear.
	leftoverWait = 3 * time.Second
)

// defaultPool is the warm pool size tests run with unless they say: one
// warm sandbox exercises the pool without booting several per test on a
// small machine.
const defaultPool = "1"

// Container labels the server puts on every container.
const (
	labelInstance = "iexbox.instance"
	labelSession  = "iexbox.session"
)

// testServer is one iexbox process started by startServer.
type testServer struct {
	Addr     string // host:port it listens on, loopback
	Instance string // its -instance, the iexbox.instance label of its containers
	// toolchain is the toolchain its clients' sessions run unless a test
	// names one: the one in IEXBOX_E2E_TOOLCHAIN, or none (default).
	toolchain string

	cmd      *exec.Cmd
	exited   chan struct{} // closed once the process has exited
	exitErr  error         // from cmd.Wait, valid once exited is closed
	stopOnce sync.Once
	killed   bool      // ended on purpose by kill: its exit status is not checked
	logs     logBuffer // what it printed, also in the test's output
}

// startServer runs the iexbox binary on a free loopback port with a unique
// instance name (unless flags hold -instance) and the given flags, which win
// over the defaults set here. It returns once /healthz answers. Its logs go
// to the test's output. The cleanup stops it with SIGTERM, requires a clean
// exit, and fails the test if any container of its instance is left.
func startServer(t *testing.T, flags ...string) *testServer {
	t.Helper()
	return startServerEnv(t, nil, flags...)
}

// startServerEnv is startServer with extra environment variables (such as
// IEXBOX_TOKEN_SECRET) for the server process.
func startServerEnv(t *testing.T, env []string, flags ...string) *testServer {
	t.Helper()
	requireDocker(t)
	s := &testServer{Addr: freeAddr(t), exited: make(chan struct{})}
	// A data folder of its own (the recordings' store), unless flags name one.
	args := []string{"-addr", s.Addr, "-shutdown-timeout", shutdownTimeout, "-log-level", "debug",
		"-pool", defaultPool, "-data", t.TempDir()}
	if tc := os.Getenv(toolchainEnv); tc != "" && !slices.Contains(flags, "-toolchains") && !slices.Contains(flags, "-image") {
		// The suite again, every session in this toolchain (tests that
		// name their own toolchains or image keep them).
		dir := toolchainsDir(t)
		requireToolchainImages(t, dir)
		args = append(args, "-toolchains", dir)
		s.toolchain = tc
	}
	if i := slices.Index(flags, "-instance"); i >= 0 && i+1 < len(flags) {
		s.Instance = flags[i+1]
	} else {
		s.Instance = uniqueInstance(t)
		args = append(args, "-instance", s.Instance)
	}
	s.cmd = exec.Command(serverBinary, append(args, flags...)...)
	s.cmd.Env = append(serverEnv(), env...)
	s.cmd.Stdout = io.MultiWriter(t.Output(), &s.logs)
	s.cmd.Stderr = s.cmd.Stdout // one pipe, so lines keep their order
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", serverBinary, err)
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stop(t)
		s.requireNoContainers(t)
	})
	s.waitHealthy(t)
	return s
}

// requireDocker skips the test when TestMain found no usable Docker Engine.
func requireDocker(t *testing.T) {
	t.Helper()
	if dockerProblem != "" {
		t.Skip("e2e needs Docker: " + dockerProblem)
	}
}

// requireRuntime skips the test unless the Docker Engine has the OCI
// runtime (runsc is there once scripts/gvisor-up.sh has run), except under
// CI=true, where a missing runtime fails the test.
func requireRuntime(t *testing.T, name string) {
	t.Helper()
	requireDocker(t)
	out, err := exec.Command("docker", "info", "--format", "{{json .Runtimes}}").Output()
	if err != nil {
		t.Fatalf("docker info: %v", err)
	}
	var runtimes map[string]json.RawMessage
	if err := json.Unmarshal(out, &runtimes); err != nil {
		t.Fatalf("docker info runtimes %q: %v", out, err)
	}
	if _, ok := runtimes[name]; !ok {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Docker Engine has no %s runtime (CI=true: make test sets it up)", name)
		}
		t.Skipf("the Docker Engine has no %s runtime", name)
	}
}

// serverEnv is this process's environment without IEXBOX_* variables, so
// that only the flags a test passes configure the server.
func serverEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "IEXBOX_")
	})
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var unsafeInstanceChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// uniqueInstance is e2e-<test name>-<random>, within the server's 63
// character limit for instance names.
func uniqueInstance(t *testing.T) string {
	name := strings.Trim(unsafeInstanceChars.ReplaceAllString(t.Name(), "-"), "-.")
	if len(name) > 44 {
		name = name[:44]
	}
	b := make([]byte, 4)
	rand.Read(b)
	return "e2e-" + name + "-" + hex.EncodeToString(b)
}

// URL is the server's base URL.
func (s *testServer) URL() string { return "http://" + s.Addr }

// httpClient never uses a proxy: every request goes to loopback.
var httpClient = &http.Client{
	Transport: &http.Transport{Proxy: nil},
	Timeout:   5 * time.Second,
}

func (s *testServer) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(serverStartWait)
	for {
		resp, err := httpClient.Get(s.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("server exited during start-up: %v", s.exitErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200 within %v (last error: %v)", serverStartWait, err)
		}
	}
}

// serverStatus is the part of /status the tests read.
type serverStatus struct {
	Runtime  string
	Warnings []string
	Sessions struct{ Active, Max int }
	Pool     *struct {
		Size, Ready, Starting, Target, Max, Queued int
		Reason                                     string
	}
}

// status fetches /status.
func (s *testServer) status(t *testing.T) (st serverStatus) {
	t.Helper()
	resp, err := httpClient.Get(s.URL() + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("decode /status: %v", err)
	}
	return st
}

// waitStatus polls /status until cond holds, failing after timeout.
func (s *testServer) waitStatus(t *testing.T, what string, timeout time.Duration, cond func(serverStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := s.status(t)
		if cond(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/status: not %s within %v: %+v", what, timeout, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitPoolReady waits until the warm pool holds a booted sandbox, so the
// next session gets a warm one.
func (s *testServer) waitPoolReady(t *testing.T) {
	t.Helper()
	s.waitStatus(t, "a warm sandbox ready", readyWait, func(st serverStatus) bool {
		return st.Pool != nil && st.Pool.Ready > 0
	})
}

// signal sends sig to the server process.
func (s *testServer) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal server: %v", err)
	}
}

// waitExit waits up to d for the process to exit and reports whether it did.
func (s *testServer) waitExit(d time.Duration) bool {
	select {
	case <-s.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// stop ends the server with SIGTERM, as an operator would, and fails the
// test unless it exits cleanly within serverStopWait. It is idempotent.
func (s *testServer) stop(t *testing.T) {
	t.Helper()
	s.stopOnce.Do(func() {
		select {
		case <-s.exited: // already gone: died, or killed on purpose
		default:
			s.signal(t, syscall.SIGTERM)
			if !s.waitExit(serverStopWait) {
				s.cmd.Process.Kill()
				<-s.exited
				t.Errorf("server did not exit within %v of SIGTERM", serverStopWait)
				return
			}
		}
		if s.exitErr != nil && !s.killed {
			t.Errorf("server exited with %v", s.exitErr)
		}
	})
}

// kill ends the server with SIGKILL, as a crash would, leaving whatever it
// ran behind.
func (s *testServer) kill(t *testing.T) {
	t.Helper()
	s.killed = true
	s.signal(t, syscall.SIGKILL)
	if !s.waitExit(serverStopWait) {
		t.Fatal("server did not die of SIGKILL")
	}
}

// containers lists the ids of the containers, running or not, of this
// server's instance.
func (s *testServer) containers(t *testing.T) []string {
	t.Helper()
	return containersLabelled(t, labelInstance+"="+s.Instance)
}

// requireNoContainers fails the test if a container of this instance is
// still there after leftoverWait, and removes it so it cannot leak further.
func (s *testServer) requireNoContainers(t *testing.T) {
	t.Helper()
	label := labelInstance + "=" + s.Instance
	if _, ok := waitNoContainers(t, label, leftoverWait); ok {
		return
	}
	ids := containersLabelled(t, label)
	t.Errorf("containers of instance %s left behind: %v", s.Instance, ids)
	if len(ids) > 0 {
		exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
}

// containersLabelled lists the ids of all containers, running or not,
// with the label (key=value).
func containersLabelled(t *testing.T, label string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "-q", "--no-trunc", "--filter", "label="+label).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// waitNoContainers polls until no container has the label (key=value) or
// within has passed. It reports how long that took and whether it happened.
func waitNoContainers(t *testing.T, label string, within time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for {
		if len(containersLabelled(t, label)) == 0 {
			return time.Since(start), true
		}
		if time.Since(start) > within {
			return time.Since(start), false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireSessionGone fails the test unless the container of the session
// disappears within d.
func requireSessionGone(t *testing.T, sessionID string, d time.Duration) {
	t.Helper()
	took, ok := waitNoContainers(t, labelSession+"="+sessionID, d)
	if !ok {
		t.Fatalf("container of session %s still there %v after the session ended", sessionID, took.Round(time.Millisecond))
	}
	t.Logf("container of session %s gone after %v", sessionID, took.Round(time.Millisecond))
}

// logBuffer keeps what a server printed. It is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// String is everything written so far.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
