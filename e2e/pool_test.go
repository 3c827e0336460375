package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"iexbox/internal/client"
)

// The warm pool: sandboxes booted ahead of demand, each handed to one
// session only, refilled in the background and removed on shutdown; and
// flow control, which bounds what a client that never acks can cost.

// Flow-control watermarks of the protocol (docs/protocol.md).
const (
	highWater = 1 << 20
	lowWater  = 256 << 10
)

// warmSize is the terminal size warm sandboxes boot with.
const warmCols, warmRows = 80, 24

// firstPrompt is the raw output up to and including iex's first prompt.
func (c *wsClient) firstPrompt(t *testing.T) []byte {
	t.Helper()
	const prompt = "iex(1)> "
	var out []byte
	if !c.waitFor(readyWait, func() bool {
		i := bytes.Index(c.out, []byte(prompt))
		if i < 0 {
			return false
		}
		out = bytes.Clone(c.out[:i+len(prompt)])
		return true
	}) {
		t.Fatalf("no %q within %v", prompt, readyWait)
	}
	return out
}

// metricsText fetches /metrics from the main listener.
func (s *testServer) metricsText(t *testing.T) string {
	t.Helper()
	code, body := get(t, s.URL()+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	return body
}

// started is how many sessions started on the path (warm or cold).
func (s *testServer) started(t *testing.T, path string) int {
	t.Helper()
	v, _ := metricValue(t, s.metricsText(t), "iexbox_time_to_prompt_seconds_count", `path="`+path+`"`)
	return int(v)
}

// sessionContainer is the id of the one container of a session.
func sessionContainer(t *testing.T, sessionID string) string {
	t.Helper()
	ids := containersLabelled(t, labelSession+"="+sessionID)
	if len(ids) != 1 {
		t.Fatalf("%d containers of session %s, want 1", len(ids), sessionID)
	}
	return ids[0]
}

// runningContainers lists the running containers of the server's instance.
func (s *testServer) runningContainers(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-q", "--no-trunc",
		"--filter", "label="+labelInstance+"="+s.Instance, "--filter", "status=running").Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// TestPoolHandOver: a warm session's first output is iex's banner and
// prompt, byte for byte as a cold session of the same size shows them:
// nothing of the boot is lost, doubled or reordered by the hand-over.
func TestPoolHandOver(t *testing.T) {
	for _, rt := range []string{"runc", "runsc"} {
		t.Run(rt, func(t *testing.T) {
			requireRuntime(t, rt)
			s := startServer(t, "-runtime", rt, "-pool", "1")
			s.waitPoolReady(t)
			warm := s.connect(t)
			warm.hello(t, warmCols, warmRows)
			warm.waitEvent(t, "ready", readyWait)
			// At once, while the pool boots its next member: a cold one.
			cold := s.connect(t)
			cold.hello(t, warmCols, warmRows)
			cold.waitEvent(t, "ready", readyWait)
			if w, c := s.started(t, "warm"), s.started(t, "cold"); w != 1 || c != 1 {
				t.Fatalf("%d warm and %d cold sessions, want one of each", w, c)
			}

			got, want := warm.firstPrompt(t), cold.firstPrompt(t)
			t.Logf("first output of the warm session: %q", got)
			if !bytes.Equal(got, want) {
				t.Errorf("warm first output differs from the cold one's:\nwarm %q\ncold %q", got, want)
			}
			text := cleanOutput(got)
			if !strings.HasPrefix(text, "Erlang/OTP ") || !strings.Contains(text, "Interactive Elixir (") {
				t.Errorf("first output %q, want the Erlang/OTP banner first, then Interactive Elixir's", text)
			}
			if warm.outputCameBeforeReady() {
				t.Error("terminal output before ready")
			}
			warm.waitPrompt(t, readyWait) // moves the cursor past it
			if got := warm.eval(t, "1+1"); got != "2" {
				t.Errorf("1+1 in the warm session printed %q, want 2", got)
			}
		})
	}
}

// TestPoolRefill: members taken are replaced in the background, up to the
// pool's size and never beyond it.
func TestPoolRefill(t *testing.T) {
	const size = 3
	s := startServer(t, "-runtime", "runc", "-pool", strconv.Itoa(size))
	full := func(st serverStatus) bool { return st.Pool.Ready == size && st.Pool.Starting == 0 }
	s.waitStatus(t, "a full pool", 2*readyWait, full)
	if n := len(s.runningContainers(t)); n != size {
		t.Fatalf("%d running containers with a full pool, want %d", n, size)
	}

	var clients []*wsClient
	for range 2 {
		c, _ := s.openSession(t, defaultCols, defaultRows)
		clients = append(clients, c)
	}
	if w := s.started(t, "warm"); w != 2 {
		t.Errorf("%d warm sessions, want 2", w)
	}
	start := time.Now()
	s.waitStatus(t, "refilled", 2*readyWait, full)
	t.Logf("pool refilled in %v", time.Since(start).Round(time.Millisecond))
	if all, running := s.containers(t), s.runningContainers(t); len(all) != size+2 || len(running) != size+2 {
		t.Errorf("%d containers (%d running) with 2 sessions and a full pool, want %d", len(all), len(running), size+2)
	}
	// Never more than its size, however long it runs.
	time.Sleep(time.Second)
	if st := s.status(t); st.Pool.Ready+st.Pool.Starting != size {
		t.Errorf("pool %+v, want %d members", *st.Pool, size)
	}

	for _, c := range clients {
		c.closeNormally()
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(s.containers(t)) != size {
		if time.Now().After(deadline) {
			t.Fatalf("%d containers after the sessions closed, want the pool's %d", len(s.containers(t)), size)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPoolShutdown: SIGTERM with a full pool removes every member before
// the server exits.
func TestPoolShutdown(t *testing.T) {
	const size = 3
	s := startServer(t, "-runtime", "runc", "-pool", strconv.Itoa(size))
	s.waitStatus(t, "a full pool", 2*readyWait, func(st serverStatus) bool { return st.Pool.Ready == size })
	if n := len(s.containers(t)); n != size {
		t.Fatalf("%d containers with a full pool, want %d", n, size)
	}
	sent := time.Now()
	s.signal(t, syscall.SIGTERM)
	if !s.waitExit(serverStopWait) {
		t.Fatalf("server still running %v after SIGTERM", serverStopWait)
	}
	t.Logf("exited %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
	if ids := s.containers(t); len(ids) > 0 { // at once, not eventually
		t.Errorf("containers left when the server had exited: %v", ids)
	}
}

// TestPoolNeverReused: every session gets a container of its own, and
// nothing a session wrote is in the next one's.
func TestPoolNeverReused(t *testing.T) {
	s := startServer(t, "-runtime", "runc", "-pool", "1")
	const look = `{File.exists?("/tmp/mark"), File.exists?(Path.join(System.user_home!(), "mark"))}`
	const mark = `File.write!("/tmp/mark", "x"); File.write!(Path.join(System.user_home!(), "mark"), "x")`
	var seen []string
	for i := range 3 {
		s.waitPoolReady(t)
		c, ready := s.openSession(t, defaultCols, defaultRows)
		id := sessionContainer(t, ready.Session)
		if slices.Contains(seen, id) {
			t.Fatalf("session %d got container %.12s again", i, id)
		}
		seen = append(seen, id)
		if got := c.eval(t, look); got != "{false, false}" {
			t.Errorf("session %d finds marks of an earlier session: %s", i, got)
		}
		if got := c.eval(t, mark); got != ":ok" {
			t.Fatalf("writing the marks printed %q", got)
		}
		c.closeNormally()
		requireSessionGone(t, ready.Session, 5*time.Second)
	}
	if w := s.started(t, "warm"); w != 3 {
		t.Errorf("%d of 3 sessions were warm, want all", w)
	}
}

// rawClient is a client that reads every frame but acks only when told
// to, unlike wsClient, which acks everything it reads.
type rawClient struct {
	mu       sync.Mutex
	conn     *client.Conn // set once dialed; output acks through it
	received int64        // output bytes
	acked    int64
	acking   bool
	text     []byte // the output as it arrives, kept up to the prompt
}

// openRaw opens a session of size cols×rows and returns once its first
// prompt is there.
func (s *testServer) openRaw(t *testing.T) *rawClient {
	t.Helper()
	c := &rawClient{acking: true}
	conn, resp, err := client.Dial(t.Context(), s.wsURL(), client.Options{Ack: client.AckManual, OnOutput: c.output})
	if err != nil {
		t.Fatalf("dial: %v (response: %v)", err, responseSummary(resp))
	}
	t.Cleanup(func() { conn.Drop() })
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
	conn.Hello(client.Hello{Cols: defaultCols, Rows: defaultRows})
	deadline := time.Now().Add(readyWait)
	for !c.sawPrompt() {
		if time.Now().After(deadline) {
			t.Fatalf("no prompt within %v", readyWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c
}

// output counts output as it arrives, and acks it while acking.
func (c *rawClient) output(p []byte) {
	c.mu.Lock()
	c.received += int64(len(p))
	if len(c.text) < 64<<10 {
		c.text = append(c.text, p...)
	}
	var ack int64
	if c.acking {
		ack = c.received - c.acked
		c.acked = c.received
	}
	conn := c.conn
	c.mu.Unlock()
	if ack > 0 && conn != nil { // nil only before the hello: no output then
		conn.Ack(ack)
	}
}

func (c *rawClient) sawPrompt() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Contains(c.text, []byte("iex(1)> "))
}

// setAcking turns acks off, or on again, acking at once all output not
// acked yet.
func (c *rawClient) setAcking(on bool) {
	c.mu.Lock()
	c.acking = on
	ack := c.received - c.acked
	if on {
		c.acked = c.received
	}
	c.mu.Unlock()
	if on && ack > 0 {
		c.conn.Ack(ack)
	}
}

// counts are the output bytes received and not acked.
func (c *rawClient) counts() (received, unacked int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received, c.received - c.acked
}

// waitStalled waits until the output has not grown for quiet, and returns
// the bytes received by then.
func (c *rawClient) waitStalled(t *testing.T, quiet, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last, since := int64(-1), time.Now()
	for {
		n, _ := c.counts()
		if n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("output still growing after %v: %d bytes", timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rss is the resident memory of process pid, in bytes.
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// flood writes 64 KiB chunks to the terminal for ever.
const flood = `Stream.repeatedly(fn -> IO.write(String.duplicate("x", 65536)) end) |> Stream.run()`

// TestClientNeverAcks: a client that stops acking stalls its own sandbox
// after about 1 MiB unacknowledged, nobody else's; the server's memory
// stays bounded; acking again resumes the output.
func TestClientNeverAcks(t *testing.T) {
	const flooders = 3
	s := startServer(t, "-runtime", "runc", "-pool", strconv.Itoa(flooders+1))
	s.waitStatus(t, "a full pool", 2*readyWait, func(st serverStatus) bool { return st.Pool.Ready == flooders+1 })
	bystander, _ := s.openSession(t, defaultCols, defaultRows)
	var floods []*rawClient
	for range flooders {
		floods = append(floods, s.openRaw(t))
	}
	pid := s.cmd.Process.Pid
	before := rss(t, pid)

	for _, c := range floods {
		c.setAcking(false)
		c.conn.Input([]byte(flood + "\r"))
	}
	for i, c := range floods {
		stalled := c.waitStalled(t, 2*time.Second, 30*time.Second)
		_, unacked := c.counts()
		t.Logf("flood %d stalled at %d bytes, %d unacked", i, stalled, unacked)
		if unacked < highWater || unacked > highWater+128<<10 {
			t.Errorf("flood %d stalled with %d bytes unacked, want about %d (the high watermark)", i, unacked, highWater)
		}
	}
	during := rss(t, pid)
	growth := during - before
	t.Logf("server RSS %d MiB before the floods, %d MiB while %d of them stall: %.2f MiB per flooding session",
		before>>20, during>>20, flooders, float64(growth)/flooders/(1<<20))
	if growth/flooders > 4<<20 {
		t.Errorf("server RSS grew by %d KiB per stalled session, want it bounded near the window (a few MiB at most)", growth/flooders>>10)
	}

	// The others are not slowed: an evaluation answers at once.
	start := time.Now()
	if got := bystander.eval(t, "1+1"); got != "2" {
		t.Errorf("1+1 beside the stalled floods printed %q, want 2", got)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("1+1 beside the stalled floods took %v", took)
	}
	// Still stalled a moment later: the sandbox is blocked, not slow.
	c := floods[0]
	n0, _ := c.counts()
	time.Sleep(time.Second)
	if n1, _ := c.counts(); n1 != n0 {
		t.Errorf("a stalled flood grew from %d to %d bytes without acks", n0, n1)
	}

	// Acking resumes the flow.
	c.setAcking(true)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _ := c.counts()
		if n >= n0+2*highWater {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after acking, only %d more bytes within 10 s", n-n0)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range floods {
		c.conn.Drop()
	}
}
