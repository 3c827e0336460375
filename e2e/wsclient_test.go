package e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/client"
)

// Wire constants of iexbox.v1 that the tests assert, written out from
// docs/protocol.md rather than imported: the tests check the published
// protocol. The client (internal/client) only speaks it.
const (
	subprotocol = "iexbox.v1"

	closeExited      = 1000
	closeShutdown    = 1001
	closeTooBig      = 1009
	closeIdleTimeout = 4000
	closeMaxLifetime = 4001
	closeCapacity    = 4002
	closeProtocol    = 4004
	closeAbnormal    = 1006 // no close frame: the connection just dropped
)

// Client-side timing.
const (
	// readyWait bounds dialing, hello, container start and the first prompt.
	readyWait = 30 * time.Second
	// evalWait bounds one evaluation up to the next prompt.
	evalWait = 10 * time.Second
	// eventWait bounds waiting for an event the server sends promptly.
	eventWait = 5 * time.Second
)

// Default terminal size sent in hello: wide, so that no command typed by a
// test wraps and its echo stays on one line.
const defaultCols, defaultRows = 200, 50

// event is one JSON message from the server: ready, warning, exit or error.
type event struct {
	Type        string          `json:"type"`
	Session     string          `json:"session"`
	Instance    string          `json:"instance"`
	IdleTimeout *int            `json:"idle_timeout"`
	MaxLifetime *int            `json:"max_lifetime"`
	Runtime     string          `json:"runtime"`
	Reason      string          `json:"reason"`
	SecondsLeft int             `json:"seconds_left"`
	Code        json.RawMessage `json:"code"` // exit: a number or null; error: a string
	Message     string          `json:"message"`
	RetryAfter  int             `json:"retry_after"`
	Count       int             `json:"count"`    // viewers
	Position    *int            `json:"position"` // queued
	ETA         int             `json:"eta"`      // queued

	raw string    // the frame as received
	at  time.Time // when it arrived
}

// exitCode is an exit event's code as JSON: "0", "3" or "null".
func (e event) exitCode() string { return string(e.Code) }

// errorCode is an error event's code, such as "protocol".
func (e event) errorCode() string {
	var s string
	json.Unmarshal(e.Code, &s)
	return s
}

// wsClient is an iexbox.v1 client as a real one behaves (internal/client:
// it reads every frame and acks output once kept), with what the tests
// assert on: it keeps the output and the events, and its waits look at
// the output with ANSI escape sequences and carriage returns removed, and
// move a cursor past what they matched, so each wait sees only newer
// output.
type wsClient struct {
	conn *client.Conn
	// toolchain is what a new session's hello asks for unless the test
	// names one (see toolchainEnv).
	toolchain string

	mu                sync.Mutex
	changed           chan struct{} // closed and replaced on every change
	out               []byte        // raw terminal output
	events            []event
	outputBeforeReady bool
	closeCode         int // 0 while open
	closeText         string
	closedAt          time.Time
	outCursor         int // in the cleaned output
	eventCursor       int
}

// dial opens a WebSocket to the server's /ws offering exactly the
// subprotocols, with extra request headers. It returns the handshake
// response even when the upgrade is refused.
func (s *testServer) dial(t *testing.T, header http.Header, subprotocols ...string) (*client.Conn, *http.Response, error) {
	t.Helper()
	if subprotocols == nil {
		subprotocols = []string{} // none, not the client's default
	}
	return client.Dial(t.Context(), s.wsURL(), client.Options{Header: header, Subprotocols: subprotocols})
}

// wsURL is the server's WebSocket endpoint.
func (s *testServer) wsURL() string { return "ws://" + s.Addr + "/ws" }

// newClient opens a WebSocket speaking iexbox.v1 to the server with opts
// (their callbacks are the client's own) and sends nothing.
func (s *testServer) newClient(t *testing.T, opts client.Options) (*wsClient, *http.Response, error) {
	c, resp, err := dialClient(t, s.wsURL(), opts)
	if c != nil {
		c.toolchain = s.toolchain
	}
	return c, resp, err
}

// dialClient is newClient to any URL. The cleanup drops the connection
// and waits for its reader.
func dialClient(t *testing.T, url string, opts client.Options) (*wsClient, *http.Response, error) {
	c := &wsClient{changed: make(chan struct{})}
	opts.OnOutput, opts.OnEvent, opts.OnClose = c.output, c.event, c.closed
	conn, resp, err := client.Dial(t.Context(), url, opts)
	if err != nil {
		return nil, resp, err
	}
	c.conn = conn
	t.Cleanup(func() { conn.Drop() })
	return c, resp, nil
}

// connect opens a WebSocket speaking iexbox.v1 and sends nothing: the test
// says hello (or does not).
func (s *testServer) connect(t *testing.T) *wsClient {
	t.Helper()
	c, resp, err := s.newClient(t, client.Options{})
	if err != nil {
		t.Fatalf("dial: %v (response: %v)", err, responseSummary(resp))
	}
	if got := c.conn.Subprotocol(); got != subprotocol {
		t.Fatalf("server chose subprotocol %q, want %q", got, subprotocol)
	}
	return c
}

// openSession connects with a hello of the given size, waits for ready and
// the first prompt, and returns the client with the ready event.
func (s *testServer) openSession(t *testing.T, cols, rows int) (*wsClient, event) {
	t.Helper()
	c := s.connect(t)
	c.hello(t, cols, rows)
	ready := c.waitEvent(t, "ready", readyWait)
	c.waitPrompt(t, readyWait)
	return c, ready
}

// output keeps terminal output; the client acks it once this returns, as
// a terminal acks once it has rendered.
func (c *wsClient) output(p []byte) {
	c.update(func() {
		c.out = append(c.out, p...)
		if !slices.ContainsFunc(c.events, func(e event) bool { return e.Type == "ready" }) {
			c.outputBeforeReady = true
		}
	})
}

// event keeps an event as the tests read it.
func (c *wsClient) event(ce client.Event) {
	e := event{raw: string(ce.Raw), at: ce.At}
	if err := json.Unmarshal(ce.Raw, &e); err != nil {
		e.Type = "invalid JSON: " + err.Error()
	}
	c.update(func() { c.events = append(c.events, e) })
}

// closed records how the connection ended: closeAbnormal when it just
// dropped.
func (c *wsClient) closed(st client.CloseStatus) {
	code, text := st.Code, st.Text
	var ce *websocket.CloseError
	if !errors.As(st.Err, &ce) {
		code, text = closeAbnormal, st.Err.Error()
	}
	c.update(func() { c.closeCode, c.closeText, c.closedAt = code, text, st.At })
}

// update changes the client's state under its lock and wakes every wait.
func (c *wsClient) update(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
	close(c.changed)
	c.changed = make(chan struct{})
}

// waitFor waits until cond, evaluated under the lock, holds. It gives up
// when timeout passes or the connection has closed with cond still false.
func (c *wsClient) waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok, closed, changed := cond(), c.closeCode != 0, c.changed
		c.mu.Unlock()
		switch {
		case ok:
			return true
		case closed:
			return false
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

// mustSend fails the test when a message could not be sent:
// mustSend(t, c.conn.Share()).
func mustSend(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("send: %v", err)
	}
}

// sendText sends a text frame as is, for frames a well-behaved client
// does not send.
func (c *wsClient) sendText(t *testing.T, s string) {
	t.Helper()
	if err := c.conn.WriteRaw(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("send text frame: %v", err)
	}
}

// send sends keyboard input as one binary frame.
func (c *wsClient) send(t *testing.T, input string) {
	t.Helper()
	if err := c.trySend(input); err != nil {
		t.Fatalf("send input: %v", err)
	}
}

// trySend sends keyboard input where the connection may already be closed.
func (c *wsClient) trySend(input string) error {
	return c.conn.Input([]byte(input))
}

func (c *wsClient) hello(t *testing.T, cols, rows int) {
	t.Helper()
	c.helloWith(t, client.Hello{Cols: cols, Rows: rows})
}

// helloWith says the hello h: a resume, a viewer's, with a token or an
// exercise.
func (c *wsClient) helloWith(t *testing.T, h client.Hello) {
	t.Helper()
	if h.Toolchain == "" && h.Resume == "" && h.Watch == "" && h.Exercise == "" {
		h.Toolchain = c.toolchain
	}
	if err := c.conn.Hello(h); err != nil {
		t.Fatalf("send hello: %v", err)
	}
}

func (c *wsClient) resize(t *testing.T, cols, rows int) {
	t.Helper()
	if err := c.conn.Resize(cols, rows); err != nil {
		t.Fatalf("send resize: %v", err)
	}
}

// closeNormally sends a close frame, as a browser closing its tab does,
// and drops the connection.
func (c *wsClient) closeNormally() {
	c.conn.Close()
}

// ansiEscape matches the escape sequences a terminal interprets (CSI, OSC
// and two-character ones), which carry no text. A sequence cut short at the
// end of the output so far does not match until it is complete.
var ansiEscape = regexp.MustCompile(`\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[ -/]*[0-Z\\^-~])`)

// cleanOutput is the output as text: no escape sequences, no carriage returns.
func cleanOutput(raw []byte) string {
	return strings.ReplaceAll(ansiEscape.ReplaceAllString(string(raw), ""), "\r", "")
}

// waitMatch waits until re matches the output after the cursor, moves the
// cursor past the match and returns the text between the old cursor and
// the match.
func (c *wsClient) waitMatch(t *testing.T, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	before, found := c.tryMatch(re, timeout)
	if !found {
		c.mu.Lock()
		rest := cleanOutput(c.out)
		rest = rest[min(c.outCursor, len(rest)):]
		code := c.closeCode
		c.mu.Unlock()
		if len(rest) > 2000 {
			rest = "..." + rest[len(rest)-2000:]
		}
		t.Fatalf("no %q in the output within %v (close code %d); output after the last match:\n%q", re, timeout, code, rest)
	}
	return before
}

// tryMatch is waitMatch that reports a miss (timeout or close) instead
// of failing the test.
func (c *wsClient) tryMatch(re *regexp.Regexp, timeout time.Duration) (string, bool) {
	var before string
	found := c.waitFor(timeout, func() bool {
		text := cleanOutput(c.out)
		c.outCursor = min(c.outCursor, len(text))
		loc := re.FindStringIndex(text[c.outCursor:])
		if loc == nil {
			return false
		}
		before = text[c.outCursor : c.outCursor+loc[0]]
		c.outCursor += loc[1]
		return true
	})
	return before, found
}

// waitOutput waits for want in the output after the cursor and returns the
// text before it.
func (c *wsClient) waitOutput(t *testing.T, want string, timeout time.Duration) string {
	t.Helper()
	return c.waitMatch(t, regexp.MustCompile(regexp.QuoteMeta(want)), timeout)
}

// idlePrompt is iex's prompt at the very end of the output: iex is waiting
// for input.
var idlePrompt = regexp.MustCompile(`iex\(\d+\)> $`)

// waitPrompt waits until iex shows a prompt and waits for input (the output
// ends with its prompt), moves the cursor to the end and returns the output
// before that prompt.
func (c *wsClient) waitPrompt(t *testing.T, timeout time.Duration) string {
	t.Helper()
	return c.waitMatch(t, idlePrompt, timeout)
}

// eval types expr and Enter at a prompt, waits for the next prompt and
// returns what iex printed in between, less the echo: trimmed, with "\n"
// between lines and no colours. The cursor must be at a prompt, as
// openSession, waitPrompt and eval leave it. When Enter is pressed, iex's
// line editor may redraw the line with its prompt: that copy of the echo
// is dropped too.
func (c *wsClient) eval(t *testing.T, expr string) string {
	t.Helper()
	c.send(t, expr+"\r")
	out := c.waitPrompt(t, evalWait)
	_, result, found := strings.Cut(out, expr+"\n")
	if !found {
		t.Fatalf("the echo of %q is missing from the output %q", expr, out)
	}
	if redraw := prompt.FindStringIndex(result); redraw != nil && redraw[0] == 0 {
		result = strings.TrimPrefix(result[redraw[1]:], expr+"\n")
	}
	return strings.TrimSpace(result)
}

// prompt is iex's prompt, whatever its counter.
var prompt = regexp.MustCompile(`iex\(\d+\)> `)

// evalUntil evaluates expr until its result is want or timeout passes, for
// state that settles asynchronously (a resize).
func (c *wsClient) evalUntil(t *testing.T, expr, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := c.eval(t, expr)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q after %v, want %q", expr, got, timeout, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// nextEvent returns the next event of type typ after the event cursor and
// moves the cursor past it; ok is false if none came within timeout.
func (c *wsClient) nextEvent(typ string, timeout time.Duration) (e event, ok bool) {
	ok = c.waitFor(timeout, func() bool {
		for i := c.eventCursor; i < len(c.events); i++ {
			if c.events[i].Type == typ {
				e, c.eventCursor = c.events[i], i+1
				return true
			}
		}
		return false
	})
	return e, ok
}

// waitEvent is nextEvent, failing the test when no such event comes.
func (c *wsClient) waitEvent(t *testing.T, typ string, timeout time.Duration) event {
	t.Helper()
	e, ok := c.nextEvent(typ, timeout)
	if !ok {
		t.Fatalf("no %q event within %v; events: %s; close code %d", typ, timeout, c.eventLog(), c.closeCodeNow())
	}
	return e
}

// firstEvent returns the next event, after the event cursor, of any of
// the types, and moves the cursor past it; it fails the test when none
// comes within timeout.
func (c *wsClient) firstEvent(t *testing.T, timeout time.Duration, types ...string) event {
	t.Helper()
	var e event
	ok := c.waitFor(timeout, func() bool {
		for i := c.eventCursor; i < len(c.events); i++ {
			if slices.Contains(types, c.events[i].Type) {
				e, c.eventCursor = c.events[i], i+1
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no event of %v within %v; events: %s; close code %d", types, timeout, c.eventLog(), c.closeCodeNow())
	}
	return e
}

// eventLog is every event received so far, for failure messages.
func (c *wsClient) eventLog() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, e := range c.events {
		b.WriteString(e.raw + " ")
	}
	return "[" + strings.TrimSpace(b.String()) + "]"
}

// allEvents is a copy of every event received so far.
func (c *wsClient) allEvents() []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event(nil), c.events...)
}

// outputCameBeforeReady reports whether terminal output arrived before
// the ready event.
func (c *wsClient) outputCameBeforeReady() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outputBeforeReady
}

func (c *wsClient) closeCodeNow() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode
}

// waitClose waits until the server has closed the connection and returns
// the close code (closeAbnormal when it just dropped) and when it closed.
func (c *wsClient) waitClose(t *testing.T, timeout time.Duration) (int, time.Time) {
	t.Helper()
	if !c.waitFor(timeout, func() bool { return c.closeCode != 0 }) {
		t.Fatalf("connection still open after %v; events: %s", timeout, c.eventLog())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode, c.closedAt
}

// requireClose fails unless the server closes with want within timeout.
func (c *wsClient) requireClose(t *testing.T, want int, timeout time.Duration) {
	t.Helper()
	if got, _ := c.waitClose(t, timeout); got != want {
		c.mu.Lock()
		text := c.closeText
		c.mu.Unlock()
		t.Fatalf("close code %d (%q), want %d; events: %s", got, text, want, c.eventLog())
	}
}

// responseSummary describes a handshake response for failure messages.
func responseSummary(resp *http.Response) string {
	if resp == nil {
		return "none"
	}
	return resp.Status
}

// rawOutput is a copy of the terminal output kept so far.
func (c *wsClient) rawOutput() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.out...)
}
