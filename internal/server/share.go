package server

import (
	"errors"
	"log/slog"
	"time"

	"iexbox/internal/admission"
	"iexbox/internal/protocol"
	"iexbox/internal/session"
)

// serveResume attaches a connection to the detached (or still attached)
// session its resume token names. The token is spent either way. A resume
// needs no access token and no admission: the session already has both.
func (s *Server) serveResume(c *wsClient, hello protocol.ClientMessage, log *slog.Logger) {
	live, ok := s.adm.Resume(hello.Resume)
	if !ok {
		s.refuse(c, log, protocol.CodeResumeFailed, "this session cannot be resumed: it has ended, or the token was used or is unknown", 0)
		return
	}
	log = s.cfg.Log.With("session", live.ID())
	defer c.keepAlive()()
	err := live.Attach(c, s.greeter(c, live, false, nil), hello.Cols, hello.Rows)
	if errors.Is(err, session.ErrSessionOver) {
		s.refuse(c, log, protocol.CodeResumeFailed, "this session has ended", 0)
		return
	}
	log.Debug("resumed connection done")
}

// shownByClass reports whether watch is the token of a console a class
// shows its learners, with the class and its bound on viewers.
func (s *Server) shownByClass(watch string) (class string, bound int, ok bool) {
	if s.cfg.Classes == nil {
		return "", 0, false
	}
	return s.cfg.Classes.ShownViewers(watch)
}

// serveViewer lets a connection watch the shared session its watch token
// names. Viewers need no access token (the watch token is the capability)
// and do not count against the session cap; admission bounds them per
// session, per client address (per class for a console a class shows)
// and in all.
func (s *Server) serveViewer(c *wsClient, hello protocol.ClientMessage, client string, log *slog.Logger) {
	live, ok := s.adm.Watched(hello.Watch)
	if !ok {
		s.refuse(c, log, protocol.CodeNotFound, "no shared session has this link: it may have ended", 0)
		return
	}
	var leave func()
	var err error
	if class, bound, ok := s.shownByClass(hello.Watch); ok {
		// A class's learners usually share one school address: the
		// console the class shows counts its viewers against the class.
		leave, err = s.adm.Addresses().WatchClass(class, bound)
	} else {
		leave, err = s.adm.Addresses().Watch(client)
	}
	switch {
	case errors.Is(err, admission.ErrCapacity):
		s.refuse(c, log, protocol.CodeCapacity, "this server has as many viewers as it may", retryAfter)
		return
	case errors.Is(err, admission.ErrClassViewers):
		s.refuse(c, log, protocol.CodeCapacity, "the teacher's console has as many viewers as the class may hold", retryAfter)
		return
	case err != nil:
		s.refuse(c, log, protocol.CodeRateLimited, "too many viewers from your address", admission.BusyRetry, "client", client)
		return
	}
	defer leave()
	log = s.cfg.Log.With("session", live.ID(), "viewer", true)
	c.viewer = true
	defer c.keepAlive()()
	started := time.Now()
	err = live.Watch(c, func(cols, rows int) error {
		return c.sendReady(protocol.Ready{
			Session:      live.ID(),
			Instance:     s.cfg.Instance,
			IdleTimeout:  int(s.adm.Limits().Idle / time.Second),
			MaxLifetime:  int(s.adm.Limits().Lifetime / time.Second),
			LifetimeLeft: secondsLeft(live.LifetimeLeft()),
			Runtime:      s.cfg.Runtime,
			Mode:         protocol.ModeViewer,
			Cols:         cols,
			Rows:         rows,
		})
	})
	switch {
	case errors.Is(err, session.ErrTooManyViewers):
		s.refuse(c, log, protocol.CodeCapacity, "this session has as many viewers as it may", retryAfter)
	case errors.Is(err, session.ErrSessionOver):
		s.refuse(c, log, protocol.CodeNotFound, "this shared session has ended", 0)
	default:
		log.Debug("viewer left", "watched", time.Since(started).Round(time.Millisecond))
	}
}
