package session

import (
	"bytes"
	"time"
)

// resizeEvery is the shortest time between two resizes applied: a client
// that sends thousands in a burst makes at most one engine call and one
// size event per viewer every resizeEvery. The latest size always wins.
const resizeEvery = 50 * time.Millisecond

// applyResizes applies the latest size, at most every resizeEvery, so a
// slow runtime never blocks a reader and a burst costs little; viewers
// follow each size applied.
func (s *Session) applyResizes() {
	defer s.wg.Done()
	var last time.Time
	for {
		var size [2]int
		select {
		case size = <-s.resizes:
		case <-s.ctx.Done():
			return
		}
		if wait := resizeEvery - time.Since(last); wait > 0 {
			select {
			case <-time.After(wait):
			case <-s.ctx.Done():
				return
			}
			select { // a newer size came meanwhile: it wins
			case size = <-s.resizes:
			default:
			}
		}
		last = time.Now()
		if err := s.sb.Resize(s.ctx, size[0], size[1]); err != nil && s.ctx.Err() == nil {
			s.log.Debug("resize", "err", err)
		}
		s.mu.Lock()
		if s.size != size {
			s.size = size
			if s.opts.Recorder != nil {
				s.opts.Recorder.Resize(size[0], size[1])
			}
			s.fanout(frame{cols: size[0], rows: size[1]})
		}
		s.mu.Unlock()
	}
}

// resize asks for a new size; the latest wins.
func (s *Session) resize(cols, rows int) {
	select { // replace a size not yet applied
	case <-s.resizes:
	default:
	}
	s.resizes <- [2]int{cols, rows}
}

// pump reads the sandbox's output into the history, the viewers' queues
// and the presenter's connection, under the presenter's flow control.
// While detached, output still flows into the bounded history.
func (s *Session) pump() {
	defer s.wg.Done()
	defer close(s.pumpDone)
	buf := make([]byte, outputChunk)
	for {
		s.mu.Lock()
		a := s.cur
		s.mu.Unlock()
		if a != nil && a.win.wait(a.ctx) != nil {
			if s.ctx.Err() != nil {
				return
			}
			continue // detached or replaced: the window is gone with it
		}
		n, err := s.sb.Read(buf)
		if n > 0 {
			p := bytes.Clone(buf[:n])
			s.recordOutput(p)
			s.mu.Lock()
			s.hist.write(p)
			s.fanout(frame{data: p})
			a = s.cur
			s.mu.Unlock()
			if a != nil {
				a.win.sent(n)
				select {
				case a.out <- p:
				case <-a.ctx.Done(): // detached: the history has it
					if s.ctx.Err() != nil {
						return
					}
				}
			}
		}
		if err != nil {
			s.cancel(errSandboxGone)
			return
		}
	}
}

// forwardWarnings hands the clock's warnings to the attached presenter, so
// the clock never waits for a connection (limits run while detached).
func (s *Session) forwardWarnings() {
	defer s.wg.Done()
	for {
		select {
		case w := <-s.warns:
			s.mu.Lock()
			if a := s.cur; a != nil {
				select {
				case a.warns <- w:
				default: // a connection that cannot take a warning is stuck anyway
				}
			}
			s.mu.Unlock()
		case <-s.ctx.Done():
			return
		}
	}
}
