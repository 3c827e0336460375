package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// helloWait is how long the server waits for the first frame.
const helloWait = 10 * time.Second

// frame is one WebSocket data frame a test sends.
type frame struct {
	binary bool
	data   string
}

func text(s string) frame   { return frame{data: s} }
func binary(s string) frame { return frame{binary: true, data: s} }

func (f frame) send(t *testing.T, c *wsClient) {
	t.Helper()
	if f.binary {
		c.send(t, f.data)
	} else {
		c.sendText(t, f.data)
	}
}

// TestBadInput: every protocol violation, before hello or during a
// session, gets an error event with code protocol, then close 4004, and
// leaves no container.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, tc := range []struct {
		name       string
		afterReady bool    // open a session first
		frames     []frame // nothing: the client stays silent
	}{
		{name: "non-JSON text", frames: []frame{text("hello there")}},
		{name: "unknown type", frames: []frame{text(`{"type":"greetings","cols":80,"rows":24}`)}},
		{name: "missing hello"},
		{name: "input before hello", frames: []frame{binary("1+1\r")}},
		{name: "resize before hello", frames: []frame{text(`{"type":"resize","cols":80,"rows":24}`)}},
		{name: "hello with cols as a string", frames: []frame{text(`{"type":"hello","cols":"80","rows":24}`)}},
		{name: "hello without rows", frames: []frame{text(`{"type":"hello","cols":80}`)}},
		{name: "resize with rows as a string", afterReady: true, frames: []frame{text(`{"type":"resize","cols":80,"rows":"24"}`)}},
		{name: "unknown type after ready", afterReady: true, frames: []frame{text(`{"type":"greetings"}`)}},
		{name: "second hello", afterReady: true, frames: []frame{text(`{"type":"hello","cols":80,"rows":24}`)}},
		{name: "ack that is not a number", afterReady: true, frames: []frame{text(`{"type":"ack","bytes":"many"}`)}},
		{name: "non-JSON text after ready", afterReady: true, frames: []frame{text("1+1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c *wsClient
			var ready event
			if tc.afterReady {
				c, ready = s.openSession(t, defaultCols, defaultRows)
			} else {
				c = s.connect(t)
			}
			for _, f := range tc.frames {
				f.send(t, c)
			}
			wait := eventWait
			if len(tc.frames) == 0 {
				wait = helloWait + eventWait
			}
			refusal := c.waitEvent(t, "error", wait)
			if refusal.errorCode() != "protocol" || strings.TrimSpace(refusal.Message) == "" {
				t.Errorf("error event %s, want code protocol and a message", refusal.raw)
			}
			c.requireClose(t, closeProtocol, eventWait)
			if tc.afterReady {
				requireSessionGone(t, ready.Session, 2*time.Second)
			}
		})
	}
}

// TestOversizeFrame: input frames over 64 KiB are refused by the WebSocket
// layer itself with close 1009, before hello or during a session.
func TestOversizeFrame(t *testing.T) {
	s := startServer(t)
	oversize := strings.Repeat("x", 64<<10+1)
	for _, tc := range []struct {
		name       string
		afterReady bool
	}{
		{"before hello", false},
		{"after ready", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *wsClient
			var ready event
			if tc.afterReady {
				c, ready = s.openSession(t, defaultCols, defaultRows)
			} else {
				c = s.connect(t)
			}
			c.send(t, oversize)
			c.requireClose(t, closeTooBig, eventWait)
			if tc.afterReady {
				requireSessionGone(t, ready.Session, 2*time.Second)
			}
		})
	}
	t.Run("64 KiB exactly is fine", func(t *testing.T) {
		c, _ := s.openSession(t, defaultCols, defaultRows)
		head, tail := `String.length("`, `")`
		n := 64<<10 - len(head) - len(tail) - 1 // and the Enter
		c.send(t, head+strings.Repeat("x", n)+tail+"\r")
		// The echo of so long a line is a line editor's business: look
		// at the result only.
		out := strings.TrimSpace(c.waitPrompt(t, evalWait))
		if want := strconv.Itoa(n); !strings.HasSuffix(out, "\n"+want) {
			t.Errorf("the length of a 64 KiB paste printed %q, want %s", out[max(len(out)-100, 0):], want)
		}
	})
}
