package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"iexbox/internal/client"
)

// closeResumeFailed is the close code of error resume_failed.
const closeResumeFailed = 4010

// field reads one field of an event's raw JSON.
func field[T any](t *testing.T, e event, name string) T {
	t.Helper()
	var m map[string]json.RawMessage
	var v T
	if err := json.Unmarshal([]byte(e.raw), &m); err != nil {
		t.Fatalf("event %s: %v", e.raw, err)
	}
	if raw, ok := m[name]; ok {
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("event %s: field %s: %v", e.raw, name, err)
		}
	}
	return v
}

// openResumable starts a resumable session and returns it with its resume
// token.
func openResumable(t *testing.T, s *testServer) (*wsClient, event, string) {
	t.Helper()
	c := s.connect(t)
	c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Resumable: true})
	ready := c.waitEvent(t, "ready", readyWait)
	c.waitPrompt(t, readyWait)
	token := field[string](t, ready, "resume")
	if token == "" {
		t.Fatalf("ready of a resumable session has no resume token: %s", ready.raw)
	}
	return c, ready, token
}

// resume connects with a resume hello.
func resume(t *testing.T, s *testServer, token string) *wsClient {
	t.Helper()
	c := s.connect(t)
	c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Resume: token})
	return c
}

func TestResumeKeepsTheSandbox(t *testing.T) {
	s := startServer(t, "-pool", "0")
	c, ready, token := openResumable(t, s)
	if got := c.eval(t, "x = 41"); got != "41" {
		t.Fatalf("x = 41 printed %q", got)
	}
	c.conn.Drop() // a network drop: no close frame, no end message
	time.Sleep(500 * time.Millisecond)
	if n := len(s.containers(t)); n != 1 {
		t.Fatalf("%d containers while detached, want the session's one", n)
	}

	c2 := resume(t, s, token)
	ready2 := c2.waitEvent(t, "ready", eventWait)
	if ready2.Session != ready.Session {
		t.Errorf("resumed session %s, want %s", ready2.Session, ready.Session)
	}
	token2 := field[string](t, ready2, "resume")
	if token2 == "" || token2 == token {
		t.Errorf("resume token after resuming %q, want a fresh one", token2)
	}
	c2.waitOutput(t, "x = 41", eventWait) // the history redraws the screen
	c2.waitPrompt(t, eventWait)
	if got := c2.eval(t, "x + 1"); got != "42" {
		t.Errorf("x + 1 after resuming printed %q, want 42", got)
	}

	again := resume(t, s, token) // a token works once
	if e := again.waitEvent(t, "error", eventWait); e.errorCode() != "resume_failed" {
		t.Errorf("second use of a token: %s, want resume_failed", e.raw)
	}
	again.requireClose(t, closeResumeFailed, eventWait)

	mustSend(t, c2.conn.End())
	requireSessionGone(t, ready.Session, 3*time.Second)
}

func TestResumeFailsForUnknownToken(t *testing.T) {
	s := startServer(t, "-pool", "0")
	c := resume(t, s, "AAAAAAAAAAAAAAAAAAAAAAAAAA")
	if e := c.waitEvent(t, "error", eventWait); e.errorCode() != "resume_failed" {
		t.Errorf("unknown token: %s, want resume_failed", e.raw)
	}
	c.requireClose(t, closeResumeFailed, eventWait)
	if n := len(s.containers(t)); n != 0 {
		t.Errorf("%d containers after a failed resume, want none", n)
	}
}

func TestDetachedSessionEndsAfterTheGrace(t *testing.T) {
	s := startServer(t, "-pool", "0", "-resume-grace", "2s")
	c, ready, token := openResumable(t, s)
	c.closeNormally() // a reload: close 1001, no end message
	start := time.Now()
	requireSessionGone(t, ready.Session, 6*time.Second)
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("the sandbox went after %v, before the 2 s grace", took)
	}
	late := resume(t, s, token)
	if e := late.waitEvent(t, "error", eventWait); e.errorCode() != "resume_failed" {
		t.Errorf("resume after the grace: %s, want resume_failed", e.raw)
	}
}

func TestNotResumableEndsAtOnce(t *testing.T) {
	s := startServer(t, "-pool", "0")
	c, ready := s.openSession(t, defaultCols, defaultRows)
	if tok := field[string](t, ready, "resume"); tok != "" {
		t.Errorf("a session that did not ask has a resume token %q", tok)
	}
	c.closeNormally()
	requireSessionGone(t, ready.Session, 2*time.Second)
}
