package server

import (
	"context"
	"errors"
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
		http.Error(w, "iexbox: offer the WebSocket subprotocol "+protocol.Subprotocol, http.StatusBadRequest)
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.cfg.Log.Debug("upgrade refused", "remote", r.RemoteAddr, "err", err)
		return // the upgrader has answered
	}
	c := newWSClient(conn)
	defer c.Close()

	id := uuid.NewString()
	log := s.cfg.Log.With("session", id)
	hello, err := c.hello()
	if err != nil {
		if errors.Is(err, session.ErrProtocol) {
			log.Info("refused", "code", protocol.CodeProtocol, "err", err)
			c.refuse(protocol.CodeProtocol, protocolMessage(err), 0)
		}
		return
	}

	limits := s.cfg.ClientLimits
	if len(s.cfg.TokenSecret) > 0 {
		claims, err := verifyToken(s.cfg.TokenSecret, hello.Token, time.Now())
		if err != nil {
			log.Info("refused", "code", protocol.CodeForbidden, "remote", r.RemoteAddr)
			c.refuse(protocol.CodeForbidden, err.Error(), 0)
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
		log.Info("refused", "code", protocol.CodeRateLimited, "client", client)
		c.refuse(protocol.CodeRateLimited, "too many sessions from your address", wait)
		return
	}
	defer releaseClient()

	ctx, done, err := s.cfg.Manager.Admit()
	if err != nil {
		code := protocol.CodeCapacity
		if errors.Is(err, session.ErrShuttingDown) {
			code = protocol.CodeUnavailable
		}
		log.Info("refused", "code", code)
		c.refuse(code, err.Error(), retryAfter)
		return
	}
	defer done()

	// Pings are control frames: safe beside the session's reader and writer.
	pingCtx, stopPing := context.WithCancel(ctx)
	defer stopPing()
	go func() {
		t := time.NewTicker(pingPeriod)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				c.ping()
			case <-pingCtx.Done():
				return
			}
		}
	}()

	started := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	sb, err := s.cfg.Runtime.Start(startCtx, session.Spec{ID: id, Cols: hello.Cols, Rows: hello.Rows})
	cancel()
	if err != nil {
		log.Error("start sandbox", "err", err)
		c.refuse(protocol.CodeUnavailable, "the sandbox could not be started", retryAfter)
		return
	}
	if got := session.SessionIDOf(sb, id); got != id { // a warm sandbox keeps its own id
		id, log = got, s.cfg.Log.With("session", got)
	}
	log.Info("session started", "remote", r.RemoteAddr, "startup", time.Since(started).Round(time.Millisecond))
	err = c.sendReady(protocol.Ready{
		Session:     id,
		Instance:    s.cfg.Instance,
		IdleTimeout: int(s.cfg.Limits.Idle / time.Second),
		MaxLifetime: int(s.cfg.Limits.Lifetime / time.Second),
		Runtime:     s.cfg.Runtime.Name(),
	})
	if err != nil {
		log.Debug("send ready", "err", err)
		sb.Close()
		return
	}
	end := session.Run(ctx, sb, c, s.cfg.Limits, log)
	log.Info("session ended", "reason", end.Reason, "code", exitCode(end.Code), "err", end.Err,
		"duration", time.Since(started).Round(time.Millisecond))
}

// exitCode is a log value for an exit status that may be unknown.
func exitCode(code *int) any {
	if code == nil {
		return nil
	}
	return *code
}
