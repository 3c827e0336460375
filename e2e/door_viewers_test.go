package e2e

// Viewers at the door: a watch link needs no access token, but viewers
// count per client address and in all, and joining costs the presenter
// no copy.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"iexbox/internal/client"
)

// closeNotFound is the close code of error not_found.
const closeNotFound = 4011

// Figures of TestViewerFlood.
const (
	floodSessions      = 10
	floodViewers       = 200 // per session: -max-viewers
	floodPerAddress    = 50  // under the 100 one address may hold
	viewerHistoryBytes = 200_000
	// viewerRSSBound is how much the server's memory may grow per viewer
	// held open: its connection, two goroutines and its queue's share of
	// output it has not taken.
	viewerRSSBound = 64 << 10
	joinLeaveLoops = 100
)

// viewerHello is a viewer's hello for a watch token.
func viewerHello(token string) client.Hello {
	return client.Hello{Watch: token, Cols: 80, Rows: 24}
}

// forwardedFrom is the header a trusted proxy adds for a client.
func forwardedFrom(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }

// viewersNow is the last viewer count the presenter was told, -1 if none.
func viewersNow(c *wsClient) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.events) - 1; i >= 0; i-- {
		if e := c.events[i]; e.Type == "viewers" {
			return e.Count
		}
	}
	return -1
}

// TestViewerFlood: 10 shared sessions, each with 200 KB of history and 200
// viewers that never read a byte, from 40 addresses (behind a trusted
// proxy); the 2,001st viewer gets capacity (-max-viewers-total 2000), the
// 101st from one address rate_limited; then viewers join and leave in a
// loop. The server's memory stays within viewerRSSBound per viewer, and an
// innocent session from another address answers 1+1 within 2 s throughout.
func TestViewerFlood(t *testing.T) {
	raiseFileLimit(t, 2*floodSessions*floodViewers+1024)
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-pool", "2", "-client-sessions", "0", "-client-rate", "0",
			"-trusted-proxies", "127.0.0.1")
		innocent := s.connectFrom(t, "127.0.0.2", nil)
		innocent.hello(t, defaultCols, defaultRows)
		innocent.waitEvent(t, "ready", readyWait)
		innocent.waitPrompt(t, readyWait)
		requireEval(t, innocent, "1+1", "2")
		var slowest time.Duration
		probe := func(when string) {
			t.Helper()
			start := time.Now()
			requireEval(t, innocent, "1+1", "2")
			took := time.Since(start)
			slowest = max(slowest, took)
			if took > innocentBound {
				t.Errorf("the innocent session's 1+1 took %v %s, want at most %v", took.Round(time.Millisecond), when, innocentBound)
			}
		}

		presenters := make([]*wsClient, floodSessions)
		tokens := make([]string, floodSessions)
		var wg sync.WaitGroup
		for i := range presenters {
			wg.Go(func() {
				p, _ := s.openSession(t, defaultCols, defaultRows)
				// 200 KB of history since the last clear: what every
				// joining viewer is replayed.
				p.send(t, fmt.Sprintf(`IO.write(String.duplicate(String.duplicate("h", 99) <> "\n", %d)); :done`+"\r", viewerHistoryBytes/100))
				p.waitOutput(t, ":done", readyWait)
				presenters[i], tokens[i] = p, share(t, p)
			})
		}
		wg.Wait()
		if slices.Contains(presenters, nil) { // a goroutine above failed
			t.FailNow()
		}
		probe("with the presenters open")
		base := s.rss(t)

		// The viewers that never read: raw connections, no reader.
		var (
			mu   sync.Mutex
			held [floodSessions][]*client.Conn
		)
		dialing := make(chan struct{}, 50)
		dialViewer := func(session int, addr string) (*client.Conn, error) {
			dialing <- struct{}{}
			defer func() { <-dialing }()
			conn, resp, err := client.Dial(context.Background(), s.wsURL(),
				client.Options{Header: forwardedFrom(addr), HandshakeTimeout: 30 * time.Second, Stalled: true})
			if err != nil {
				return nil, fmt.Errorf("%w (%s)", err, responseSummary(resp))
			}
			if err := conn.Hello(viewerHello(tokens[session])); err != nil {
				conn.Drop()
				return nil, err
			}
			return conn, nil
		}
		start := time.Now()
		errs := make(chan error, floodSessions*floodViewers)
		for i := range floodSessions * floodViewers {
			wg.Go(func() {
				session := i % floodSessions
				conn, err := dialViewer(session, fmt.Sprintf("10.0.%d.%d", i/floodPerAddress, i%floodPerAddress+1))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				held[session] = append(held[session], conn)
				mu.Unlock()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("viewer: %v", err)
		}
		t.Cleanup(func() {
			for _, hs := range held {
				for _, conn := range hs {
					conn.Drop()
				}
			}
		})
		for i, p := range presenters {
			if !p.waitFor(30*time.Second, func() bool { return viewersNowLocked(p) == floodViewers }) {
				t.Fatalf("presenter %d told of %d viewers, want %d", i, viewersNow(p), floodViewers)
			}
		}
		peak := s.rss(t)
		t.Logf("%d viewers that never read joined in %v; server RSS %d MiB before them, %d MiB with them",
			floodSessions*floodViewers, time.Since(start).Round(time.Millisecond), base>>20, peak>>20)
		probe("with 2,000 viewers held")

		// Over -max-viewers-total: capacity.
		over := s.connectFrom(t, "127.0.0.1", forwardedFrom("10.1.0.1"))
		over.helloWith(t, viewerHello(tokens[0]))
		requireRefused(t, over, "capacity", closeCapacity)

		// Room for 200 more, in sessions 0 and 2: one address may hold
		// 100 viewers, not 101.
		for _, i := range []int{0, 2} {
			for _, conn := range held[i][:100] {
				conn.Drop()
			}
			held[i] = held[i][100:]
			if !presenters[i].waitFor(30*time.Second, func() bool { return viewersNowLocked(presenters[i]) == floodViewers-100 }) {
				t.Fatalf("presenter %d told of %d viewers after 100 left, want %d", i, viewersNow(presenters[i]), floodViewers-100)
			}
		}
		for range 100 {
			wg.Go(func() {
				conn, err := dialViewer(0, "10.2.0.1")
				if err != nil {
					t.Errorf("viewer from 10.2.0.1: %v", err)
					return
				}
				mu.Lock()
				held[0] = append(held[0], conn)
				mu.Unlock()
			})
		}
		wg.Wait()
		if !presenters[0].waitFor(30*time.Second, func() bool { return viewersNowLocked(presenters[0]) == floodViewers }) {
			t.Fatalf("presenter 0 told of %d viewers, want %d", viewersNow(presenters[0]), floodViewers)
		}
		extra := s.connectFrom(t, "127.0.0.1", forwardedFrom("10.2.0.1"))
		extra.helloWith(t, viewerHello(tokens[2])) // session 2 and the server have room
		requireRefused(t, extra, "rate_limited", closeRateLimited)
		peak = max(peak, s.rss(t))

		// Join and leave: each joining viewer is replayed the history.
		start = time.Now()
		for i := range joinLeaveLoops {
			v := s.connectFrom(t, "127.0.0.1", forwardedFrom(fmt.Sprintf("10.3.0.%d", i%200+1)))
			v.helloWith(t, viewerHello(tokens[2])) // the one with room
			v.waitEvent(t, "ready", readyWait)
			v.waitOutput(t, strings.Repeat("h", 99), readyWait)
			v.closeNormally()
			if i%10 == 0 {
				probe("while viewers join and leave")
				peak = max(peak, s.rss(t))
			}
		}
		peak = max(peak, s.rss(t))
		t.Logf("%d viewers joined (each replayed %d KB) and left in %v", joinLeaveLoops, viewerHistoryBytes/1000, time.Since(start).Round(time.Millisecond))
		held2 := 0
		for _, hs := range held {
			held2 += len(hs)
		}
		grew := peak - base
		t.Logf("server RSS %d MiB before the viewers, peak %d MiB with %d held (+%.1f KiB per viewer, bound %d KiB); innocent 1+1 at most %v",
			base>>20, peak>>20, held2, float64(grew)/1024/float64(held2), viewerRSSBound>>10, slowest.Round(time.Millisecond))
		if grew > int64(held2)*viewerRSSBound {
			t.Errorf("server RSS grew by %d MiB with %d viewers, want at most %d KiB each", grew>>20, held2, viewerRSSBound>>10)
		}
		for _, p := range presenters {
			p.closeNormally()
		}
	})
}

// viewersNowLocked is viewersNow for use inside waitFor, which holds c.mu.
func viewersNowLocked(c *wsClient) int {
	for i := len(c.events) - 1; i >= 0; i-- {
		if e := c.events[i]; e.Type == "viewers" {
			return e.Count
		}
	}
	return -1
}

// TestUnshare: the presenter revokes its watch link with unshare: its
// viewers get exit unshared and close 1000, the old link answers
// not_found, the presenter is told no one watches, and the next share
// gives a new link.
func TestUnshare(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-pool", "1")
		p, _ := s.openSession(t, defaultCols, defaultRows)
		token := share(t, p)
		v, _ := watch(t, s, token)
		if !p.waitFor(eventWait, func() bool { return viewersNowLocked(p) == 1 }) {
			t.Fatalf("presenter told of %d viewers, want 1", viewersNow(p))
		}
		mustSend(t, p.conn.Unshare())
		if e := v.waitEvent(t, "exit", eventWait); e.Reason != "unshared" || e.exitCode() != "null" {
			t.Errorf("viewer told %s, want exit unshared with code null", e.raw)
		}
		v.requireClose(t, closeExited, eventWait)
		if !p.waitFor(eventWait, func() bool { return viewersNowLocked(p) == 0 }) {
			t.Errorf("presenter told of %d viewers after unshare, want 0", viewersNow(p))
		}
		old := s.connect(t)
		old.helloWith(t, viewerHello(token))
		requireRefused(t, old, "not_found", closeNotFound)
		if again := share(t, p); again == token {
			t.Error("share after unshare gave the revoked token again")
		} else {
			w, _ := watch(t, s, again)
			w.closeNormally()
		}
		requireEval(t, p, "1+1", "2") // the session itself goes on
	})
}

// TestResizeBurst: 5,000 resizes sent in a burst make at most 100 resize
// calls to the engine and at most 100 size events to a viewer; the last
// size wins.
func TestResizeBurst(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-pool", "1")
		p, _ := s.openSession(t, defaultCols, defaultRows)
		v, _ := watch(t, s, share(t, p))
		before := s.metric(t, `iexbox_docker_request_seconds_count{op="resize"}`)
		start := time.Now()
		for i := range 5000 {
			p.resize(t, 100+i%50, 30+i%10)
		}
		p.resize(t, 123, 45)
		sent := time.Since(start)
		// Viewers are told a size once the engine has applied it, up to
		// 50 ms after it was asked for: only then must the terminal have it.
		if !v.waitFor(eventWait, func() bool {
			return len(v.events) > 0 && v.events[len(v.events)-1].Type == "size" && strings.Contains(v.events[len(v.events)-1].raw, `"cols":123`)
		}) {
			t.Fatalf("the viewer never got the last size; events %s", v.eventLog())
		}
		requireEval(t, p, ":io.columns()", "{:ok, 123}")
		calls := s.metric(t, `iexbox_docker_request_seconds_count{op="resize"}`) - before
		sizes := 0
		for _, e := range v.allEvents() {
			if e.Type == "size" {
				sizes++
			}
		}
		t.Logf("5,001 resizes sent in %v: %.0f engine resize calls, %d size events to the viewer", sent.Round(time.Millisecond), calls, sizes)
		if calls > 100 || calls < 1 {
			t.Errorf("%.0f engine resize calls for a burst of 5,001, want 1 to 100", calls)
		}
		if sizes > 100 {
			t.Errorf("%d size events to a viewer for a burst of 5,001, want at most 100", sizes)
		}
	})
}
