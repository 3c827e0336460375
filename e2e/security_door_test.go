package e2e

// Abuse limits at the door: access tokens, per-client limits, the input
// throttle, and clients that never read.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"iexbox/internal/client"
)

// Close codes of refusals at the door.
const (
	closeForbidden   = 4003
	closeRateLimited = 4029
)

// mintToken makes an access token the way docs/security.md tells a lesson
// site to, independently of the server's code: base64url(claims) "."
// base64url(HMAC-SHA256(secret, first part)), without padding.
func mintToken(secret, claims string) string {
	p := base64.RawURLEncoding.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// helloToken says hello with an access token ("" sends none).
func (c *wsClient) helloToken(t *testing.T, token string) {
	t.Helper()
	if token == "" {
		c.hello(t, defaultCols, defaultRows)
		return
	}
	c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Token: token})
}

// requireRefused waits for an error event with code and the close code.
func requireRefused(t *testing.T, c *wsClient, code string, closeCode int) event {
	t.Helper()
	e := c.waitEvent(t, "error", readyWait)
	if e.errorCode() != code {
		t.Errorf("error event %s, want code %s", e.raw, code)
	}
	c.requireClose(t, closeCode, eventWait)
	return e
}

func TestAccessTokens(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		b := make([]byte, 24)
		rand.Read(b)
		secret := hex.EncodeToString(b)
		// The secret comes from the environment (never a flag); one session
		// per client unless the token says more.
		s := startServerEnv(t, []string{"IEXBOX_TOKEN_SECRET=" + secret},
			"-runtime", rt, "-client-sessions", "1", "-client-rate", "0")
		exp := time.Now().Add(10 * time.Minute).Unix()
		valid := mintToken(secret, fmt.Sprintf(`{"exp":%d}`, exp))

		t.Run("refused", func(t *testing.T) {
			payload, _, _ := strings.Cut(valid, ".")
			_, otherSig, _ := strings.Cut(mintToken(secret, fmt.Sprintf(`{"exp":%d,"client_sessions":99}`, exp)), ".")
			for _, tc := range []struct{ name, token string }{
				{"missing", ""},
				{"not a token", "hello"},
				{"other secret", mintToken(secret+"x", fmt.Sprintf(`{"exp":%d}`, exp))},
				{"expired", mintToken(secret, fmt.Sprintf(`{"exp":%d}`, time.Now().Add(-time.Second).Unix()))},
				{"no expiry", mintToken(secret, `{"client_sessions":5}`)},
				{"claims swapped under a signature", payload + "." + otherSig},
				{"padded", valid + "="},
				// Beyond -token-max-lifetime (24 h by default): a leaked
				// token must not work for a year.
				{"expiry too far ahead", mintToken(secret, fmt.Sprintf(`{"exp":%d}`, time.Now().Add(25*time.Hour).Unix()))},
				// Bound to another client's address.
				{"bound to another address", mintToken(secret, fmt.Sprintf(`{"exp":%d,"addr":"127.0.0.2"}`, exp))},
			} {
				t.Run(tc.name, func(t *testing.T) {
					c := s.connect(t)
					c.helloToken(t, tc.token)
					requireRefused(t, c, "forbidden", closeForbidden)
				})
			}
		})

		t.Run("valid", func(t *testing.T) {
			c := s.connect(t)
			c.helloToken(t, valid)
			c.waitEvent(t, "ready", readyWait)
			c.waitPrompt(t, readyWait)
			requireEval(t, c, "1+1", "2")
			// The server's secret is nowhere in the sandbox's environment.
			requireEval(t, c, fmt.Sprintf(`System.get_env() |> inspect() |> String.contains?(%q)`, secret), "false")
			requireEval(t, c, fmt.Sprintf(`File.read!("/proc/1/environ") |> String.contains?(%q)`, secret), "false")
			requireEval(t, c, `System.get_env() |> Map.keys() |> Enum.filter(&String.starts_with?(&1, "IEXBOX"))`, "[]")

			// A second session from this address is over -client-sessions 1...
			second := s.connect(t)
			second.helloToken(t, valid)
			if e := requireRefused(t, second, "rate_limited", closeRateLimited); e.RetryAfter <= 0 {
				t.Errorf("refusal %s, want retry_after > 0", e.raw)
			}
			// ...unless its token raises the limit (a classroom), here a
			// token bound to this client's address.
			classroom := s.connect(t)
			classroom.helloToken(t, mintToken(secret, fmt.Sprintf(`{"exp":%d,"client_sessions":2,"addr":"127.0.0.1"}`, exp)))
			classroom.waitEvent(t, "ready", readyWait)
			classroom.waitPrompt(t, readyWait)
			requireEval(t, classroom, "1+1", "2")
		})
	})
}

// connectFrom opens an iexbox.v1 WebSocket from the loopback address local
// (any of 127.0.0.0/8) with extra request headers.
func (s *testServer) connectFrom(t *testing.T, local string, header http.Header) *wsClient {
	t.Helper()
	c, resp, err := s.newClient(t, client.Options{LocalAddr: net.ParseIP(local), Header: header})
	if err != nil {
		t.Fatalf("dial from %s: %v (response: %v)", local, err, responseSummary(resp))
	}
	return c
}

// TestClientLimits: per client address, at most -client-sessions at once
// and -client-burst new ones at once, then -client-rate a minute; X-Forwarded-For names the client only
// on connections from -trusted-proxies. The addresses in the header are
// documentation addresses, never dialled: every connection is loopback.
func TestClientLimits(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-client-sessions", "2", "-client-rate", "3",
			"-client-burst", "3", "-trusted-proxies", "127.0.0.2")
		forwarded := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
		open := func(local string, header http.Header) *wsClient {
			c := s.connectFrom(t, local, header)
			c.hello(t, defaultCols, defaultRows)
			c.waitEvent(t, "ready", readyWait)
			c.waitPrompt(t, readyWait)
			return c
		}
		refused := func(local string, header http.Header) event {
			c := s.connectFrom(t, local, header)
			c.hello(t, defaultCols, defaultRows)
			return requireRefused(t, c, "rate_limited", closeRateLimited)
		}

		first := open("127.0.0.1", nil)
		second := open("127.0.0.1", nil)
		// Concurrency: a third at once is refused, with advice to wait.
		if e := refused("127.0.0.1", nil); e.RetryAfter <= 0 {
			t.Errorf("refusal %s, want retry_after > 0", e.raw)
		}
		// From an untrusted peer the header changes nothing.
		refused("127.0.0.1", forwarded("203.0.113.7"))

		// Rate: two sessions end; the third start of the minute is allowed,
		// the fourth is not, whatever the number open.
		first.closeNormally()
		second.closeNormally()
		s.waitStatus(t, "free of sessions", 10*time.Second, func(st serverStatus) bool { return st.Sessions.Active == 0 })
		third := open("127.0.0.1", nil)
		if e := refused("127.0.0.1", nil); e.RetryAfter <= 0 || e.RetryAfter > 60 {
			t.Errorf("refusal %s, want retry_after within the minute", e.raw)
		}
		third.closeNormally()

		// From the trusted proxy the header is the client: a fresh one.
		behind := open("127.0.0.2", forwarded("203.0.113.7"))
		requireEval(t, behind, "1+1", "2")
		// ...and the proxy's own address is not that client.
		open("127.0.0.2", forwarded("203.0.113.8"))
	})
}

// TestIPv6Prefixes: clients named by IPv6 addresses are bounded per /64
// and, at 4 and 16 times that, per /56 and /48, however many /64s they
// come from. The server holds one session, so every client but the first
// waits in line, holding its address's place without a sandbox (the first
// holds its own whether its sandbox has booted or not: no boot is waited
// for); -client-sessions 1 bounds each /64 to one, a /56 to four, a /48 to
// sixteen. The addresses come in X-Forwarded-For from the trusted proxy
// 127.0.0.2: documentation addresses (2001:db8::/32), never dialled.
func TestIPv6Prefixes(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-max-sessions", "1", "-pool", "0", "-client-sessions", "1",
			"-client-fair-from", "0", "-trusted-proxies", "127.0.0.2")

		// addr is an address in the j-th /64 of the i-th /56 of the /48
		// 2001:db8:<site>::/48.
		addr := func(site, i, j int) string { return fmt.Sprintf("2001:db8:%x:%02x%02x::1", site, i, j) }
		from := func(a string) *wsClient {
			c := s.connectFrom(t, "127.0.0.2", http.Header{"X-Forwarded-For": {a}})
			c.hello(t, defaultCols, defaultRows)
			return c
		}
		waits := func(a string) { from(a).waitEvent(t, "queued", eventWait) }
		refused := func(a, why string) {
			t.Helper()
			t.Logf("%s: refused, %s", a, why)
			if e := requireRefused(t, from(a), "rate_limited", closeRateLimited); e.RetryAfter != 10 {
				t.Errorf("refusal %s, want retry_after 10", e.raw)
			}
		}

		waits(addr(0, 1, 0))
		refused("2001:db8:0:100::2", "its /64 holds one")
		for j := 1; j < 4; j++ {
			waits(addr(0, 1, j))
		}
		refused(addr(0, 1, 4), "its /56 holds four")
		for i := 2; i <= 4; i++ {
			for j := range 4 {
				waits(addr(0, i, j))
			}
		}
		refused(addr(0, 5, 0), "its /48 holds sixteen")
		waits(addr(1, 1, 0)) // another /48
	})
}

// The input throttle TestInputThrottle configures, and the frames a
// client splits a paste into (the protocol's largest). The rate is a
// quarter of the default, so that what the test tells apart stays apart
// on a loaded machine, where the sandbox's terminal takes a megabyte in
// up to 4 s: a throttle without the burst would need 14 s for it.
const (
	inputRate  = 64 << 10 // -input-rate 64k, bytes a second
	inputBurst = 1 << 20  // -input-burst 1m
	inputFrame = 64 << 10
)

// throttledRead is the least time a server throttled to rate bytes a
// second after burst can take to read n bytes sent in inputFrame frames:
// it reads a frame, then waits for that frame's tokens, so the last frame
// is read once all the others are paid for.
func throttledRead(n, rate, burst int) time.Duration {
	return time.Duration(max(n-inputFrame-burst, 0)) * time.Second / time.Duration(rate)
}

// TestInputThrottle: a paste of a megabyte is taken at once (it is within
// the burst, -input-burst 1m); input beyond the burst is read from the
// socket at -input-rate (64k a second here), never buffered without bound.
// Every bound is derived from those two flags. The server's intake is its
// iexbox_terminal_bytes_total{direction="in"} counter, which counts a
// frame when it is read; meanwhile iex sleeps, its terminal driver taking
// the input in faster than the rate (a 1 MiB paste in 0.1-4.1 s).
func TestInputThrottle(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-pool", "2", "-client-sessions", "0", "-client-rate", "0",
			"-input-rate", strconv.Itoa(inputRate), "-input-burst", strconv.Itoa(inputBurst))
		// send sends n bytes of input, lines of 63 "a" and a carriage
		// return, in frames of 64 KiB as a client splits a paste, and
		// returns how long the server took to read them all.
		send := func(t *testing.T, n int) time.Duration {
			t.Helper()
			c, _ := s.openSession(t, defaultCols, defaultRows)
			c.send(t, ":timer.sleep(:infinity)\r")
			c.waitOutput(t, ":timer.sleep(:infinity)\n", evalWait)
			base := s.metric(t, `iexbox_terminal_bytes_total{direction="in"}`)
			data := []byte(strings.Repeat(strings.Repeat("a", 63)+"\r", n/64))
			start := time.Now()
			sent := make(chan error, 1)
			go func() {
				for i := 0; i < len(data); i += inputFrame {
					if err := c.conn.Input(data[i:min(i+inputFrame, len(data))]); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
			for {
				in := s.metric(t, `iexbox_terminal_bytes_total{direction="in"}`) - base
				if in >= float64(len(data)) {
					break
				}
				if time.Since(start) > time.Minute {
					t.Fatalf("the server read %.0f of %d bytes within a minute", in, len(data))
				}
				time.Sleep(50 * time.Millisecond)
			}
			took := time.Since(start)
			if err := <-sent; err != nil {
				t.Fatalf("send input: %v", err)
			}
			t.Logf("the server read %d KiB of input in %v; RSS %d MiB", len(data)>>10, took.Round(time.Millisecond), s.rss(t)>>20)
			c.closeNormally()
			return took
		}
		t.Run("paste of a megabyte", func(t *testing.T) {
			// Within the burst it goes as fast as the sandbox's terminal
			// takes it: 0.1 s on an idle machine, up to 4.1 s seen with
			// much other work beside. A throttle without the burst (its
			// least, one frame) could not read it in less than 14 s.
			const n = inputBurst
			if took, unburst := send(t, n), throttledRead(n, inputRate, inputFrame); took >= unburst {
				t.Errorf("a 1 MiB paste took the server %v to read, want less than the %v a throttle without the burst needs: it is within the burst", took.Round(time.Millisecond), unburst)
			}
		})
		t.Run("firehose", func(t *testing.T) {
			// 1.5 MiB: 1 MiB of burst, then the rate: the last frame is
			// read no sooner than 7 s. A quarter slower than the rate, it
			// would be 9.3 s: the terminal takes input faster than the
			// rate, so the throttle alone sets the pace.
			const n = 3 << 19
			// One frame of slack below the least: a CI run once counted the
			// last frame 6.01 s in, one frame's time before the others were
			// all paid for. A throttle a third faster than the rate (5.25 s)
			// still fails.
			least := throttledRead(n, inputRate, inputBurst) - time.Second*inputFrame/inputRate
			slow := throttledRead(n, inputRate*3/4, inputBurst)
			if took := send(t, n); took < least || took >= slow {
				t.Errorf("1.5 MiB of input took the server %v to read, want %v to %v: 1 MiB at once, then 64 KiB a second", took.Round(time.Millisecond), least, slow.Round(time.Millisecond))
			}
		})
	})
}

// metric is the value of one series (name and labels as exposed) in the
// server's /metrics, 0 while it is not yet counted.
func (s *testServer) metric(t *testing.T, series string) float64 {
	t.Helper()
	for name, v := range s.metrics(t) {
		if name == series {
			return v
		}
	}
	return 0
}

// metrics is every series of the server's /metrics with its value.
func (s *testServer) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	code, body := get(t, s.URL()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d", code)
	}
	all := map[string]float64{}
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		i := strings.LastIndexByte(line, ' ')
		if line == "" || line[0] == '#' || i < 0 {
			continue
		}
		f, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		all[line[:i]] = f
	}
	return all
}

// slowClients is how many clients that never read TestSlowClients opens.
const slowClients = 50

// ttyFloodExpr floods the terminal by writing to /dev/tty straight, past
// iex's own output path (about 1 MB/s per session): fifty floods through
// that path need minutes of two cores to fill their windows, and the test
// is about what the server holds for them, not how fast iex prints.
const ttyFloodExpr = `{:ok, tty} = File.open("/dev/tty", [:write, :raw]); x = :binary.copy("x", 65536); Stream.repeatedly(fn -> :ok = :file.write(tty, x) end) |> Stream.run()`

// TestSlowClients: 50 clients each flood their terminal and never read a
// byte, not even an ack. Each session stops at its unacknowledged-output
// window (1 MiB), so the server's memory stays bounded whatever the
// sandboxes write; the stalled sessions stall only themselves (they live
// on while they write, and an innocent session answers at once); once
// silent too, each is dropped at the server's pong deadline (60 s) and
// its sandbox removed.
func TestSlowClients(t *testing.T) {
	forEachRuntimeInTurn(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-pool", "1", "-client-sessions", "0", "-client-rate", "0")
		// The innocent session, from another address, is opened and warmed
		// first.
		innocent := s.connectFrom(t, "127.0.0.2", nil)
		innocent.hello(t, defaultCols, defaultRows)
		innocent.waitEvent(t, "ready", readyWait)
		innocent.waitPrompt(t, readyWait)
		requireEval(t, innocent, "1+1", "2")
		// Every session is at its prompt before any floods, so that all are
		// stalled together. They boot ten at a time: fifty at once on two
		// cores would outlast the server's start timeout under gVisor. The
		// clients read nothing: not the ready, not the banner.
		conns := make([]*client.Conn, slowClients)
		start := time.Now()
		// The clients write (a resize every 20 s) but never read: the server
		// hears from them, so its pong deadline does not drop them yet.
		lastPoke := time.Now()
		poke := func() {
			if time.Since(lastPoke) < 20*time.Second {
				return
			}
			lastPoke = time.Now()
			for _, conn := range conns {
				if conn != nil {
					conn.Resize(defaultCols, defaultRows)
				}
			}
		}
		for i := range conns {
			conn, resp, err := client.Dial(t.Context(), s.wsURL(), client.Options{Stalled: true})
			if err != nil {
				t.Fatalf("dial %d: %v (%v)", i, err, responseSummary(resp))
			}
			t.Cleanup(func() { conn.Drop() })
			conns[i] = conn
			if err := conn.Hello(client.Hello{Cols: defaultCols, Rows: defaultRows}); err != nil {
				t.Fatalf("hello %d: %v", i, err)
			}
			if (i+1)%10 == 0 {
				// The innocent session's and the pool's count too.
				for s.metricSum(t, "iexbox_time_to_prompt_seconds_count") < float64(i+2) {
					if time.Since(start) > 6*time.Minute {
						t.Fatalf("only %.0f of %d sessions at their prompt after 6 minutes", s.metricSum(t, "iexbox_time_to_prompt_seconds_count")-1, i+1)
					}
					poke()
					time.Sleep(250 * time.Millisecond)
				}
			}
		}
		base, out0 := s.rss(t), s.metric(t, `iexbox_terminal_bytes_total{direction="out"}`)
		t.Logf("%d sessions at their prompt after %v; server RSS %d MiB", slowClients, time.Since(start).Round(time.Second), base>>20)
		for _, conn := range conns {
			if err := conn.Input([]byte(ttyFloodExpr + "\r")); err != nil {
				t.Fatalf("send the flood: %v", err)
			}
		}
		// Until all have stopped at their window, and a little more.
		start = time.Now()
		peak, out, settled := base, 0.0, 0
		for settled < 10 && time.Since(start) < 4*time.Minute {
			peak = max(peak, s.rss(t))
			now := s.metric(t, `iexbox_terminal_bytes_total{direction="out"}`) - out0
			if now == out {
				settled++
			} else {
				settled = 0
			}
			out = now
			poke()
			time.Sleep(250 * time.Millisecond)
		}
		if settled < 10 {
			t.Fatalf("output to clients that never read still grew after %v (%.1f MiB in all): the floods did not stop at their windows", time.Since(start).Round(time.Second), out/(1<<20))
		}
		t.Logf("after %v: %d clients that never read: server RSS %d MiB before the floods, peak %d MiB (+%.2f MiB per client); %.1f MiB sent to them in all",
			time.Since(start).Round(time.Second), slowClients, base>>20, peak>>20, float64(peak-base)/(1<<20)/slowClients, out/(1<<20))
		if grew := peak - base; grew > slowClients*(1<<20) {
			t.Errorf("server RSS grew by %d MiB with %d stalled clients, want at most 1 MiB each", grew>>20, slowClients)
		}
		// Each flood stopped at the window: 1 MiB unacknowledged, plus the
		// chunk that crossed it.
		if limit := float64(slowClients) * (1<<20 + 64<<10); out > limit {
			t.Errorf("%.1f MiB of output sent to clients that never ack, want at most %.1f MiB (the 1 MiB window each)", out/(1<<20), limit/(1<<20))
		}
		if st := s.status(t); st.Sessions.Active != slowClients+1 {
			t.Errorf("%d sessions live, want all %d stalled ones and the innocent one: none dropped", st.Sessions.Active, slowClients)
		}
		took := time.Now()
		requireEval(t, innocent, "1+1", "2")
		if d := time.Since(took); d > innocentBound {
			t.Errorf("1+1 beside %d stalled sessions took %v, want at most %v", slowClients, d.Round(time.Millisecond), innocentBound)
		}
		// Silent from now on: the server drops each at its pong deadline,
		// 60 s after it last heard from it, and removes its sandbox.
		silent := time.Now()
		s.waitStatus(t, "rid of the silent clients", 80*time.Second, func(st serverStatus) bool { return st.Sessions.Active == 1 })
		t.Logf("clients that never read nor write dropped %v after they fell silent", time.Since(silent).Round(time.Second))
		if d := time.Since(silent); d < 35*time.Second {
			t.Errorf("clients that never read dropped %v after their last frame, want the 60 s pong deadline", d.Round(time.Second))
		}
		requireEval(t, innocent, "1+1", "2")
	})
}

// metricSum adds up every series of a metric (any labels) in /metrics.
func (s *testServer) metricSum(t *testing.T, name string) float64 {
	t.Helper()
	var sum float64
	for series, v := range s.metrics(t) {
		if series == name || strings.HasPrefix(series, name+"{") {
			sum += v
		}
	}
	return sum
}
