package session

import (
	"errors"
	"sync"
	"time"
)

// ErrTooManyViewers is returned by Watch when the session has MaxViewers.
var ErrTooManyViewers = errors.New("too many viewers")

// viewerQueue is how many frames a viewer may fall behind before it is
// dropped; frames are at most outputChunk bytes, so a viewer costs at most
// about viewerQueue*outputChunk (1 MiB) of server memory.
const viewerQueue = 32

// frame is output, an event when event is set, or else a new terminal
// size.
type frame struct {
	data       []byte
	cols, rows int
	event      *Event
}

// viewer is one read-only connection watching a shared session.
type viewer struct {
	q       chan frame
	dropped chan struct{} // closed when the session dropped it, for why
	why     Reason        // ReasonLagging or ReasonUnshared; set before dropped closes
}

// drop removes v from the session for why. The caller holds s.mu.
func (s *Session) drop(v *viewer, why Reason) {
	delete(s.viewers, v)
	v.why = why
	close(v.dropped)
	s.nudgePresenter()
}

// ViewerGreeter tells a viewer it is watching, with the presenter's
// terminal size, before any output.
type ViewerGreeter func(cols, rows int) error

// share returns the session's watch token, making one on first use.
func (s *Session) share() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watchTk == "" && s.opts.Tokens != nil && !s.ending {
		s.watchTk = s.opts.Tokens.IssueWatch(s)
		s.log.Info("shared")
	}
	return s.watchTk
}

// unshare revokes the session's watch token and drops its viewers with
// ReasonUnshared; the next share makes a new token.
func (s *Session) unshare() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watchTk == "" {
		return
	}
	s.opts.Tokens.Revoke(s.watchTk)
	s.watchTk = ""
	for v := range s.viewers {
		s.drop(v, ReasonUnshared)
	}
	s.nudgePresenter() // the count is 0 now, with or without viewers before
	s.log.Info("unshared")
}

// Watch serves c as a read-only viewer until the session ends, the viewer
// leaves, or it falls too far behind. The viewer first gets the recent
// output (since the last full-screen clear), then the live stream; all it
// sends is read and dropped. Viewers never slow the presenter: each has its
// own bounded queue. Watch returns ErrTooManyViewers or ErrSessionOver
// without greeting c.
func (s *Session) Watch(c Client, greet ViewerGreeter) error {
	v := &viewer{q: make(chan frame, viewerQueue), dropped: make(chan struct{})}
	s.mu.Lock()
	switch {
	case s.ending || s.ctx.Err() != nil:
		s.mu.Unlock()
		return ErrSessionOver
	case len(s.viewers) >= s.opts.MaxViewers:
		s.mu.Unlock()
		return ErrTooManyViewers
	}
	s.viewers[v] = struct{}{}
	s.nudgePresenter()
	replay, size := s.hist.bytes(), s.size
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if _, ok := s.viewers[v]; ok {
			delete(s.viewers, v)
			s.nudgePresenter()
		}
		s.mu.Unlock()
	}()

	if err := greet(size[0], size[1]); err != nil {
		c.Close()
		return nil
	}
	gone := make(chan struct{})
	var broke error // a protocol violation of the viewer; read once gone is closed
	var wg sync.WaitGroup
	wg.Go(func() { // reads and drops all a viewer sends: its input is never delivered
		defer close(gone)
		for {
			if _, err := c.Receive(); err != nil {
				if errors.Is(err, ErrProtocol) {
					broke = err
				}
				return
			}
		}
	})
	served := make(chan struct{})
	wg.Go(func() { // a viewer stuck in a write must not outlive its end
		select {
		case <-v.dropped:
		case <-s.ended:
		case <-served:
			return
		}
		select {
		case <-served:
		case <-time.After(closeGrace):
			c.Close()
		}
	})
	s.serveViewer(c, v, replay, gone, &broke)
	close(served)
	select { // let the viewer answer the close handshake
	case <-gone:
	case <-time.After(closeGrace):
	}
	c.Close()
	wg.Wait()
	return nil
}

// serveViewer is the viewer's only writer.
func (s *Session) serveViewer(c Client, v *viewer, replay []byte, gone <-chan struct{}, broke *error) {
	if len(replay) > 0 && c.SendOutput(replay) != nil {
		return
	}
	s.mu.Lock()
	stopped := s.recStopped
	s.mu.Unlock()
	if e := s.recordingEvent(false); e != nil {
		if c.SendEvent(*e) != nil {
			return
		}
		if stopped && c.SendEvent(Event{Kind: RecordingStopped, Reason: "size"}) != nil {
			return
		}
	}
	send := func(f frame) error {
		if f.event != nil {
			return c.SendEvent(*f.event)
		}
		if f.data == nil {
			return c.SendEvent(Event{Kind: Size, Cols: f.cols, Rows: f.rows})
		}
		return c.SendOutput(f.data)
	}
	for {
		select {
		case f := <-v.q:
			if send(f) != nil {
				return
			}
		case <-v.dropped:
			c.End(End{Reason: v.why})
			return
		case <-s.ended:
			for len(v.q) > 0 { // the pump has stopped: this is all output
				if send(<-v.q) != nil {
					return
				}
			}
			end := s.end
			if end.Reason == ReasonProtocol {
				end = End{Reason: ReasonClosed}
			}
			c.End(End{Reason: end.Reason, Code: end.Code})
			return
		case <-gone:
			if *broke != nil { // a viewer that broke the protocol is told so
				c.End(End{Reason: ReasonProtocol, Err: *broke})
			}
			return
		}
	}
}

// fanout queues f for every viewer, dropping a viewer whose queue is full.
// The caller holds s.mu.
func (s *Session) fanout(f frame) {
	for v := range s.viewers {
		select {
		case v.q <- f:
		default:
			s.drop(v, ReasonLagging)
		}
	}
}

// nudgePresenter tells the attached presenter the viewer count changed.
// The caller holds s.mu.
func (s *Session) nudgePresenter() {
	if s.cur != nil {
		select {
		case s.cur.nudge <- struct{}{}:
		default: // one nudge pending is enough: the count is read when sent
		}
	}
}

func (s *Session) viewerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.viewers)
}
