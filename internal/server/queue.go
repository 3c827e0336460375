package server

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"iexbox/internal/admission"
	"iexbox/internal/pool"
	"iexbox/internal/protocol"
	"iexbox/internal/session"
)

// Waiting in line. Invariant: queuedEvery < queuedAtLeast, so a waiting
// client hears of every change within half a second and of its place at
// least every two seconds, even when nothing changes. Reaching the front
// (position 0) is told at once, and always before ready.
const (
	queuedEvery   = 500 * time.Millisecond // at most this often
	queuedAtLeast = 2 * time.Second        // at least this often
	// maxQueuedInput and maxQueuedMessages bound the keyboard input kept
	// for a client until its sandbox is ready (a paste, typed ahead): in
	// bytes, and in messages, since an empty frame costs the server a
	// message though it adds no byte.
	maxQueuedInput    = 64 << 10
	maxQueuedMessages = 1024
)

// errLeftLine ends the wait of a client that went away or broke the
// protocol; whatever it needed to hear was sent.
var errLeftLine = errors.New("left the line")

// received is one Receive of a waiting client's reader.
type received struct {
	m   session.Message
	err error
}

// lineReader reads a connection while its client waits in line and then
// for the session, as the connection's one reader: its goroutine reads on
// until the connection fails. The session receives through it.
type lineReader struct {
	*wsClient
	msgs    chan received
	stop    chan struct{} // closed when nobody receives any more
	done    chan struct{} // closed when the goroutine has returned
	pending []session.Message
}

var _ session.Client = (*lineReader)(nil)

func newLineReader(c *wsClient) *lineReader {
	r := &lineReader{wsClient: c, msgs: make(chan received), stop: make(chan struct{}), done: make(chan struct{})}
	go r.read()
	return r
}

func (r *lineReader) read() {
	defer close(r.done)
	for {
		m, err := r.wsClient.Receive()
		select {
		case r.msgs <- received{m, err}:
		case <-r.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Receive returns what the client sent while it waited, then reads on.
func (r *lineReader) Receive() (session.Message, error) {
	if len(r.pending) > 0 {
		m := r.pending[0]
		r.pending = r.pending[1:]
		return m, nil
	}
	got := <-r.msgs
	return got.m, got.err
}

// finish stops the reader: the caller must have closed the connection,
// which ends the goroutine's read.
func (r *lineReader) finish() {
	close(r.stop)
	<-r.done
}

// admitted is a client out of the line with a sandbox: its admission,
// the client the session must use (reading through the line's reader
// when it waited), finish, which must be called once the connection is
// closed, and the terminal size it reported last.
type admitted struct {
	adm        *admission.Admission
	client     session.Client
	finish     func()
	cols, rows int
}

// waitInLine keeps the client informed while it waits for a sandbox and
// admits it once one is granted. On failure the client has been told and
// the place left.
func (s *Server) waitInLine(c *wsClient, pl *admission.Place, cols, rows int, log *slog.Logger) (_ *admitted, err error) {
	if st := pl.Status(); st.Granted {
		adm, err := s.take(c, pl, log)
		if err != nil {
			return nil, err
		}
		return &admitted{adm: adm, client: c, finish: func() {}, cols: cols, rows: rows}, nil
	} else if st.Failed != nil {
		s.refuseStart(c, log, st.Failed)
		return nil, errLeftLine
	}
	deadline := time.Now().Add(s.cfg.QueueTimeout)
	c.queue(deadline.Add(closeWait)) // the timer below speaks first
	r := newLineReader(c)
	defer func() {
		if err != nil {
			c.Close()
			r.finish()
		}
	}()
	timeout := time.NewTimer(time.Until(deadline))
	defer timeout.Stop()
	tick := time.NewTicker(queuedEvery)
	defer tick.Stop()

	var inputBytes int
	told := position{last: -1}
	report := func(force bool) error {
		if st, ok := told.next(pl.Status(), time.Now(), force); ok {
			return c.sendQueued(st)
		}
		return nil
	}
	if err := report(true); err != nil {
		pl.Leave()
		return nil, errLeftLine
	}
	for {
		select {
		case got := <-r.msgs:
			if got.err != nil {
				pl.Leave()
				if errors.Is(got.err, session.ErrProtocol) {
					s.refuse(c, log, protocol.CodeProtocol, session.ProtocolMessage(got.err), 0)
				}
				return nil, errLeftLine
			}
			switch m := got.m; m.Kind {
			case session.Resize:
				cols, rows = m.Cols, m.Rows
			case session.Input:
				inputBytes += len(m.Input)
				var over string
				switch {
				case inputBytes > maxQueuedInput:
					over = fmt.Sprintf("more than %d KiB of input before ready", maxQueuedInput>>10)
				case len(r.pending) >= maxQueuedMessages:
					over = fmt.Sprintf("more than %d input messages before ready", maxQueuedMessages)
				}
				if over != "" {
					pl.Leave()
					s.refuse(c, log, protocol.CodeProtocol, over, 0)
					return nil, errLeftLine
				}
				r.pending = append(r.pending, m)
			default:
				pl.Leave()
				s.refuse(c, log, protocol.CodeProtocol, "only input and resize may be sent before ready", 0)
				return nil, errLeftLine
			}
		case <-pl.Changed():
			if st := pl.Status(); st.Failed != nil {
				s.refuseStart(c, log, st.Failed)
				return nil, errLeftLine
			}
			if pl.Status().Granted {
				// The front of the line is always told before ready, however
				// fast the boot ahead ended.
				if !told.atFront() {
					if err := c.sendQueued(pool.PlaceStatus{}); err != nil {
						pl.Leave()
						return nil, errLeftLine
					}
				}
				c.unqueue()
				adm, err := s.take(c, pl, log)
				if err != nil {
					return nil, err
				}
				return &admitted{adm: adm, client: r, finish: r.finish, cols: cols, rows: rows}, nil
			}
			if err := report(false); err != nil {
				pl.Leave()
				return nil, errLeftLine
			}
		case <-tick.C:
			if err := report(false); err != nil {
				pl.Leave()
				return nil, errLeftLine
			}
		case <-timeout.C:
			pl.Leave()
			s.refuse(c, log, protocol.CodeCapacity, "no sandbox came free in time", retryAfter, "waited", s.cfg.QueueTimeout)
			return nil, errLeftLine
		case <-s.adm.Manager().Closing():
			pl.Leave()
			s.refuse(c, log, protocol.CodeUnavailable, "the server is restarting", retryAfter)
			return nil, errLeftLine
		}
	}
}

// position decides which queued events a waiting client hears: every
// change, at most every queuedEvery, except reaching the front, which is
// told at once; at least every queuedAtLeast; and never a position higher
// than one already told (fair share may serve a newly arrived address
// first: the position then holds until the line has caught up).
type position struct {
	last int // the position last told, -1 before the first
	sent time.Time
}

// next returns the status to tell now, if any. Called at least every
// queuedEvery, so a change waits at most that long and the heartbeat goes
// out before queuedAtLeast has passed.
func (p *position) next(st pool.PlaceStatus, now time.Time, force bool) (pool.PlaceStatus, bool) {
	if p.last >= 0 && st.Ahead > p.last {
		st.Ahead = p.last
	}
	since := now.Sub(p.sent)
	moved := p.last >= 0 && st.Ahead < p.last
	due := force || p.last < 0 ||
		(moved && (st.Ahead == 0 || since >= queuedEvery)) ||
		since >= queuedAtLeast-queuedEvery
	if !due {
		return st, false
	}
	p.last, p.sent = st.Ahead, now
	return st, true
}

// atFront reports whether position 0 was told.
func (p *position) atFront() bool { return p.last == 0 }

// take admits the client whose place was granted a sandbox.
func (s *Server) take(c *wsClient, pl *admission.Place, log *slog.Logger) (*admission.Admission, error) {
	adm, err := s.adm.Take(pl)
	if err != nil {
		if errors.Is(err, session.ErrShuttingDown) {
			s.refuse(c, log, protocol.CodeUnavailable, "the server is restarting", retryAfter)
		} else {
			s.refuse(c, log, protocol.CodeCapacity, err.Error(), retryAfter)
		}
		return nil, err
	}
	return adm, nil
}
