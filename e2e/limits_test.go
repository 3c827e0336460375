package e2e

import (
	"strings"
	"testing"
	"time"
)

// A short limit of 4 s: the warning comes at half of it, 2 s before the end.
const (
	shortLimit    = 4 * time.Second
	shortLimitArg = "4s"
)

// keystrokes alternate a space and a backspace, so that the line at the
// prompt is empty after every second one.
var keystrokes = [2]string{" ", "\x7f"}

// openTimedSession opens a session on a warm sandbox, whose prompt is
// there at once: the limits run from ready, and a cold boot (seconds under
// gVisor) would eat into them.
func openTimedSession(t *testing.T, s *testServer) (*wsClient, event) {
	t.Helper()
	return openSessionFrom(t, s, defaultPool, defaultCols, defaultRows)
}

// requireWarning checks a warning event against the short limit.
func requireWarning(t *testing.T, w event, reason string, start time.Time) {
	t.Helper()
	if w.Reason != reason || w.SecondsLeft < 1 || w.SecondsLeft > 2 {
		t.Errorf("warning %s, want reason %s and seconds_left 2 (half of %v)", w.raw, reason, shortLimit)
	}
	if early := w.at.Sub(start); early < shortLimit/2-500*time.Millisecond {
		t.Errorf("warning after %v, want it about %v before the %v limit", early, shortLimit/2, shortLimit)
	}
}

// requireLimitExit checks that the session ended with reason at close code
// code, no earlier than the short limit after start (ready, or the last
// input), and that its container is gone.
func requireLimitExit(t *testing.T, c *wsClient, exit, ready event, reason string, code int, start time.Time) {
	t.Helper()
	if exit.Reason != reason || exit.exitCode() != "null" {
		t.Errorf("exit event %s, want reason %s and code null", exit.raw, reason)
	}
	if took := exit.at.Sub(start); took < shortLimit-500*time.Millisecond {
		t.Errorf("session ended %v after its clock started, before the %v limit", took, shortLimit)
	}
	c.requireClose(t, code, eventWait)
	requireSessionGone(t, ready.Session, 2*time.Second)
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	t.Run("warning then exit", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "-idle-timeout", shortLimitArg)
		c, ready := openTimedSession(t, s)
		if ready.IdleTimeout == nil || *ready.IdleTimeout != 4 {
			t.Errorf("ready %s, want idle_timeout 4", ready.raw)
		}
		// No input yet: the idle clock runs from ready.
		requireWarning(t, c.waitEvent(t, "warning", shortLimit), "idle_timeout", ready.at)
		requireLimitExit(t, c, c.waitEvent(t, "exit", shortLimit), ready, "idle_timeout", closeIdleTimeout, ready.at)
	})
	t.Run("typing keeps a session alive", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "-idle-timeout", shortLimitArg)
		c, _ := openTimedSession(t, s)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := range 2 * int(shortLimit/time.Second) { // twice the limit
			c.send(t, keystrokes[i%2])
			<-tick.C
		}
		if events := c.allEvents(); len(events) != 1 {
			t.Fatalf("events while typing: %s, want only ready", c.eventLog())
		}
		c.waitPrompt(t, evalWait) // the line editor redraws the prompt on a backspace
		if got := c.eval(t, "1+1"); got != "2" {
			t.Errorf("1+1 after typing for %v printed %q, want 2", 2*shortLimit, got)
		}
	})
	t.Run("output alone does not", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "-idle-timeout", shortLimitArg)
		c, ready := openTimedSession(t, s)
		c.send(t, "Stream.interval(200) |> Stream.each(&IO.puts/1) |> Stream.run()\r")
		lastInput := time.Now()
		c.waitOutput(t, "\n0\n1\n", evalWait)
		requireWarning(t, c.waitEvent(t, "warning", shortLimit), "idle_timeout", lastInput)
		requireLimitExit(t, c, c.waitEvent(t, "exit", shortLimit), ready, "idle_timeout", closeIdleTimeout, lastInput)
		// It printed all along: 15 numbers take 3 s of the 4 s.
		c.mu.Lock()
		defer c.mu.Unlock()
		if out := cleanOutput(c.out); !strings.Contains(out, "\n15\n") {
			t.Errorf("the stream printed too little to count as output all along: %q", out[max(len(out)-200, 0):])
		}
	})
}

func TestMaxLifetime(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-max-lifetime", shortLimitArg)
	c, ready := openTimedSession(t, s)
	if ready.MaxLifetime == nil || *ready.MaxLifetime != 4 {
		t.Errorf("ready %s, want max_lifetime 4", ready.raw)
	}
	// Type all along: input does not extend a lifetime.
	requireWarning(t, typeUntil(t, c, "warning", 2*shortLimit), "max_lifetime", ready.at)
	exit := typeUntil(t, c, "exit", shortLimit)
	requireLimitExit(t, c, exit, ready, "max_lifetime", closeMaxLifetime, ready.at)
}

// typeUntil types a key every half second until an event of type typ
// arrives, and returns it.
func typeUntil(t *testing.T, c *wsClient, typ string, timeout time.Duration) event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for i := 0; ; i++ {
		c.trySend(keystrokes[i%2]) // the server may close at any moment
		if e, ok := c.nextEvent(typ, 500*time.Millisecond); ok {
			return e
		}
		if time.Now().After(deadline) || c.closeCodeNow() != 0 {
			t.Fatalf("no %s event within %v of typing; events: %s; close code %d", typ, timeout, c.eventLog(), c.closeCodeNow())
		}
	}
}
