package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// pools are the two ways a session gets its sandbox: booted ahead of time
// by the warm pool, or started for it.
var pools = []struct{ name, size string }{
	{"warm", "1"},
	{"cold", "0"},
}

// openSessionFrom opens a session on a warm sandbox (waiting for the pool
// to hold one) or a cold one, as the server's pool size dictates.
func openSessionFrom(t *testing.T, s *testServer, pool string, cols, rows int) (*wsClient, event) {
	t.Helper()
	if pool != "0" {
		s.waitPoolReady(t)
	}
	return s.openSession(t, cols, rows)
}

func TestConnect(t *testing.T) {
	for _, p := range pools {
		t.Run(p.name, func(t *testing.T) {
			s := startServer(t, "-pool", p.size)
			c, ready := openSessionFrom(t, s, p.size, defaultCols, defaultRows)

			// Before ready only queued events may come (waiting for a boot).
			for _, e := range c.allEvents() {
				if e.Type == "ready" {
					break
				}
				if e.Type != "queued" {
					t.Errorf("event %s before ready", e.raw)
				}
			}
			if c.outputCameBeforeReady() {
				t.Error("terminal output arrived before ready")
			}
			if !uuidPattern.MatchString(ready.Session) {
				t.Errorf("ready session %q is not a UUID", ready.Session)
			}
			if ready.Instance != s.Instance {
				t.Errorf("ready instance %q, want %q", ready.Instance, s.Instance)
			}
			if ready.IdleTimeout == nil || *ready.IdleTimeout != 300 || ready.MaxLifetime == nil || *ready.MaxLifetime != 1800 {
				t.Errorf("ready limits in %s, want idle_timeout 300 and max_lifetime 1800 (the defaults)", ready.raw)
			}
			if rt := s.status(t).Runtime; ready.Runtime != rt || (rt != "runc" && rt != "runsc") {
				t.Errorf("ready runtime %q, /status runtime %q: want the same, runc or runsc", ready.Runtime, rt)
			}
			if ids := containersLabelled(t, labelSession+"="+ready.Session); len(ids) != 1 {
				t.Errorf("%d containers labelled with session %s, want 1", len(ids), ready.Session)
			}
		})
	}
}

func TestEval(t *testing.T) {
	s := startServer(t)
	c, _ := s.openSession(t, defaultCols, defaultRows)
	for _, tc := range []struct{ name, expr, want string }{
		{"arithmetic", "1+1", "2"},
		{"UTF-8 output", `IO.puts("héllo 👋")`, "héllo 👋\n:ok"},
		{"UTF-8 input", `String.codepoints("héllo 👋")`, `["h", "é", "l", "l", "o", " ", "👋"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.eval(t, tc.expr); got != tc.want {
				t.Errorf("%s printed %q, want %q", tc.expr, got, tc.want)
			}
		})
	}
}

func TestTerminalSize(t *testing.T) {
	for _, p := range pools {
		t.Run("hello size on a "+p.name+" sandbox", func(t *testing.T) {
			s := startServer(t, "-pool", p.size)
			c, _ := openSessionFrom(t, s, p.size, 97, 31)
			// At once, not eventually: the first prompt must see the size.
			if got := c.eval(t, ":io.columns()"); got != "{:ok, 97}" {
				t.Errorf(":io.columns() right after the prompt = %q, want {:ok, 97}", got)
			}
			if got := c.eval(t, ":io.rows()"); got != "{:ok, 31}" {
				t.Errorf(":io.rows() = %q, want {:ok, 31}", got)
			}
		})
	}
	t.Run("resize", func(t *testing.T) {
		s := startServer(t)
		c, _ := s.openSession(t, 100, 30)
		c.resize(t, 123, 40)
		// The resize travels beside the input: iex may see it a moment later.
		c.evalUntil(t, ":io.columns()", "{:ok, 123}", 5*time.Second)
		c.evalUntil(t, ":io.rows()", "{:ok, 40}", 5*time.Second)
	})
}

// TestHelloSizeClamped: sizes out of range are clamped, not refused, and
// unknown fields are ignored.
func TestHelloSizeClamped(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		name, hello, expr, want string
	}{
		{"cols 0, rows 9999", `{"type":"hello","cols":0,"rows":9999,"theme":"dark"}`, ":io.rows()", "{:ok, 200}"},
		{"cols 9999, rows 0", `{"type":"hello","cols":9999,"rows":0,"future":{"x":1}}`, ":io.columns()", "{:ok, 500}"},
		{"fractions", `{"type":"hello","cols":120.7,"rows":40.2}`, ":io.columns()", "{:ok, 120}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.connect(t)
			c.sendText(t, tc.hello)
			c.waitEvent(t, "ready", readyWait)
			c.waitOutput(t, "iex(1)> ", readyWait)
			c.send(t, tc.expr+"\r")
			// A 1-column terminal wraps everything iex prints (and its
			// line editor backspaces): allow any blanks between words.
			words := strings.Fields(tc.want)
			for i, w := range words {
				words[i] = regexp.QuoteMeta(w)
			}
			c.waitMatch(t, regexp.MustCompile(strings.Join(words, `[\s\x08]+`)), evalWait)
		})
	}
}

func TestCtrlCInterrupts(t *testing.T) {
	s := startServer(t)
	c, _ := s.openSession(t, defaultCols, defaultRows)
	c.send(t, ":timer.sleep(:infinity)\r")
	c.waitOutput(t, ":timer.sleep(:infinity)\n", evalWait) // echoed: iex has the line
	c.send(t, "\x03")
	c.waitOutput(t, "** (EXIT) interrupted", evalWait)
	c.waitPrompt(t, evalWait)
	if got := c.eval(t, "2+3"); got != "5" {
		t.Errorf("2+3 after Ctrl-C printed %q, want 5", got)
	}
}

func TestHalt(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct{ expr, code string }{
		{"System.halt()", "0"},
		{"System.halt(3)", "3"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			c, ready := s.openSession(t, defaultCols, defaultRows)
			c.send(t, tc.expr+"\r")
			exit := c.waitEvent(t, "exit", evalWait)
			if exit.Reason != "exited" || exit.exitCode() != tc.code {
				t.Errorf("exit event %s, want reason exited and code %s", exit.raw, tc.code)
			}
			c.requireClose(t, closeExited, eventWait)
			requireSessionGone(t, ready.Session, 2*time.Second)
		})
	}
}
