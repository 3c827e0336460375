package classroom

import (
	"errors"
	"fmt"

	"iexbox/internal/session"
	"iexbox/internal/store"
)

// ErrNotShared is returned by Show for a watch token that names no live
// shared session on this server.
var ErrNotShared = errors.New("no shared session has this watch token: it may have ended or been unshared")

// ShowMargin is how many viewers beyond its seats a class's shown console
// may have: the teacher's own second screen, a projector, a late learner.
const ShowMargin = 10

// Why a class stops showing its teacher's console, as learners are told.
const (
	ShowStopped = "stopped" // the teacher stopped showing it
	ShowEnded   = "ended"   // the console was unshared or ended
)

// showing is the teacher's console a class shows its learners: a watch
// token of a shared session on this server.
type showing struct {
	watch string
	seats int
}

// Show shows the shared session watch names to every learner of the
// class: each running session of it is told now, each one started or
// resumed later when greeted (Greeted), until Unshow, the end of the
// class, or the end of the sharing. Showing another console replaces the
// one shown. It reports how many sessions it told.
func (s *Service) Show(c store.Class, watch string) (int, error) {
	if !c.Open() {
		return 0, fmt.Errorf("%w: the class has ended", ErrBadRequest)
	}
	if watch == "" || s.cfg.Shared == nil || !s.cfg.Shared(watch) {
		return 0, ErrNotShared
	}
	s.mu.Lock()
	s.shown[c.Code] = showing{watch: watch, seats: c.Seats}
	s.mu.Unlock()
	s.cfg.Log.Info("class shows the teacher's console", "class", c.Code)
	return s.tellAll(c.Code, showEvent(watch)), nil
}

// Unshow stops showing the class's teacher's console; the learners are
// told ShowStopped. Nothing shown, nothing told: it reports 0.
func (s *Service) Unshow(c store.Class) int {
	return s.stopShowing(c.Code, ShowStopped)
}

// stopShowing forgets what code shows and tells its sessions why, if it
// showed anything.
func (s *Service) stopShowing(code, why string) int {
	s.mu.Lock()
	_, was := s.shown[code]
	delete(s.shown, code)
	s.mu.Unlock()
	if !was {
		return 0
	}
	s.cfg.Log.Info("class stops showing the teacher's console", "class", code, "why", why)
	return s.tellAll(code, session.Event{Kind: session.TeacherConsoleEnded, Reason: why})
}

// checkShown stops showing the consoles no longer shared: unshared by
// the teacher's page, or ended.
func (s *Service) checkShown() {
	s.mu.Lock()
	var gone []string
	for code, sh := range s.shown {
		if s.cfg.Shared == nil || !s.cfg.Shared(sh.watch) {
			gone = append(gone, code)
		}
	}
	s.mu.Unlock()
	for _, code := range gone {
		s.stopShowing(code, ShowEnded)
	}
}

// ShownViewers reports whether watch is the token of a console a class
// shows, and then the class's code and how many viewers of it the class
// may hold at once: its seats and ShowMargin.
func (s *Service) ShownViewers(watch string) (code string, bound int, ok bool) {
	if watch == "" {
		return "", 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for code, sh := range s.shown {
		if sh.watch == watch {
			return code, sh.seats + ShowMargin, true
		}
	}
	return "", 0, false
}

// Greeted tells c, a session just greeted (started or resumed), what its
// class shows, if it belongs to a class that shows a console.
func (s *Service) Greeted(c Console) {
	s.mu.Lock()
	watch := ""
	for code, l := range s.classes {
		sh, showing := s.shown[code]
		if !showing {
			continue
		}
		for _, cs := range l.consoles {
			if _, ok := cs[c]; ok {
				watch = sh.watch
			}
		}
	}
	s.mu.Unlock()
	if watch != "" {
		c.Tell(showEvent(watch))
	}
}

func showEvent(watch string) session.Event {
	return session.Event{Kind: session.TeacherConsole, Watch: watch}
}

// tellAll tells every running session of the class e and reports how
// many it told.
func (s *Service) tellAll(code string, e session.Event) int {
	n := 0
	for _, cs := range s.consoles(code) {
		for _, con := range cs {
			con.Tell(e)
			n++
		}
	}
	return n
}
