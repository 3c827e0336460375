package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"iexbox/internal/protocol"
	"iexbox/internal/session"
)

// startTimeout bounds creating and starting one sandbox.
const startTimeout = 60 * time.Second

// retryAfter is the advice, in seconds, given with capacity and
// unavailable refusals.
const retryAfter = 5

// serveWS upgrades a connection and runs one session on it.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(websocket.Subprotocols(r), protocol.Subprotocol) {
		s.cfg.Observer.Refused("protocol")
		http.Error(w, "iexbox: offer the WebSocket subprotocol "+protocol.Subprotocol, http.StatusBadRequest)
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.cfg.Log.Debug("upgrade refused", "remote", r.RemoteAddr, "err", err)
		return // the upgrader has answered
	}
	c := newWSClient(conn, s.cfg.Observer)
	defer c.Close()

	id := uuid.NewString()
	log := s.cfg.Log.With("session", id)
	hello, err := c.hello()
	if err != nil {
		if errors.Is(err, session.ErrProtocol) {
			s.refuse(c, log, protocol.CodeProtocol, protocolMessage(err), 0, "err", err)
		}
		return
	}

	switch {
	case hello.Mode == protocol.ModeViewer:
		s.serveViewer(c, hello, log)
		return
	case hello.Resume != "":
		s.serveResume(c, hello, log)
		return
	}

	limits := s.cfg.ClientLimits
	if len(s.cfg.TokenSecret) > 0 {
		claims, err := verifyToken(s.cfg.TokenSecret, hello.Token, time.Now())
		if err != nil {
			s.refuse(c, log, protocol.CodeForbidden, err.Error(), 0, "remote", r.RemoteAddr)
			return
		}
		if claims.ClientSessions > 0 {
			limits.Sessions = claims.ClientSessions
		}
		if claims.ClientRate > 0 {
			limits.PerMin = claims.ClientRate
		}
	}
	client := s.clients.key(r)
	releaseClient, wait, ok := s.clients.admit(client, limits, time.Now())
	if !ok {
		s.refuse(c, log, protocol.CodeRateLimited, "too many sessions from your address", wait, "client", client)
		return
	}
	defer releaseClient()

	ctx, done, err := s.cfg.Manager.Admit()
	if err != nil {
		if errors.Is(err, session.ErrShuttingDown) {
			s.refuse(c, log, protocol.CodeUnavailable, "the server is restarting", retryAfter)
		} else {
			s.refuse(c, log, protocol.CodeCapacity, err.Error(), retryAfter)
		}
		return
	}
	defer done()

	// Pings are control frames: safe beside the session's reader and writer.
	pingCtx, stopPing := context.WithCancel(ctx)
	defer stopPing()
	go c.keepAlive(pingCtx)

	started := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	sb, err := s.cfg.Runtime.Start(startCtx, session.Spec{ID: id, Cols: hello.Cols, Rows: hello.Rows})
	cancel()
	if err != nil {
		s.refuse(c, log, protocol.CodeUnavailable, "the sandbox could not be started", retryAfter, "err", err)
		return
	}
	if got := session.SessionIDOf(sb, id); got != id { // a warm sandbox keeps its own id
		id, log = got, s.cfg.Log.With("session", got)
	}
	warm := session.Warm(sb)
	live := session.New(ctx, sb, s.cfg.Limits, session.Options{
		ID:   id,
		Cols: hello.Cols, Rows: hello.Rows,
		Resumable:  hello.Resumable && s.cfg.ResumeGrace > 0,
		Grace:      s.cfg.ResumeGrace,
		MaxViewers: s.cfg.MaxViewers,
		Directory:  s.cfg.Manager.Directory(),
	}, log)
	startup := time.Since(started)
	s.cfg.Observer.SessionStarted(warm, startup)
	log.Info("session started", "remote", r.RemoteAddr, "warm", warm, "startup", startup.Round(time.Millisecond),
		"resumable", hello.Resumable)
	end := live.Run(c, s.greeter(c, live))
	s.cfg.Observer.SessionEnded(string(end.Reason), time.Since(started))
	level := slog.LevelInfo
	if end.Reason == session.ReasonError {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "session ended", "reason", end.Reason, "code", exitCode(end.Code), "err", end.Err,
		"duration", time.Since(started).Round(time.Millisecond))
}

// greeter sends a presenter's ready event.
func (s *Server) greeter(c *wsClient, live *session.Session) session.Greeter {
	return func(resume string) error {
		return c.sendReady(protocol.Ready{
			Session:      live.ID(),
			Instance:     s.cfg.Instance,
			IdleTimeout:  int(s.cfg.Limits.Idle / time.Second),
			MaxLifetime:  int(s.cfg.Limits.Lifetime / time.Second),
			LifetimeLeft: secondsLeft(live.LifetimeLeft()),
			Runtime:      s.cfg.Runtime.Name(),
			Resume:       resume,
		})
	}
}

// secondsLeft rounds a time left up to whole seconds, so a page never shows
// less than remains.
func secondsLeft(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// refuse turns a connection away before its session began: logged,
// counted, and told why.
func (s *Server) refuse(c *wsClient, log *slog.Logger, code, message string, retry int, attrs ...any) {
	s.cfg.Observer.Refused(code)
	log.Info("refused", append([]any{"code", code}, attrs...)...)
	c.refuse(code, message, retry)
}

// exitCode is a log value for an exit status that may be unknown.
func exitCode(code *int) any {
	if code == nil {
		return nil
	}
	return *code
}
