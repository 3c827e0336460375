package server

import (
	"strings"
	"testing"
	"time"

	"iexbox/internal/pool"
	"iexbox/internal/protocol"
)

// nextQueued takes text frames up to the next queued event.
func (p *peer) nextQueued() protocol.Queued {
	p.t.Helper()
	ctx, cancel := p.bound()
	defer cancel()
	e, err := p.c.WaitEvent(ctx, protocol.TypeQueued)
	if err == nil && e.Queued == nil {
		err = e.Err // a queued event that does not decode
	}
	if err != nil {
		p.t.Fatalf("waiting for a queued event: %v (text frames: %s)", err, p.textsString())
	}
	return *e.Queued
}

// queued is every queued event received so far.
func (p *peer) queued() []protocol.Queued {
	var qs []protocol.Queued
	for _, e := range p.c.Events() {
		if e.Queued != nil {
			qs = append(qs, *e.Queued)
		}
	}
	return qs
}

// TestQueueAtCapacity: at the session cap a newcomer waits in line, told
// its position, with its resize kept and its input buffered until ready.
func TestQueueAtCapacity(t *testing.T) {
	ts := newTestServer(t, serverOpts{max: 1})
	first, _ := ts.start(t, 80, 24)

	second := ts.connect(t)
	second.hello(80, 24)
	if q := second.nextQueued(); q.Position != 0 {
		t.Errorf("first in line: position %d, want 0", q.Position)
	}
	third := ts.connect(t)
	third.hello(80, 24)
	if q := third.nextQueued(); q.Position != 1 {
		t.Errorf("second in line: position %d, want 1", q.Position)
	}
	second.must(second.c.Resize(100, 30))
	second.sendBinary([]byte("typed ahead\n"))
	// Still waiting, the line is reported at least every two seconds.
	start := time.Now()
	second.nextQueued()
	if d := time.Since(start); d > queuedAtLeast+time.Second {
		t.Errorf("a waiting client heard nothing for %v", d)
	}
	if ts.mgr.Active() != 1 {
		t.Errorf("Active = %d while clients wait, want 1", ts.mgr.Active())
	}

	first.c.Drop() // frees the slot: the first in line gets it
	var r protocol.Ready
	second.event(protocol.TypeReady, &r)
	second.waitOutput("typed ahead\r\ntyped ahead\r\n") // the tty's echo, then cat's copy
	third.waitPosition(0)                               // moved up once the first in line was served
}

// waitPosition reads queued events until one reports position n.
func (p *peer) waitPosition(n int) {
	p.t.Helper()
	for q := p.nextQueued(); q.Position != n; q = p.nextQueued() {
	}
}

// TestQueueLeave: a client that closes leaves the line; those behind it
// move up.
func TestQueueLeave(t *testing.T) {
	ts := newTestServer(t, serverOpts{max: 1})
	first, _ := ts.start(t, 80, 24)
	second := ts.connect(t)
	second.hello(80, 24)
	second.nextQueued()
	third := ts.connect(t)
	third.hello(80, 24)
	if q := third.nextQueued(); q.Position != 1 {
		t.Fatalf("position %d, want 1", q.Position)
	}
	second.c.Drop()
	third.waitPosition(0)
	first.c.Drop()
	var r protocol.Ready
	third.event(protocol.TypeReady, &r)
}

// TestQueueTimeout: a client still waiting at -queue-timeout is told
// capacity with advice on when to retry.
func TestQueueTimeout(t *testing.T) {
	ts := newTestServer(t, serverOpts{max: 1, queueTimeout: 500 * time.Millisecond})
	ts.start(t, 80, 24)
	second := ts.connect(t)
	second.hello(80, 24)
	start := time.Now()
	e := second.expectError(protocol.CodeCapacity, protocol.CloseCapacity)
	if e.RetryAfter <= 0 {
		t.Errorf("error %+v, want retry_after", e)
	}
	if len(second.queued()) == 0 {
		t.Error("no queued event before the timeout")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("refused after %v, want about 500ms", d)
	}
}

// TestQueueProtocol: while waiting only input and resize may be sent.
func TestQueueProtocol(t *testing.T) {
	ts := newTestServer(t, serverOpts{max: 1})
	ts.start(t, 80, 24)
	second := ts.connect(t)
	second.hello(80, 24)
	second.nextQueued()
	second.sendText(`{"type":"ack","bytes":0}`)
	second.expectError(protocol.CodeProtocol, protocol.CloseProtocol)
}

// TestQueueDrain: a draining server turns waiting clients away.
func TestQueueDrain(t *testing.T) {
	ts := newTestServer(t, serverOpts{max: 1})
	ts.start(t, 80, 24)
	second := ts.connect(t)
	second.hello(80, 24)
	second.nextQueued()
	ts.mgr.BeginDrain(time.Now().Add(time.Minute))
	second.expectError(protocol.CodeUnavailable, protocol.CloseUnavailable)
}

// TestQueueFloodOfEmptyFrames: empty frames add no byte but count against
// the messages a waiting client may queue; past the bound it is closed.
func TestQueueFloodOfEmptyFrames(t *testing.T) {
	ts := newTestServer(t, serverOpts{max: 1})
	ts.start(t, 80, 24)
	second := ts.connect(t)
	second.hello(80, 24)
	second.nextQueued()
	for range maxQueuedMessages + 1 {
		if err := second.c.Input(nil); err != nil {
			break // closed already
		}
	}
	e := second.expectError(protocol.CodeProtocol, protocol.CloseProtocol)
	if !strings.Contains(e.Message, "input messages") {
		t.Errorf("error %+v, want it to name the message bound", e)
	}
	if n := ts.pool.Status().Queued; n != 0 {
		t.Errorf("%d still in line after the flooder was closed", n)
	}
}

// TestPositionTold: which queued events a waiting client hears.
func TestPositionTold(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type step struct {
		ahead    int
		after    time.Duration // since the start
		force    bool
		wantSent bool
		wantPos  int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first is always told", []step{{ahead: 3, wantSent: true, wantPos: 3}}},
		{"a change waits for queuedEvery", []step{
			{ahead: 3, wantSent: true, wantPos: 3},
			{ahead: 2, after: 100 * time.Millisecond},
			{ahead: 2, after: queuedEvery, wantSent: true, wantPos: 2},
		}},
		{"the front is told at once", []step{
			{ahead: 3, wantSent: true, wantPos: 3},
			{ahead: 0, after: 10 * time.Millisecond, wantSent: true, wantPos: 0},
		}},
		{"never up", []step{
			{ahead: 1, wantSent: true, wantPos: 1},
			{ahead: 4, after: queuedAtLeast, wantSent: true, wantPos: 1},
			{ahead: 0, after: queuedAtLeast + 10*time.Millisecond, wantSent: true, wantPos: 0},
		}},
		{"heartbeat", []step{
			{ahead: 2, wantSent: true, wantPos: 2},
			{ahead: 2, after: queuedEvery},
			{ahead: 2, after: queuedAtLeast - queuedEvery, wantSent: true, wantPos: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := position{last: -1}
			for i, s := range tt.steps {
				st, sent := p.next(pool.PlaceStatus{Ahead: s.ahead}, t0.Add(s.after), s.force)
				if sent != s.wantSent || (sent && st.Ahead != s.wantPos) {
					t.Errorf("step %d: sent %v position %d, want sent %v position %d", i, sent, st.Ahead, s.wantSent, s.wantPos)
				}
			}
		})
	}
}
