package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"iexbox/internal/process"
	"iexbox/internal/protocol"
	"iexbox/internal/sandbox"
	"iexbox/internal/session"
)

func TestSubprotocolRequired(t *testing.T) {
	ts := newTestServer(t, serverOpts{})
	for _, protos := range [][]string{nil, {"iexbox.v0"}, {"chat", "iexbox"}} {
		t.Run(fmt.Sprint(protos), func(t *testing.T) {
			_, resp, err := ts.dial(t, protos, nil)
			if err == nil {
				t.Fatal("upgraded without the iexbox.v1 subprotocol")
			}
			if resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("response %+v, want 400", resp)
			}
			body, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(body), protocol.Subprotocol) {
				t.Errorf("400 body %q does not say which subprotocol to offer", body)
			}
		})
	}
	// Offered among others, it is chosen.
	p, _, err := ts.dial(t, []string{"chat", protocol.Subprotocol}, nil)
	if err != nil {
		t.Fatalf("dial offering two subprotocols: %v", err)
	}
	if p.c.Subprotocol() != protocol.Subprotocol {
		t.Errorf("subprotocol %q, want %q", p.c.Subprotocol(), protocol.Subprotocol)
	}
}

func TestOriginAtUpgrade(t *testing.T) {
	ts := newTestServer(t, serverOpts{origins: "https://lessons.example, http://localhost:3000"})
	tests := []struct {
		name   string
		origin string
		want   int
	}{
		{"no origin (not a browser)", "", http.StatusSwitchingProtocols},
		{"own origin", ts.url, http.StatusSwitchingProtocols},
		{"own origin, other case", strings.ToUpper(ts.url[:4]) + ts.url[4:], http.StatusSwitchingProtocols},
		{"listed origin", "https://lessons.example", http.StatusSwitchingProtocols},
		{"listed origin with default port", "https://lessons.example:443", http.StatusSwitchingProtocols},
		{"listed origin with port", "http://localhost:3000", http.StatusSwitchingProtocols},
		{"foreign origin", "https://evil.example", http.StatusForbidden},
		{"listed host, other scheme", "http://lessons.example", http.StatusForbidden},
		{"listed host, other port", "http://localhost:3001", http.StatusForbidden},
		{"own host, https", "https" + strings.TrimPrefix(ts.url, "http"), http.StatusForbidden},
		{"opaque origin", "null", http.StatusForbidden},
		{"suffix trick", "https://lessons.example.evil.example", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.origin != "" {
				hdr.Set("Origin", tt.origin)
			}
			_, resp, err := ts.dial(t, []string{protocol.Subprotocol}, hdr)
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tt.want {
				t.Errorf("Origin %q: status %d, want %d", tt.origin, resp.StatusCode, tt.want)
			}
		})
	}
	ts.waitActive(t, 0)
}

func TestHelloReadyEcho(t *testing.T) {
	ts := newTestServer(t, serverOpts{limits: session.Limits{Idle: 5 * time.Minute, Lifetime: 30 * time.Minute}})
	p, ready := ts.start(t, 100, 30)

	if _, err := uuid.Parse(ready.Session); err != nil {
		t.Errorf("ready session %q is not a uuid: %v", ready.Session, err)
	}
	want := protocol.Ready{Type: "ready", Session: ready.Session, Instance: "test-inst", IdleTimeout: 300, MaxLifetime: 1800, LifetimeLeft: 1800, Runtime: "process",
		Toolchain: "default"}
	if ready != want {
		t.Errorf("ready = %+v, want %+v", ready, want)
	}
	if n := p.texts()[0].OutputBefore; n != 0 {
		t.Errorf("output %q arrived before ready", p.output()[:n])
	}
	if ts.mgr.Active() != 1 {
		t.Errorf("Active = %d, want 1", ts.mgr.Active())
	}

	p.must(p.c.Ack(0))
	p.sendText(`{"type":"resize","cols":0,"rows":9999,"future":"field"}`)
	p.sendBinary([]byte("héllo 👋\n"))
	p.waitOutput("héllo 👋\r\nhéllo 👋\r\n") // the tty's echo, then cat's copy
	for _, f := range p.texts()[1:] {
		t.Errorf("unexpected text frame %s", f.Raw)
	}

	p.c.Drop()
	ts.waitActive(t, 0)
}

// TestResizeReachesTerminal checks a resize message changes the pty size.
func TestResizeReachesTerminal(t *testing.T) {
	ts := newTestServer(t, serverOpts{argv: []string{"sh", "-c", `stty size; while read l; do stty size; done`}})
	p, _ := ts.start(t, 81, 25)
	// A resize is applied beside the input stream (and a sandbox booted
	// ahead of the hello starts at another size), so ask until the size
	// shows; each newline prints one size.
	sizes := regexp.MustCompile(`(?m)^\d+ \d+\r$`)
	until := func(want string) {
		t.Helper()
		for i := 0; !strings.Contains(p.output(), want); i++ {
			if i == 50 {
				t.Fatalf("size %s never reached the terminal: %q", want, p.output())
			}
			seen := len(sizes.FindAll(p.c.Output(), -1))
			p.sendBinary([]byte("\n"))
			ctx, cancel := context.WithTimeout(t.Context(), patience)
			err := p.c.WaitOutputFunc(ctx, func(out []byte) bool { return len(sizes.FindAll(out, -1)) != seen })
			cancel()
			if err != nil {
				t.Fatalf("waiting for a size: %v; got %q", err, p.output())
			}
		}
	}
	until("25 81")
	p.must(p.c.Resize(123, 45))
	until("45 123")
}

func TestBadInputBeforeHello(t *testing.T) {
	tests := []struct {
		name  string
		send  func(p *peer)
		inMsg string // the error message names the problem
	}{
		{"non-JSON text", func(p *peer) { p.sendText("hello there") }, "JSON"},
		{"unknown type", func(p *peer) { p.sendText(`{"type":"launch"}`) }, "launch"},
		{"size as a string", func(p *peer) { p.sendText(`{"type":"hello","cols":"80","rows":24}`) }, "cols"},
		{"hello without rows", func(p *peer) { p.sendText(`{"type":"hello","cols":80}`) }, "rows"},
		{"input before hello", func(p *peer) { p.sendBinary([]byte("IO.puts(1)\r")) }, "hello"},
		{"resize before hello", func(p *peer) { p.sendText(`{"type":"resize","cols":80,"rows":24}`) }, "hello"},
		{"ack before hello", func(p *peer) { p.sendText(`{"type":"ack","bytes":1}`) }, "hello"},
	}
	ts := newTestServer(t, serverOpts{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ts.connect(t)
			tt.send(p)
			e := p.expectError(protocol.CodeProtocol, protocol.CloseProtocol)
			if !strings.Contains(e.Message, tt.inMsg) || strings.HasPrefix(e.Message, "protocol violation") {
				t.Errorf("message %q, want one naming %q without the sentinel prefix", e.Message, tt.inMsg)
			}
			if ts.mgr.Active() != 0 {
				t.Errorf("a session was admitted for a bad hello")
			}
		})
	}
}

func TestLateHello(t *testing.T) {
	if testing.Short() {
		t.Skip("waits helloWait (10 s)")
	}
	t.Parallel()
	ts := newTestServer(t, serverOpts{})
	p := ts.connect(t)
	p.wait = helloWait + patience
	start := time.Now()
	e := p.expectError(protocol.CodeProtocol, protocol.CloseProtocol)
	if took := time.Since(start); took < helloWait-time.Second || took > helloWait+5*time.Second {
		t.Errorf("refused after %v, want about %v", took, helloWait)
	}
	if !strings.Contains(e.Message, "hello") {
		t.Errorf("message %q does not mention the hello", e.Message)
	}
}

func TestBadInputAfterHello(t *testing.T) {
	tests := []struct {
		name string
		send string
	}{
		{"non-JSON text", "ls -la"},
		{"unknown type", `{"type":"paste","data":"x"}`},
		{"second hello", `{"type":"hello","cols":80,"rows":24}`},
		{"size as a string", `{"type":"resize","cols":"wide","rows":24}`},
		{"size null", `{"type":"resize","cols":null,"rows":24}`},
		{"negative ack", `{"type":"ack","bytes":-1}`},
		{"two JSON values", `{"type":"ack","bytes":1}{"type":"ack","bytes":1}`},
	}
	ts := newTestServer(t, serverOpts{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := ts.start(t, 80, 24)
			p.sendBinary([]byte("still fine\n"))
			p.waitOutput("still fine")
			p.sendText(tt.send)
			p.expectError(protocol.CodeProtocol, protocol.CloseProtocol)
			ts.waitActive(t, 0)
		})
	}
}

func TestFrameTooBig(t *testing.T) {
	ts := newTestServer(t, serverOpts{})
	t.Run("after hello", func(t *testing.T) {
		p, _ := ts.start(t, 80, 24)
		p.sendBinary(bytes.Repeat([]byte("x"), protocol.MaxInputFrame+1))
		if code := p.closed(); code != websocket.CloseMessageTooBig {
			t.Errorf("closed with %d, want 1009", code)
		}
		if len(p.texts()) != 1 { // ready only: 1009 comes without an event
			t.Errorf("text frames %s, want only ready", p.textsString())
		}
		ts.waitActive(t, 0)
	})
	t.Run("as the hello", func(t *testing.T) {
		p := ts.connect(t)
		p.sendText(`{"type":"hello","cols":80,"rows":24,"pad":"` + strings.Repeat("x", protocol.MaxInputFrame) + `"}`)
		if code := p.closed(); code != websocket.CloseMessageTooBig {
			t.Errorf("closed with %d, want 1009", code)
		}
	})
}

// TestFrameAtTheLimit checks a 64 KiB paste arrives whole, and that a program
// exiting by itself ends the session with exit/exited and 1000.
func TestFrameAtTheLimit(t *testing.T) {
	ts := newTestServer(t, serverOpts{argv: []string{"sh", "-c", "stty -echo; wc -c"}})
	p, _ := ts.start(t, 80, 24)
	line := strings.Repeat("x", 63) + "\n"
	p.sendBinary([]byte(strings.Repeat(line, protocol.MaxInputFrame/len(line))))
	p.sendBinary([]byte{4}) // Ctrl-D: end of input
	p.expectExit(protocol.ReasonExited, intp(0), protocol.CloseExited)
	if !strings.Contains(p.output(), fmt.Sprint(protocol.MaxInputFrame)) {
		t.Errorf("wc counted %q, want %d bytes", p.output(), protocol.MaxInputFrame)
	}
}

func TestProgramExitCode(t *testing.T) {
	ts := newTestServer(t, serverOpts{argv: []string{"sh", "-c", "echo bye; exit 3"}})
	p, _ := ts.start(t, 80, 24)
	p.expectExit(protocol.ReasonExited, intp(3), protocol.CloseExited)
	if !strings.Contains(p.output(), "bye") {
		t.Errorf("output %q, want the program's last words before the exit", p.output())
	}
	ts.waitActive(t, 0)
}

func TestLimitsOverTheWire(t *testing.T) {
	tests := []struct {
		name      string
		limits    session.Limits
		reason    string
		closeCode int
	}{
		{"idle", session.Limits{Idle: time.Second}, protocol.ReasonIdleTimeout, protocol.CloseIdleTimeout},
		{"lifetime", session.Limits{Lifetime: time.Second}, protocol.ReasonMaxLifetime, protocol.CloseMaxLifetime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, serverOpts{limits: tt.limits})
			p, ready := ts.start(t, 80, 24)
			if ready.IdleTimeout != int(tt.limits.Idle/time.Second) || ready.MaxLifetime != int(tt.limits.Lifetime/time.Second) {
				t.Errorf("ready %+v does not carry the limits %+v", ready, tt.limits)
			}
			var w protocol.Warning
			p.event(protocol.TypeWarning, &w)
			if w.Reason != tt.reason || w.SecondsLeft != 1 {
				t.Errorf("warning %+v, want %s with 1 s left", w, tt.reason)
			}
			p.expectExit(tt.reason, nil, tt.closeCode)
			ts.waitActive(t, 0)
		})
	}
}

func TestShutdownOverTheWire(t *testing.T) {
	ts := newTestServer(t, serverOpts{})
	p, _ := ts.start(t, 80, 24)
	shut := make(chan error, 1)
	go func() { shut <- ts.mgr.Shutdown(t.Context()) }()
	p.expectExit(protocol.ReasonShutdown, nil, protocol.CloseShutdown)
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v", err)
	}

	// Once shutting down, newcomers are told to come back later.
	late := ts.connect(t)
	late.hello(80, 24)
	if e := late.expectError(protocol.CodeUnavailable, protocol.CloseUnavailable); e.RetryAfter <= 0 {
		t.Errorf("error %+v, want retry_after", e)
	}
}

func TestSandboxStartFails(t *testing.T) {
	ts := newTestServer(t, serverOpts{argv: []string{"/nonexistent/iexbox-program"}})
	p := ts.connect(t)
	p.hello(80, 24)
	if e := p.expectError(protocol.CodeUnavailable, protocol.CloseUnavailable); e.RetryAfter <= 0 {
		t.Errorf("error %+v, want retry_after", e)
	}
	ts.waitActive(t, 0)
}

// fullBackend is a backend with no room, as a full cluster answers.
type fullBackend struct{ sandbox.Backend }

func (fullBackend) Start(context.Context, sandbox.Spec) (sandbox.Sandbox, error) {
	return nil, fmt.Errorf("start pod: %w: no node can take the pod", sandbox.ErrNoRoom)
}

// TestSandboxStartNoRoom: a backend that has no room refuses with
// capacity, not unavailable.
func TestSandboxStartNoRoom(t *testing.T) {
	ts := newTestServer(t, serverOpts{backend: fullBackend{process.New([]string{"cat"}, nil)}})
	p := ts.connect(t)
	p.hello(80, 24)
	if e := p.expectError(protocol.CodeCapacity, protocol.CloseCapacity); e.RetryAfter <= 0 {
		t.Errorf("error %+v, want retry_after", e)
	}
	ts.waitActive(t, 0)
}

func TestMethodNotAllowed(t *testing.T) {
	ts := newTestServer(t, serverOpts{})
	resp, err := http.Post(ts.url+"/ws", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /ws: %d, want 405", resp.StatusCode)
	}
}

// TestEndingsCoverEveryReason: every end a session may report has its
// row, with a wire reason or an error code, so none falls to exit error.
func TestEndingsCoverEveryReason(t *testing.T) {
	for _, r := range []session.Reason{session.ReasonExited, session.ReasonIdleTimeout, session.ReasonMaxLifetime,
		session.ReasonOOM, session.ReasonShutdown, session.ReasonError, session.ReasonClosed, session.ReasonProtocol,
		session.ReasonLagging, session.ReasonUnshared} {
		how, ok := endings[r]
		if !ok || (how.reason == "") == (how.errorCode == "") {
			t.Errorf("reason %q: ending %+v, want one row with either a wire reason or an error code", r, how)
		}
	}
}
