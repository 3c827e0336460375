package e2e

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestClientCloseRemovesContainer(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		name  string
		close func(*wsClient)
	}{
		{"close frame", (*wsClient).closeNormally},
		{"dropped connection", func(c *wsClient) { c.conn.Drop() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ready := s.openSession(t, defaultCols, defaultRows)
			if ids := containersLabelled(t, labelSession+"="+ready.Session); len(ids) != 1 {
				t.Fatalf("%d containers labelled with session %s before the close, want 1", len(ids), ready.Session)
			}
			tc.close(c)
			requireSessionGone(t, ready.Session, 2*time.Second)
		})
	}
}

// TestCrashRecovery: a server killed with live sessions leaves their
// containers; restarted under the same instance name it removes them
// before it serves anyone.
func TestCrashRecovery(t *testing.T) {
	first := startServer(t)
	var sessions []string
	for range 2 {
		_, ready := first.openSession(t, defaultCols, defaultRows)
		sessions = append(sessions, ready.Session)
	}
	first.kill(t)

	orphans := first.containers(t)
	for _, id := range sessions {
		if n := len(containersLabelled(t, labelSession+"="+id)); n != 1 {
			t.Fatalf("after kill -9, %d containers of session %s, want 1 left behind", n, id)
		}
	}

	second := startServer(t, "-instance", first.Instance)
	// Right after start-up, before any session: none of the orphans is left
	// (the new server's own warm sandboxes may be there already).
	if left := slices.DeleteFunc(second.containers(t), func(id string) bool {
		return !slices.Contains(orphans, id)
	}); len(left) > 0 {
		t.Errorf("orphans still there after the restart: %v", left)
	}
}

// TestCapacity: at -max-sessions a newcomer waits in line; still waiting
// at -queue-timeout, it is told capacity.
func TestCapacity(t *testing.T) {
	s := startServer(t, "-max-sessions", "1", "-queue-timeout", "2s")
	s.waitPoolReady(t) // the first takes it at once, well within -queue-timeout
	first, _ := s.openSession(t, defaultCols, defaultRows)

	second := s.connect(t)
	second.hello(t, defaultCols, defaultRows)
	refusal := second.waitEvent(t, "error", readyWait)
	if refusal.errorCode() != "capacity" || refusal.RetryAfter <= 0 || refusal.Message == "" {
		t.Errorf("refusal %s, want code capacity, a message and retry_after > 0", refusal.raw)
	}
	second.requireClose(t, closeCapacity, eventWait)

	// The place is free again once the first session has ended.
	first.closeNormally()
	s.waitStatus(t, "free of sessions", 5*time.Second, func(st serverStatus) bool { return st.Sessions.Active == 0 })
	s.waitPoolReady(t) // refilled now that the slot is free
	third, _ := s.openSession(t, defaultCols, defaultRows)
	if got := third.eval(t, "1+1"); got != "2" {
		t.Errorf("1+1 printed %q, want 2", got)
	}
}

// TestShutdown: on SIGTERM the live session is told at once, and the
// server exits having removed its container (checked by the cleanup).
func TestShutdown(t *testing.T) {
	s := startServer(t)
	c, _ := s.openSession(t, defaultCols, defaultRows)
	sent := time.Now()
	s.signal(t, syscall.SIGTERM)

	exit := c.waitEvent(t, "exit", eventWait)
	if exit.Reason != "shutdown" {
		t.Errorf("exit event %s, want reason shutdown", exit.raw)
	}
	code, closed := c.waitClose(t, eventWait)
	if code != closeShutdown {
		t.Errorf("close code %d, want %d", code, closeShutdown)
	}
	if took := closed.Sub(sent); took > 1500*time.Millisecond {
		t.Errorf("closed %v after SIGTERM, want about a second at most", took)
	}
	if !s.waitExit(serverStopWait) {
		t.Errorf("server still running %v after SIGTERM", serverStopWait)
	}
}
