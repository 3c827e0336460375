package e2e

// The door in front of the sessions: connections that never say hello,
// idle HTTP connections, host names that are not the server's (DNS
// rebinding) and what the front end must keep private.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/client"
)

// raiseFileLimit lifts this process's open-file limit to its hard limit and
// fails the test unless that allows want descriptors.
func raiseFileLimit(t *testing.T, want uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < want {
		t.Fatalf("open-file limit %d, the test needs %d", lim.Cur, want)
	}
}

// serverFileLimit is the open-file limit of the server process.
func (s *testServer) fileLimit(t *testing.T) string {
	t.Helper()
	out, err := execOutput("prlimit", "--nofile", "--noheadings", "--output", "SOFT", "--pid", strconv.Itoa(s.cmd.Process.Pid))
	if err != nil {
		return "unknown: " + err.Error()
	}
	return string(out)
}

// Figures of TestSilentConnections.
const (
	silentConns = 2000
	// silentBound is how long after its handshake a connection that never
	// says hello may stay open: the 10 s hello deadline and some slack.
	silentBound = 12 * time.Second
	pongEvery   = 2 * time.Second
)

// TestSilentConnections: 2,000 WebSockets from one address never say hello
// and send a pong every 2 s (which once moved the read deadline 60 s
// ahead). Each is refused with HTTP 429 and Retry-After (over the cap of
// connections that have not said hello) or closed with 4004 within 12 s of
// its handshake, and an innocent client from another address starts a
// session meanwhile.
func TestSilentConnections(t *testing.T) {
	raiseFileLimit(t, 2*silentConns+512)
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt)
		t.Logf("server open-file limit: %s", s.fileLimit(t))
		var (
			upgraded, refused, closed4004 atomic.Int64
			mu                            sync.Mutex
			failures                      []string
			slowest                       time.Duration
		)
		fail := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			if len(failures) < 10 {
				failures = append(failures, fmt.Sprintf(format, args...))
			}
		}
		dialing := make(chan struct{}, 100) // handshakes in flight at once
		silent := func(i int) {
			dialing <- struct{}{}
			conn, resp, err := client.Dial(context.Background(), s.wsURL(), client.Options{HandshakeTimeout: 30 * time.Second})
			<-dialing
			if err != nil {
				if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
					if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra <= 0 {
						fail("429 with Retry-After %q", resp.Header.Get("Retry-After"))
					}
					refused.Add(1)
					return
				}
				fail("connection %d: %v (%s)", i, err, responseSummary(resp))
				return
			}
			defer conn.Drop()
			upgraded.Add(1)
			open := time.Now()
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(pongEvery)
				defer tick.Stop()
				for {
					select {
					case <-tick.C:
						conn.WriteRaw(websocket.PongMessage, nil)
					case <-stop:
						return
					}
				}
			}()
			// The error event before the close is read and passed over.
			ctx, cancel := context.WithDeadline(context.Background(), open.Add(silentBound+10*time.Second))
			st, err := conn.WaitClose(ctx)
			cancel()
			took := time.Since(open)
			if err == nil {
				err, took = st.Err, st.At.Sub(open)
			}
			mu.Lock()
			slowest = max(slowest, took)
			mu.Unlock()
			var ce *websocket.CloseError
			switch {
			case !asCloseError(err, &ce):
				fail("connection %d: %v after %v, want close 4004", i, err, took.Round(time.Millisecond))
			case ce.Code != closeProtocol:
				fail("connection %d: close %d after %v, want 4004", i, ce.Code, took.Round(time.Millisecond))
			case took > silentBound:
				fail("connection %d closed after %v, want within %v", i, took.Round(time.Millisecond), silentBound)
			default:
				closed4004.Add(1)
			}
		}
		var wg sync.WaitGroup
		start := time.Now()
		for i := range silentConns { // all held open at once
			wg.Go(func() { silent(i) })
		}
		// Meanwhile, from another address, an innocent client: once the
		// attacker holds what it may.
		for upgraded.Load()+refused.Load() < silentConns/2 && time.Since(start) < 30*time.Second {
			time.Sleep(20 * time.Millisecond)
		}
		began := time.Now()
		innocent := s.connectFrom(t, "127.0.0.2", nil)
		innocent.hello(t, defaultCols, defaultRows)
		innocent.waitEvent(t, "ready", readyWait)
		innocent.waitPrompt(t, readyWait)
		requireEval(t, innocent, "1+1", "2")
		t.Logf("the innocent client from 127.0.0.2 had its session and 1+1 after %v, with %d silent connections open",
			time.Since(began).Round(time.Millisecond), upgraded.Load()-closed4004.Load())
		wg.Wait()
		t.Logf("%d silent connections in %v: %d refused with 429, %d upgraded and closed with 4004 (the slowest %v after its handshake)",
			silentConns, time.Since(start).Round(time.Millisecond), refused.Load(), closed4004.Load(), slowest.Round(time.Millisecond))
		for _, f := range failures {
			t.Error(f)
		}
		if got := refused.Load() + closed4004.Load(); got != silentConns {
			t.Errorf("%d of %d connections refused or closed with 4004 in time", got, silentConns)
		}
		if refused.Load() == 0 {
			t.Error("no connection refused: the cap of connections before hello did not hold")
		}
		if upgraded.Load() < 200 {
			t.Errorf("only %d connections upgraded, want at least 200 from one address (a school's wave)", upgraded.Load())
		}
		if st := s.status(t); st.Sessions.Active != 1 {
			t.Errorf("%d sessions live, want the innocent one", st.Sessions.Active)
		}
	})
}

// asCloseError is errors.As for a close frame.
func asCloseError(err error, ce **websocket.CloseError) bool {
	c, ok := err.(*websocket.CloseError)
	if ok {
		*ce = c
	}
	return ok
}

// idleConns is how many keep-alive connections TestIdleHTTPConnections
// leaves idle.
const idleConns = 1000

// httpIdleTimeout is the server's idle timeout of keep-alive connections
// (cmd/iexbox).
const httpIdleTimeout = 20 * time.Second

// TestIdleHTTPConnections: 1,000 keep-alive connections each make one
// request and then say nothing; the server closes every one within its
// idle timeout.
func TestIdleHTTPConnections(t *testing.T) {
	raiseFileLimit(t, 2*idleConns+512)
	s := startServer(t, "-runtime", "runc", "-pool", "0")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		closed  int
		slowest time.Duration
		errs    []error
	)
	dialing := make(chan struct{}, 100) // requests in flight at once
	for range idleConns {               // all idle at once
		wg.Go(func() {
			took, err := idleConnection(s.Addr, dialing)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if len(errs) < 10 {
					errs = append(errs, err)
				}
				return
			}
			closed++
			slowest = max(slowest, took)
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	t.Logf("%d of %d idle keep-alive connections closed by the server, the last %v after its response", closed, idleConns, slowest.Round(time.Millisecond))
	if closed != idleConns {
		t.Errorf("%d of %d idle connections closed by the server", closed, idleConns)
	}
}

// idleConnection makes one keep-alive request, then waits in silence for
// the server to close the connection. It returns how long that took after
// the response, or why it did not happen within the idle timeout.
func idleConnection(addr string, dialing chan struct{}) (time.Duration, error) {
	dialing <- struct{}{}
	released := false
	release := func() {
		if !released {
			released = true
			<-dialing
		}
	}
	defer release()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, fmt.Errorf("keep-alive request: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		return 0, fmt.Errorf("keep-alive request: %s, close %v", resp.Status, resp.Close)
	}
	release()
	answered := time.Now()
	conn.SetDeadline(answered.Add(httpIdleTimeout + 5*time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		return 0, fmt.Errorf("idle connection still open %v after its response (read: %v), want closed within the idle timeout %v",
			time.Since(answered).Round(time.Millisecond), err, httpIdleTimeout)
	}
	return time.Since(answered), nil
}

// TestHostNames: the server answers only its own host names. A page on a
// name rebound to the server's address (DNS rebinding) sends that name in
// Host and in Origin: 403, for the WebSocket and the page alike. Health
// checks answer whatever the Host, as load balancers send bare or internal
// names (HAProxy's `option httpchk GET /readyz` sends HTTP/1.0 with no
// Host at all).
func TestHostNames(t *testing.T) {
	s := startServer(t, "-runtime", "runc", "-pool", "0", "-trusted-proxies", "127.0.0.2")
	_, port, _ := net.SplitHostPort(s.Addr)
	rebound := "rebind.example:" + port
	header := http.Header{"Origin": {"http://" + rebound}}
	header.Set("Host", rebound)
	conn, resp, err := client.Dial(t.Context(), "ws://"+rebound+"/ws", client.Options{Header: header,
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, s.Addr)
		}})
	if conn != nil {
		conn.Drop()
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("rebinding handshake (Host and Origin %s): %v (%s), want 403", rebound, err, responseSummary(resp))
	}
	for _, tc := range []struct {
		path, host string
		want       int
	}{
		{"/", rebound, http.StatusForbidden},
		{"/status", rebound, http.StatusForbidden},
		{"/metrics", rebound, http.StatusForbidden},
		{"/", "localhost:" + port, http.StatusOK},
		{"/", s.Addr, http.StatusOK},
		{"/healthz", rebound, http.StatusOK},
		{"/healthz", "web1", http.StatusOK},
		{"/readyz", "web1:8081", http.StatusOK},
	} {
		code := rawGet(t, "127.0.0.1", s.Addr, "HTTP/1.1", tc.path, tc.host)
		if code != tc.want {
			t.Errorf("GET %s with Host %q: %d, want %d", tc.path, tc.host, code, tc.want)
		}
	}
	// HAProxy's check, and a container health check's.
	if code := rawGet(t, "127.0.0.1", s.Addr, "HTTP/1.0", "/readyz", ""); code != http.StatusOK {
		t.Errorf("HTTP/1.0 GET /readyz without Host: %d, want 200", code)
	}
	if code := rawGet(t, "127.0.0.1", s.Addr, "HTTP/1.0", "/healthz", ""); code != http.StatusOK {
		t.Errorf("HTTP/1.0 GET /healthz without Host: %d, want 200", code)
	}
	// /metrics is for scrapers on the inside: refused to whatever comes
	// through the proxy (127.0.0.2), spelt as Go's router reads it.
	for _, tc := range []struct {
		from, path string
		want       int
	}{
		{"127.0.0.1", "/metrics", http.StatusOK},
		{"127.0.0.2", "/metrics", http.StatusNotFound},
		{"127.0.0.2", "/%6Detrics", http.StatusNotFound},
	} {
		if code := rawGet(t, tc.from, s.Addr, "HTTP/1.1", tc.path, s.Addr); code != tc.want {
			t.Errorf("GET %s from %s: %d, want %d", tc.path, tc.from, code, tc.want)
		}
	}
	// The page's own security headers.
	resp, err = httpClient.Get(s.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q, want no-referrer", got)
	}
	if got := resp.Header.Get("Content-Security-Policy"); got == "" {
		t.Error("no Content-Security-Policy on the page")
	}
}

// rawGet sends one request from the loopback address local with exactly
// the given protocol version and Host header ("" sends none) and returns
// the status code.
func rawGet(t *testing.T, local, addr, proto, path, host string) int {
	t.Helper()
	nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	conn, err := nd.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET " + path + " " + proto + "\r\nConnection: close\r\n"
	if host != "" {
		req += "Host: " + host + "\r\n"
	}
	fmt.Fprint(conn, req+"\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s (Host %q): %v", path, host, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
