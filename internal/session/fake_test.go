package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iexbox/internal/sandbox"
)

// fakeSandbox is a Sandbox whose program the test plays: emit writes its
// output, exit ends it. It records input and resizes and counts Close.
type fakeSandbox struct {
	id   string
	outR *io.PipeReader
	outW *io.PipeWriter // the program's end of its terminal output

	closes atomic.Int32
	closed chan struct{}
	once   sync.Once

	mu         sync.Mutex
	input      bytes.Buffer
	sizes      [][2]int
	resizeGate chan struct{} // when set, Resize blocks until it is closed
	status     sandbox.ExitStatus
	waitErr    error
	writeErr   error // when set, Write fails with it (the program has gone)
}

var _ sandbox.Sandbox = (*fakeSandbox)(nil)

func newFakeSandbox() *fakeSandbox {
	r, w := io.Pipe()
	return &fakeSandbox{id: "fake-session", outR: r, outW: w, closed: make(chan struct{})}
}

func (s *fakeSandbox) ID() string { return s.id }

func (s *fakeSandbox) Exec(context.Context, sandbox.ExecSpec) (sandbox.Process, error) {
	return nil, errors.ErrUnsupported
}

func (s *fakeSandbox) Read(p []byte) (int, error) { return s.outR.Read(p) }

func (s *fakeSandbox) Write(p []byte) (int, error) {
	select {
	case <-s.closed:
		return 0, io.ErrClosedPipe
	default:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writeErr != nil {
		return 0, s.writeErr
	}
	return s.input.Write(p)
}

func (s *fakeSandbox) Resize(ctx context.Context, cols, rows int) error {
	s.mu.Lock()
	s.sizes = append(s.sizes, [2]int{cols, rows})
	gate := s.resizeGate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *fakeSandbox) Wait(ctx context.Context) (sandbox.ExitStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status, s.waitErr
}

func (s *fakeSandbox) Close() error {
	s.closes.Add(1)
	s.once.Do(func() {
		close(s.closed)
		s.outR.CloseWithError(io.ErrClosedPipe)
	})
	return nil
}

// emit has the program write output; it blocks until the session reads it.
func (s *fakeSandbox) emit(t *testing.T, out string) {
	t.Helper()
	if _, err := s.outW.Write([]byte(out)); err != nil {
		t.Fatalf("program output: %v", err)
	}
}

// exit ends the program with status code (nil: unknown) and ends its output.
func (s *fakeSandbox) exit(code *int, oom bool, err error) {
	s.mu.Lock()
	s.status = sandbox.ExitStatus{Code: code, OOMKilled: oom}
	s.waitErr = err
	s.mu.Unlock()
	s.outW.Close()
}

func (s *fakeSandbox) gotInput() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.input.String()
}

func (s *fakeSandbox) gotSizes() [][2]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sizes)
}

// event is something the session told the client, with the (fake) time.
type event struct {
	at      time.Time
	kind    string // "output", "warning", "event" or "end"
	output  string
	reason  Reason
	seconds int
	end     End
	ev      Event
}

type received struct {
	m   Message
	err error
}

var errFakeClosed = errors.New("fake client closed")

// fakeClient is a Client the test drives through channels. It records what
// the session sends, in order. After End it answers the close handshake
// (Receive returns io.EOF), as a well-behaved peer does.
type fakeClient struct {
	in        chan received
	closed    chan struct{} // closed by Close
	answered  chan struct{} // closed by End
	closeOnce sync.Once
	endOnce   sync.Once
	closes    atomic.Int32

	sendGate chan struct{} // when set, SendOutput blocks until it is closed or Close is called
	sendErr  error         // when set, SendOutput fails with it

	mu     sync.Mutex
	events []event
}

var _ Client = (*fakeClient)(nil)

func newFakeClient() *fakeClient {
	return &fakeClient{in: make(chan received), closed: make(chan struct{}), answered: make(chan struct{})}
}

func (c *fakeClient) Receive() (Message, error) {
	select {
	case r := <-c.in:
		return r.m, r.err
	case <-c.answered:
		return Message{}, io.EOF
	case <-c.closed:
		return Message{}, errFakeClosed
	}
}

func (c *fakeClient) SendOutput(p []byte) error {
	if c.sendGate != nil {
		select {
		case <-c.sendGate:
		case <-c.closed:
			return errFakeClosed
		}
	}
	if c.sendErr != nil {
		return c.sendErr
	}
	c.record(event{kind: "output", output: string(p)})
	return nil
}

func (c *fakeClient) SendWarning(r Reason, secondsLeft int) error {
	c.record(event{kind: "warning", reason: r, seconds: secondsLeft})
	return nil
}

func (c *fakeClient) SendEvent(e Event) error {
	c.record(event{kind: "event", ev: e})
	return nil
}

func (c *fakeClient) End(e End) error {
	c.record(event{kind: "end", end: e})
	c.endOnce.Do(func() { close(c.answered) })
	return nil
}

func (c *fakeClient) Close() error {
	c.closes.Add(1)
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *fakeClient) record(e event) {
	e.at = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

// send hands the session a message; it gives up once the client is gone.
func (c *fakeClient) send(r received) {
	select {
	case c.in <- r:
	case <-c.closed:
	case <-c.answered:
	}
}

func (c *fakeClient) input(s string) {
	c.send(received{m: Message{Kind: Input, Input: []byte(s)}})
}

func (c *fakeClient) resize(cols, rows int) {
	c.send(received{m: Message{Kind: Resize, Cols: cols, Rows: rows}})
}

func (c *fakeClient) ack(n int64) {
	c.send(received{m: Message{Kind: Ack, Bytes: n}})
}

// fail makes Receive return err: the client left or broke the protocol.
func (c *fakeClient) fail(err error) {
	c.send(received{err: err})
}

func (c *fakeClient) all() []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

func (c *fakeClient) of(kind string) []event {
	var out []event
	for _, e := range c.all() {
		if e.kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (c *fakeClient) output() string {
	var b bytes.Buffer
	for _, e := range c.of("output") {
		b.WriteString(e.output)
	}
	return b.String()
}

func (c *fakeClient) outputLen() int { return len(c.output()) }

// running is a session started by startRun.
type running struct {
	done chan struct{}
	end  End
}

// result waits for the session to end.
func (r *running) result() End {
	<-r.done
	return r.end
}

func (r *running) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// startRun runs a session on sb and c under ctx. Cleanup cancels it and
// waits for it.
func startRun(t *testing.T, ctx context.Context, sb *fakeSandbox, c *fakeClient, l Limits) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	r := &running{done: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() {
		defer close(r.done)
		r.end = New(ctx, sb, l, Options{}, log).Run(c, nil)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// checkTornDown asserts the sandbox was closed exactly once and the client
// closed, as every path out of Run must leave them.
func checkTornDown(t *testing.T, sb *fakeSandbox, c *fakeClient) {
	t.Helper()
	if n := sb.closes.Load(); n != 1 {
		t.Errorf("sandbox closed %d times, want exactly 1", n)
	}
	if c.closes.Load() == 0 {
		t.Errorf("client never closed")
	}
}

func intp(n int) *int { return &n }

// tokenTable is Tokens for tests, with the lookups the server makes.
type tokenTable struct {
	mu            sync.Mutex
	resume, watch map[string]*Session
}

func newTokenTable() *tokenTable {
	return &tokenTable{resume: map[string]*Session{}, watch: map[string]*Session{}}
}

func (d *tokenTable) IssueResume(s *Session, previous string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := rand.Text()
	delete(d.resume, previous)
	d.resume[t] = s
	return t
}

func (d *tokenTable) IssueWatch(s *Session) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := rand.Text()
	d.watch[t] = s
	return t
}

func (d *tokenTable) Revoke(tokens ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range tokens {
		delete(d.resume, t)
		delete(d.watch, t)
	}
}

// Resume spends a resume token.
func (d *tokenTable) Resume(token string) (*Session, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.resume[token]
	delete(d.resume, token)
	return s, ok
}

func (d *tokenTable) Watch(token string) (*Session, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.watch[token]
	return s, ok
}
