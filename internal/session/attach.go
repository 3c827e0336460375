package session

import (
	"context"
	"errors"
	"time"
)

// ErrSessionOver is returned by Attach and Watch when the session has
// ended or is ending.
var ErrSessionOver = errors.New("the session has ended")

// attachment is one connection of the presenter: it has its own reader and
// writer goroutines and its own flow-control window.
type attachment struct {
	c      Client
	ctx    context.Context // ends when the connection is done with
	cancel context.CancelCauseFunc
	win    window
	out    chan []byte
	warns  chan warning
	events chan Event
	nudge  chan struct{} // the viewer count changed

	readerDone chan struct{}
	writerDone chan struct{}
	finished   chan struct{} // the connection is closed and nothing uses it
}

// Attach makes c the presenter's connection of a resumable session, taking
// over from a connection still attached, and blocks until c is done with:
// greet first, then the resized terminal is redrawn from the history,
// then output is live. It returns ErrSessionOver when the session is
// ending.
func (s *Session) Attach(c Client, greet Greeter, cols, rows int) error {
	s.resize(cols, rows)
	a, err := s.attach(c, greet, true)
	if err != nil {
		return err
	}
	<-a.finished
	return nil
}

// attach starts serving c as the presenter. replay sends the history first.
func (s *Session) attach(c Client, greet Greeter, replay bool) (*attachment, error) {
	actx, cancel := context.WithCancelCause(s.ctx)
	a := &attachment{
		c: c, ctx: actx, cancel: cancel,
		out:        make(chan []byte, outputQueue),
		warns:      make(chan warning, 4),
		events:     make(chan Event, 4),
		nudge:      make(chan struct{}, 1),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
		finished:   make(chan struct{}),
	}
	s.mu.Lock()
	if s.ending || s.ctx.Err() != nil {
		s.mu.Unlock()
		cancel(nil)
		return nil, ErrSessionOver
	}
	old := s.cur
	s.cur = a
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	var history []byte
	if replay { // taken with the switch, so no output is lost or doubled
		history = s.hist.bytes()
	}
	token := ""
	if s.opts.Resumable {
		token = s.opts.Tokens.IssueResume(s, s.resumeTk)
		s.resumeTk = token
	}
	if len(s.viewers) > 0 || s.watchTk != "" { // a resumed page learns the count
		a.nudge <- struct{}{}
	}
	s.mu.Unlock()
	if old != nil {
		old.cancel(errReplaced)
	}

	s.wg.Add(3)
	go s.watchAttachment(a)
	go s.receive(a)
	if greet != nil {
		if err := greet(token); err != nil {
			s.log.Debug("greet", "err", err)
			s.lost(a, errClientGone)
		}
	}
	s.greetRecording(a)
	go s.send(a, history)
	return a, nil
}

// lost handles the loss of a presenter's connection: a resumable session
// waits for a resume, any other ends.
func (s *Session) lost(a *attachment, cause error) {
	if s.opts.Resumable {
		a.cancel(cause)
		return
	}
	s.cancel(cause)
}

// watchAttachment detaches a connection that is done with while the session
// goes on; the owner ends one still attached when the session ends.
func (s *Session) watchAttachment(a *attachment) {
	defer s.wg.Done()
	<-a.ctx.Done()
	s.mu.Lock()
	if s.ending || s.ctx.Err() != nil {
		s.mu.Unlock()
		return
	}
	if s.cur == a {
		s.cur = nil
		s.grace = time.AfterFunc(s.opts.Grace, func() { s.cancel(errNotResumed) })
		s.log.Info("detached, waiting for a resume", "cause", context.Cause(a.ctx), "grace", s.opts.Grace)
	}
	s.mu.Unlock()
	select {
	case <-a.writerDone:
	case <-time.After(closeGrace):
		a.c.Close()
		<-a.writerDone
	}
	a.c.Close()
	<-a.readerDone
	close(a.finished)
}

// receive is the only goroutine that receives from the connection.
func (s *Session) receive(a *attachment) {
	defer s.wg.Done()
	defer close(a.readerDone)
	for {
		m, err := a.c.Receive()
		if err != nil {
			if errors.Is(err, ErrProtocol) {
				s.cancel(endCause{End{Reason: ReasonProtocol, Err: err}})
			} else {
				s.lost(a, errClientGone)
			}
			return
		}
		switch m.Kind {
		case Input:
			s.clk.touch()
			s.lastInput.Store(time.Now().UnixNano())
			if s.throttle != nil && s.throttle.WaitN(a.ctx, min(len(m.Input), s.throttle.Burst())) != nil {
				return // the connection is done with
			}
			if _, err := s.sb.Write(m.Input); err != nil {
				s.cancel(errSandboxGone)
				return
			}
		case Resize:
			s.resize(m.Cols, m.Rows)
		case Ack:
			a.win.ack(m.Bytes)
		case Share:
			select {
			case a.events <- Event{Kind: Shared, Watch: s.share()}:
			default: // a client asking faster than it reads gets fewer answers
			}
		case Unshare:
			s.unshare()
		case EndSession:
			s.cancel(errEnded)
			return
		case Check:
			if s.opts.Checker == nil {
				s.cancel(endCause{End{Reason: ReasonProtocol, Err: &ProtocolError{Message: "this session has no exercise to check"}}})
				return
			}
			s.clk.touch()
			s.check(m.CheckID, m.Code)
		}
	}
}

// send is the only goroutine that sends to the connection until the end.
func (s *Session) send(a *attachment, history []byte) {
	defer s.wg.Done()
	defer close(a.writerDone)
	if len(history) > 0 {
		a.win.sent(len(history))
		if a.c.SendOutput(history) != nil {
			s.lost(a, errClientGone)
			return
		}
	}
	for len(a.events) > 0 { // what greetRecording queued comes right after ready
		if a.c.SendEvent(<-a.events) != nil {
			s.lost(a, errClientGone)
			return
		}
	}
	frame := make([]byte, 0, outputChunk) // reused: SendOutput does not keep it
	for {
		var err error
		select {
		case p := <-a.out:
			frame = gather(append(frame[:0], p...), a.out, &s.lastInput)
			err = a.c.SendOutput(frame)
		case w := <-a.warns:
			err = a.c.SendWarning(w.reason, w.secondsLeft)
		case e := <-a.events:
			err = a.c.SendEvent(e)
		case <-a.nudge:
			err = a.c.SendEvent(Event{Kind: Viewers, Count: s.viewerCount()})
		case <-a.ctx.Done():
			if s.ctx.Err() != nil { // the session is ending: its last words first
				a.flushQueued(frame)
			}
			return
		}
		if err != nil {
			s.lost(a, errClientGone)
			return
		}
	}
}

// flushQueued sends the output still queued for a, so a program's last
// output comes before the end. finish bounds how long a stuck client can
// hold it.
func (a *attachment) flushQueued(frame []byte) {
	for {
		select {
		case p := <-a.out:
			frame = append(frame[:0], p...)
			for len(frame) < outputChunk && len(a.out) > 0 {
				frame = append(frame, <-a.out...)
			}
			if a.c.SendOutput(frame) != nil {
				return
			}
		default:
			return
		}
	}
}
