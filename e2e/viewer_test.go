package e2e

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// share asks for a watch link and returns its token.
func share(t *testing.T, c *wsClient) string {
	t.Helper()
	mustSend(t, c.conn.Share())
	e := c.waitEvent(t, "shared", eventWait)
	token, url := field[string](t, e, "watch"), field[string](t, e, "url")
	if len(token) < 22 || url != "/watch/"+token {
		t.Fatalf("shared event %s: want a 128-bit token and its /watch/ url", e.raw)
	}
	return token
}

// watch connects a viewer and waits for its ready.
func watch(t *testing.T, s *testServer, token string) (*wsClient, event) {
	t.Helper()
	v := s.connect(t)
	v.helloWith(t, viewerHello(token))
	ready := v.waitEvent(t, "ready", readyWait)
	if field[string](t, ready, "mode") != "viewer" {
		t.Fatalf("viewer's ready %s has no mode viewer", ready.raw)
	}
	return v, ready
}

func TestViewerSeesThePresenter(t *testing.T) {
	s := startServer(t, "-pool", "0")
	p, ready := s.openSession(t, defaultCols, defaultRows)
	p.eval(t, `IO.puts("before the viewer")`)
	token := share(t, p)

	v, vready := watch(t, s, token)
	if vready.Session != ready.Session {
		t.Errorf("viewer watches %s, want %s", vready.Session, ready.Session)
	}
	v.waitOutput(t, "before the viewer", eventWait) // the replay
	if e := p.waitEvent(t, "viewers", eventWait); field[int](t, e, "count") != 1 {
		t.Errorf("presenter told %s, want count 1", e.raw)
	}
	// A viewer's input never reaches the sandbox: were it delivered, iex
	// would print the marker (assembled, so its echo differs).
	v.send(t, `IO.puts("VIEWER" <> "-TYPED")`+"\r")
	p.eval(t, `IO.puts("live " <> "output")`)
	v.waitOutput(t, "live output", eventWait)
	if got := p.eval(t, "1 + 1"); got != "2" {
		t.Errorf("1 + 1 = %q after a viewer typed", got)
	}
	for who, c := range map[string]*wsClient{"presenter": p, "viewer": v} {
		if strings.Contains(cleanOutput(c.rawOutput()), "VIEWER-TYPED") {
			t.Errorf("the %s saw the viewer's input evaluated", who)
		}
	}

	p.send(t, "System.halt()\r")
	p.requireClose(t, closeExited, eventWait)
	if e := v.waitEvent(t, "exit", eventWait); e.Reason != "exited" {
		t.Errorf("viewer told %s, want exit exited", e.raw)
	}
	v.requireClose(t, closeExited, eventWait)

	late := s.connect(t) // the token is revoked with the session
	late.helloWith(t, viewerHello(token))
	if e := late.waitEvent(t, "error", eventWait); e.errorCode() != "not_found" {
		t.Errorf("watching an ended session: %s, want not_found", e.raw)
	}
}

func TestHundredViewers(t *testing.T) {
	const n = 100
	s := startServer(t, "-pool", "0", "-client-sessions", "0", "-client-rate", "0")
	p, _ := s.openSession(t, defaultCols, defaultRows)
	rssBefore := serverRSS(t, s)
	base := latencies(t, p, 20)
	token := share(t, p)

	viewers := make([]*wsClient, n)
	var wg sync.WaitGroup
	for i := range viewers {
		wg.Go(func() { viewers[i], _ = watch(t, s, token) })
	}
	wg.Wait()
	if !p.waitFor(eventWait, func() bool {
		for i := len(p.events) - 1; i >= 0; i-- {
			if p.events[i].Type == "viewers" {
				return strings.Contains(p.events[i].raw, fmt.Sprintf(`"count":%d`, n))
			}
		}
		return false
	}) {
		t.Fatalf("presenter never told of %d viewers; events %s", n, p.eventLog())
	}
	with := latencies(t, p, 20)
	p.eval(t, `IO.puts(Enum.join(1..2000, ","))`)
	for i, v := range viewers {
		v.waitOutput(t, "1999,2000", eventWait)
		if i == 0 {
			t.Logf("viewer 0 has the output")
		}
	}
	rss := serverRSS(t, s)
	t.Logf("server RSS %d KiB with 1 session, %d KiB with %d viewers (%.1f KiB per viewer)",
		rssBefore, rss, n, float64(rss-rssBefore)/n)
	t.Logf("presenter `1 + 1` round trip p50/p90: %v/%v without viewers, %v/%v with %d",
		base[len(base)/2], base[len(base)*9/10], with[len(with)/2], with[len(with)*9/10], n)
	if with[len(with)/2] > base[len(base)/2]+50*time.Millisecond {
		t.Errorf("viewers slowed the presenter: p50 %v, was %v", with[len(with)/2], base[len(base)/2])
	}
	p.send(t, "System.halt()\r")
	for _, v := range viewers {
		v.requireClose(t, closeExited, eventWait)
	}
}

// latencies measures k evaluations of 1 + 1, sorted.
func latencies(t *testing.T, c *wsClient, k int) []time.Duration {
	t.Helper()
	out := make([]time.Duration, k)
	for i := range out {
		start := time.Now()
		if got := c.eval(t, "1 + 1"); got != "2" {
			t.Fatalf("1 + 1 = %q", got)
		}
		out[i] = time.Since(start)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// serverRSS is the server process's resident memory in KiB.
func serverRSS(t *testing.T, s *testServer) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
