package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/admission"
	"iexbox/internal/classroom"
	"iexbox/internal/client"
	"iexbox/internal/pool"
	"iexbox/internal/process"
	"iexbox/internal/protocol"
	"iexbox/internal/recording"
	"iexbox/internal/sandbox"
	"iexbox/internal/session"
	"iexbox/internal/store"
	"iexbox/internal/toolchain"
)

// patience bounds every wait on the server; generous for loaded CI hosts.
const patience = 10 * time.Second

// testServer is the handler under httptest with the process backend.
type testServer struct {
	url  string // http://127.0.0.1:port
	ws   string // ws://127.0.0.1:port/ws
	mgr  *admission.Manager
	pool *pool.Pools
	// classes is the server's classes, nil when it keeps none.
	classes *classroom.Service
}

type serverOpts struct {
	argv    []string
	max     int
	limits  session.Limits
	origins string
	// resumeGrace and maxViewers are admission's Grace and MaxViewers.
	resumeGrace time.Duration
	maxViewers  int
	page        fs.FS
	// queueTimeout is Config's QueueTimeout; addresses are admission's
	// AddressLimits.
	queueTimeout time.Duration
	addresses    admission.AddressLimits
	// backend replaces the process backend running argv.
	backend sandbox.Backend
	// toolchains are admission's Toolchains (nil: the default only).
	toolchains *toolchain.Set
	// store keeps classes; nil keeps none. teacherKeys are the server's.
	store       *store.Store
	teacherKeys [][32]byte
	classes     ClassConfig
}

// bareServer is a Server for cfg over the process backend running cat,
// for tests of the HTTP side.
func bareServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	stack := NewStack(process.New([]string{"cat"}, nil), StackConfig{Server: cfg, Admission: admission.Config{MaxSessions: 1}},
		slog.New(slog.DiscardHandler))
	t.Cleanup(func() { stack.Shutdown(context.Background()) })
	return stack.Server
}

// newTestServer serves a Stack for o, built as the program builds it.
// Cleanup shuts the sessions down, waits for them and closes the
// listener.
func newTestServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	if o.argv == nil {
		o.argv = []string{"cat"}
	}
	if o.max == 0 {
		o.max = 4
	}
	origins, err := ParseOrigins(o.origins)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	var b sandbox.Backend = process.New(o.argv, nil)
	if o.backend != nil {
		b = o.backend
	}
	stack := NewStack(b, StackConfig{
		Server: Config{
			Instance:     "test-inst",
			Origins:      origins,
			QueueTimeout: o.queueTimeout,
			Version:      "test-version",
			Page:         o.page,
			TeacherKeys:  o.teacherKeys,
		},
		Store:     o.store,
		Classes:   o.classes,
		Recording: recording.Config{Off: true},
		Admission: admission.Config{
			MaxSessions: o.max,
			Addresses:   o.addresses,
			Limits:      o.limits,
			Grace:       o.resumeGrace,
			MaxViewers:  o.maxViewers,
			Toolchains:  o.toolchains,
		},
	}, log)
	srv := httptest.NewServer(stack.Server)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := stack.Shutdown(ctx); err != nil {
			t.Errorf("sessions still live at the end of the test: %v", err)
		}
		srv.Close()
	})
	return &testServer{url: srv.URL, ws: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws",
		mgr: stack.Admission.Manager(), pool: stack.Pools, classes: stack.Classes}
}

// dial opens /ws offering protos (none when nil) and sending hdr, as a
// peer that never acks. The cleanup drops the connection and joins its
// reader.
func (ts *testServer) dial(t *testing.T, protos []string, hdr http.Header) (*peer, *http.Response, error) {
	t.Helper()
	if protos == nil {
		protos = []string{} // none, not the client's default
	}
	c, resp, err := client.Dial(t.Context(), ts.ws, client.Options{
		Header: hdr, Subprotocols: protos, HandshakeTimeout: patience, Ack: client.AckManual,
	})
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { c.Drop() })
	return &peer{t: t, c: c}, resp, nil
}

// connect opens /ws as a well-behaved client.
func (ts *testServer) connect(t *testing.T) *peer {
	t.Helper()
	p, resp, err := ts.dial(t, []string{protocol.Subprotocol}, nil)
	if err != nil {
		t.Fatalf("dial: %v (response %+v)", err, resp)
	}
	if got := p.c.Subprotocol(); got != protocol.Subprotocol {
		t.Fatalf("server chose subprotocol %q, want %q", got, protocol.Subprotocol)
	}
	return p
}

// start connects and says hello, and returns the ready event.
func (ts *testServer) start(t *testing.T, cols, rows int) (*peer, protocol.Ready) {
	t.Helper()
	p := ts.connect(t)
	p.hello(cols, rows)
	var r protocol.Ready
	p.event(protocol.TypeReady, &r)
	return p, r
}

// waitActive waits until the Manager counts n live sessions.
func (ts *testServer) waitActive(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for ts.mgr.Active() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions active, want %d", ts.mgr.Active(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// peer is the browser's end of a session, speaking through internal/client.
// It never acks. Its reads insist on what the server says next: event
// takes the next text frame not yet taken, which must be of the type asked
// for (queued events before it are passed over unless asked for). Binary
// frames are the terminal's output, kept apart.
type peer struct {
	t    *testing.T
	c    *client.Conn
	wait time.Duration // longest wait of one read; patience when zero
}

// bound is the context of one read.
func (p *peer) bound() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.t.Context(), cmp.Or(p.wait, patience))
}

// must fails the test when a message could not be sent:
// p.must(p.c.Share()).
func (p *peer) must(err error) {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// sendText sends s as one text frame, as is: for frames a well-behaved
// client does not send.
func (p *peer) sendText(s string) {
	p.t.Helper()
	if err := p.c.WriteRaw(websocket.TextMessage, []byte(s)); err != nil {
		p.t.Fatalf("send text: %v", err)
	}
}

// sendBinary sends b as keyboard input, one binary frame.
func (p *peer) sendBinary(b []byte) {
	p.t.Helper()
	if err := p.c.Input(b); err != nil {
		p.t.Fatalf("send binary: %v", err)
	}
}

func (p *peer) hello(cols, rows int) {
	p.t.Helper()
	p.must(p.c.Hello(client.Hello{Cols: cols, Rows: rows}))
}

// output is the terminal output received so far.
func (p *peer) output() string { return string(p.c.Output()) }

// texts is every text frame received so far, queued events aside.
func (p *peer) texts() []client.Event {
	return slices.DeleteFunc(p.c.Events(), func(e client.Event) bool { return e.Type == protocol.TypeQueued })
}

// event takes the next text frame, which must be of type typ, decodes it
// into v and returns it. Queued events before it are passed over: a client
// waits in line for a sandbox whenever none is warm.
func (p *peer) event(typ string, v any) client.Event {
	p.t.Helper()
	ctx, cancel := p.bound()
	defer cancel()
	for {
		e, err := p.c.Next(ctx)
		switch {
		case err != nil:
			p.t.Fatalf("waiting for %s: %v (text frames so far: %s)", typ, err, p.textsString())
		case e.Err != nil:
			p.t.Fatalf("waiting for %s: %v", typ, e.Err)
		case e.Type == protocol.TypeQueued && typ != protocol.TypeQueued:
			continue
		case e.Type != typ:
			p.t.Fatalf("got %s, want a %s event", e.Raw, typ)
		}
		if err := json.Unmarshal(e.Raw, v); err != nil {
			p.t.Fatalf("decode %s: %v", e.Raw, err)
		}
		return e
	}
}

// waitOutput waits until the terminal output contains s.
func (p *peer) waitOutput(s string) {
	p.t.Helper()
	ctx, cancel := p.bound()
	defer cancel()
	if err := p.c.WaitOutput(ctx, s); err != nil {
		p.t.Fatalf("%v; got %q", err, p.output())
	}
}

// closed waits until the connection closes and returns the close code.
func (p *peer) closed() int {
	p.t.Helper()
	ctx, cancel := p.bound()
	defer cancel()
	st, err := p.c.WaitClose(ctx)
	if err != nil {
		p.t.Fatalf("waiting for the close: %v", err)
	}
	var ce *websocket.CloseError
	if !errors.As(st.Err, &ce) {
		p.t.Fatalf("connection ended with %v, want a close frame", st.Err)
	}
	return st.Code
}

func (p *peer) textsString() string {
	var b strings.Builder
	for _, t := range p.texts() {
		b.Write(t.Raw)
		b.WriteByte(' ')
	}
	return b.String()
}

// expectError reads the error event and the close that must follow it.
func (p *peer) expectError(code string, closeCode int) protocol.Error {
	p.t.Helper()
	var e protocol.Error
	p.event(protocol.TypeError, &e)
	if e.Code != code || e.Message == "" {
		p.t.Errorf("error event %+v, want code %q with a message", e, code)
	}
	if got := p.closed(); got != closeCode {
		p.t.Errorf("closed with %d, want %d", got, closeCode)
	}
	return e
}

// expectExit reads the exit event and the close that must follow it.
func (p *peer) expectExit(reason string, code *int, closeCode int) {
	p.t.Helper()
	var e protocol.Exit
	raw := p.event(protocol.TypeExit, &e).Raw
	if e.Reason != reason || (e.Code == nil) != (code == nil) || (code != nil && *e.Code != *code) {
		p.t.Errorf("exit event %s, want reason %q code %v", raw, reason, fmtCode(code))
	}
	if got := p.closed(); got != closeCode {
		p.t.Errorf("closed with %d, want %d", got, closeCode)
	}
}

func fmtCode(c *int) any {
	if c == nil {
		return "null"
	}
	return *c
}

func intp(n int) *int { return &n }
