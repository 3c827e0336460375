package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/admission"
	"iexbox/internal/classroom"
	"iexbox/internal/protocol"
	"iexbox/internal/sandbox"
	"iexbox/internal/session"
)

// doorRetry is the Retry-After, in seconds, of a refused upgrade: by then
// every connection counted has said hello or been closed.
const doorRetry = int(helloWait / time.Second)

// tooMany answers an upgrade over a cap: HTTP 429 with Retry-After.
func tooMany(w http.ResponseWriter, retry int, message string) {
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	http.Error(w, "iexbox: "+message, http.StatusTooManyRequests)
}

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
	client := s.proxies.clientKey(r)
	leave, ok := s.adm.Addresses().Arrive(client)
	if !ok {
		s.cfg.Observer.Refused("pending")
		s.cfg.Log.Debug("too many connections before hello", "client", client)
		tooMany(w, doorRetry, "too many connections that have not said hello yet")
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		leave()
		s.cfg.Log.Debug("upgrade refused", "remote", r.RemoteAddr, "err", err)
		return // the upgrader has answered
	}
	c := newWSClient(conn, s.cfg.Observer)
	defer c.Close()

	log := s.cfg.Log
	hello, err := c.hello()
	leave()
	if err != nil {
		if errors.Is(err, session.ErrProtocol) {
			s.refuse(c, log, protocol.CodeProtocol, session.ProtocolMessage(err), 0, "err", err)
		}
		return
	}

	switch {
	case hello.Mode == protocol.ModeViewer:
		s.serveViewer(c, hello, client, log)
	case hello.Resume != "":
		s.serveResume(c, hello, log)
	default:
		s.servePresenter(c, hello, client, r.RemoteAddr)
	}
}

// servePresenter admits a new session for the client of key, in line
// when no sandbox is free, and runs it.
func (s *Server) servePresenter(c *wsClient, hello protocol.ClientMessage, key, remote string) {
	log := s.cfg.Log
	if ex := s.adm.Exercises(); hello.Exercise != "" && (ex == nil || !ex.Has(hello.Exercise)) {
		s.refuse(c, log, protocol.CodeNotFound, "no exercise is called "+strconv.Quote(hello.Exercise), 0)
		return
	}
	toolchainName, err := s.toolchainOf(hello)
	if err != nil {
		code := protocol.CodeProtocol
		if errors.Is(err, errNoToolchain) {
			code = protocol.CodeNotFound
		}
		s.refuse(c, log, code, err.Error(), 0)
		return
	}
	override, ok := s.checkToken(c, hello, key, remote)
	if !ok {
		return
	}
	// A class's learners are admitted against their class: at most
	// -learner-sessions each, in line by learner, never against their
	// school's one address.
	lineKey := key
	var member *classroom.Member
	var release func()
	if hello.Class != "" {
		member, release, ok = s.joinClass(c, hello, key)
		if !ok {
			return
		}
		lineKey = "class " + member.Class.Code + " " + member.Learner.ID
	} else if release, ok = s.admitAddress(c, override, key); !ok {
		return
	}
	defer release()

	join := s.adm.Join
	if member != nil {
		join = s.adm.JoinSeat
	}
	place, err := join(lineKey, toolchainName)
	if err != nil {
		if errors.Is(err, session.ErrShuttingDown) {
			s.refuse(c, log, protocol.CodeUnavailable, "the server is restarting", retryAfter)
		} else {
			s.refuse(c, log, protocol.CodeCapacity, err.Error(), retryAfter)
		}
		return
	}
	defer place.Leave()

	// Pings are control frames: safe beside the session's reader and
	// writer, and they keep a waiting client's connection open.
	defer c.keepAlive()()

	started := time.Now()
	in, err := s.waitInLine(c, place, hello.Cols, hello.Rows, log)
	if err != nil {
		return
	}
	defer func() {
		c.Close()
		in.finish()
	}()
	defer in.adm.Done()

	req := admission.Request{Cols: in.cols, Rows: in.rows, Resumable: hello.Resumable,
		Exercise: hello.Exercise, Record: hello.Record, Addr: key}
	if member != nil {
		req.Checked = func(res sandbox.CheckResult) { s.cfg.Classes.Checked(member, hello.Exercise, res) }
	}
	live, opened, err := in.adm.Open(req)
	if err != nil {
		s.refuseStart(c, log, err)
		return
	}
	if member != nil {
		defer s.cfg.Classes.Attach(in.adm.Context(), member, live, release)()
	}
	log = s.cfg.Log.With("session", live.ID())
	s.cfg.Observer.SessionStarted(opened.Warm, opened.Startup)
	log.Info("session started", "remote", remote, "warm", opened.Warm, "startup", opened.Startup.Round(time.Millisecond),
		"resumable", hello.Resumable, "exercise", hello.Exercise, "toolchain", toolchainName, "record", hello.Record)
	end := live.Run(in.client, s.greeter(c, live, hello.Record, member))
	lasted := time.Since(started)
	s.cfg.Observer.SessionEnded(endingOf(end.Reason).label(), lasted)
	level := slog.LevelInfo
	if end.Reason == session.ReasonError {
		level = slog.LevelWarn
	}
	log.Log(in.adm.Context(), level, "session ended", "reason", end.Reason, "code", exitCode(end.Code), "err", end.Err,
		"duration", lasted.Round(time.Millisecond))
}

// checkToken checks the hello's access token, where one is required,
// and returns what it changes of the address's limits. A refused client
// has been told.
func (s *Server) checkToken(c *wsClient, hello protocol.ClientMessage, key, remote string) (admission.Override, bool) {
	if len(s.cfg.TokenSecret) == 0 {
		return admission.Override{}, true
	}
	claims, err := verifyToken(s.cfg.TokenSecret, hello.Token, time.Now(), s.cfg.TokenMaxLifetime)
	if err == nil && !claims.admits(key) {
		err = errBadToken
	}
	if err != nil {
		s.refuse(c, s.cfg.Log, protocol.CodeForbidden, err.Error(), 0, "remote", remote)
		return admission.Override{}, false
	}
	return admission.Override{Sessions: claims.ClientSessions, PerMin: claims.ClientRate}, true
}

// joinClass finds the learner the hello names in its class and holds one
// of the learner's sessions; the caller must release it unless the
// session starts (the class then holds it). A refused client has been
// told, before any sandbox starts.
func (s *Server) joinClass(c *wsClient, hello protocol.ClientMessage, key string) (*classroom.Member, func(), bool) {
	if s.cfg.Classes == nil {
		s.refuse(c, s.cfg.Log, protocol.CodeNotFound, "this server keeps no classes", 0)
		return nil, nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := s.cfg.Classes.Join(ctx, key, hello.Class, hello.Name, hello.Learner)
	if err == nil {
		release, err := s.cfg.Classes.Seat(m)
		if err == nil {
			return m, release, true
		}
		s.refuse(c, s.cfg.Log, protocol.CodeRateLimited, err.Error(), retryAfter, "class", m.Class.Code)
		return nil, nil, false
	}
	switch {
	case errors.Is(err, classroom.ErrJoinRate):
		s.refuse(c, s.cfg.Log, protocol.CodeRateLimited, err.Error(), 60, "client", key)
	case errors.Is(err, classroom.ErrNoClass), errors.Is(err, classroom.ErrNoLearner):
		s.refuse(c, s.cfg.Log, protocol.CodeNotFound, err.Error(), 0)
	case errors.Is(err, classroom.ErrBadName), errors.Is(err, classroom.ErrNameTaken):
		s.refuse(c, s.cfg.Log, protocol.CodeProtocol, err.Error(), 0)
	default:
		s.refuse(c, s.cfg.Log, protocol.CodeUnavailable, "the class could not be read", retryAfter, "err", err)
	}
	return nil, nil, false
}

// admitAddress counts one more session of the client's address; the
// caller must release it once the session is over. A refused client has
// been told.
func (s *Server) admitAddress(c *wsClient, override admission.Override, key string) (release func(), ok bool) {
	release, wait, ok := s.adm.Addresses().Admit(key, override, time.Now())
	if !ok {
		s.refuse(c, s.cfg.Log, protocol.CodeRateLimited, "too many sessions from your address", wait, "client", key)
	}
	return release, ok
}

// greeter sends a presenter's ready event; askedToRecord: the hello asked
// for a recording, and ready says when the server records nothing.
func (s *Server) greeter(c *wsClient, live *session.Session, askedToRecord bool, member *classroom.Member) session.Greeter {
	tc, _ := s.adm.Toolchains().Get(live.Toolchain())
	var class, learner, name string
	if member != nil {
		class, learner, name = classroom.FormatCode(member.Class.Code), member.Token, member.Learner.Name
	}
	return func(resume string) error {
		err := c.sendReady(protocol.Ready{
			Class:        class,
			Learner:      learner,
			Name:         name,
			Toolchain:    tc.Name,
			Elixir:       tc.Versions.Elixir,
			OTP:          tc.Versions.OTP,
			Session:      live.ID(),
			Instance:     s.cfg.Instance,
			IdleTimeout:  int(s.adm.Limits().Idle / time.Second),
			MaxLifetime:  int(s.adm.Limits().Lifetime / time.Second),
			LifetimeLeft: secondsLeft(live.LifetimeLeft()),
			Runtime:      s.cfg.Runtime,
			Resume:       resume,
			Recordings:   s.recordingsState(askedToRecord),
		})
		if err == nil && s.cfg.Classes != nil {
			// After ready: a learner's page, new or resumed, learns what
			// the class shows.
			s.cfg.Classes.Greeted(live)
		}
		return err
	}
}

// recordingsState is ready's "recordings": "off" when the hello asked for
// a recording and the server records nothing.
func (s *Server) recordingsState(asked bool) string {
	if asked && s.cfg.Recordings == nil {
		return "off"
	}
	return ""
}

// secondsLeft rounds a time left up to whole seconds, so a page never shows
// less than remains.
func secondsLeft(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// refuseStart turns a connection away whose sandbox could not start: a
// backend with no room (a full cluster) wraps sandbox.ErrNoRoom, so the
// client retries later; anything else is unavailable.
func (s *Server) refuseStart(c *wsClient, log *slog.Logger, err error) {
	if errors.Is(err, sandbox.ErrNoRoom) {
		s.refuse(c, log, protocol.CodeCapacity, "no room for a sandbox now", retryAfter, "err", err)
		return
	}
	s.refuse(c, log, protocol.CodeUnavailable, "the sandbox could not be started", retryAfter, "err", err)
}

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
