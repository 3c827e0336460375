// Package server is the HTTP and WebSocket face of iexbox: it serves the
// page, health and status, and speaks iexbox.v1 on /ws, turning each
// accepted connection into one session on a fresh sandbox.
package server

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/admission"
	"iexbox/internal/classroom"
	"iexbox/internal/pool"
	"iexbox/internal/protocol"
)

// Config is what a Server needs beside its admission service.
type Config struct {
	// Runtime is the isolation runtime sandboxes run under, as clients
	// and /status are told.
	Runtime  string
	Instance string
	Origins  Origins
	Page     fs.FS // the browser page; nil serves none
	Version  string
	Warnings []string // for the operator, shown in /status
	Log      *slog.Logger

	// TokenSecret, when set, makes an access token in the hello mandatory.
	TokenSecret []byte
	// QueueTimeout is how long a client may wait in line for a sandbox
	// before it is told capacity; pongs do not extend it.
	QueueTimeout time.Duration
	// TrustedProxies may name the client in X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// Observer counts what happens (metrics); nil counts nothing.
	Observer Observer
	// Ready reports whether one more session can start: the sandbox
	// runtime answers and its image is present. nil is always ready.
	Ready func(ctx context.Context) error
	// Metrics, when set, is served at /metrics.
	Metrics http.Handler
	// Hosts are the host names the server answers to (see Hosts); nil
	// means loopback names, IP literals and the hosts of Origins.
	Hosts Hosts
	// TokenMaxLifetime refuses tokens whose expiry lies further ahead; 0
	// is no bound.
	TokenMaxLifetime time.Duration
	// Recordings serves recordings; nil when the server records nothing.
	Recordings Recordings
	// LocalOnly answers 403 to every request that a proxy forwarded (it
	// carries X-Forwarded-For or Forwarded): for a backend that isolates
	// nothing, which must serve this machine only.
	LocalOnly bool
	// Classes keeps classes; nil when the server keeps none.
	Classes *classroom.Service
	// TeacherKeys are the hashes of the keys that may open classes
	// (HashTeacherKeys).
	TeacherKeys [][32]byte
}

// DefaultQueueTimeout is the longest wait in line when Config sets none.
const DefaultQueueTimeout = 60 * time.Second

// Observer is told what happens to sessions. It must be safe for
// concurrent use and fast: it is called on every frame.
type Observer interface {
	SessionStarted(warm bool, startup time.Duration)
	SessionEnded(reason string, lasted time.Duration)
	Refused(reason string)
	TerminalBytes(in, out int)
}

type noObserver struct{}

func (noObserver) SessionStarted(bool, time.Duration) {}
func (noObserver) SessionEnded(string, time.Duration) {}
func (noObserver) Refused(string)                     {}
func (noObserver) TerminalBytes(int, int)             {}

// Server handles HTTP requests. It is safe for concurrent use.
type Server struct {
	cfg      Config
	adm      *admission.Service
	proxies  proxies
	upgrader websocket.Upgrader
	mux      *http.ServeMux
	csp      string // the Content-Security-Policy of every response
}

// New returns a Server for cfg whose sessions adm admits.
func New(cfg Config, adm *admission.Service) *Server {
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.QueueTimeout <= 0 {
		cfg.QueueTimeout = DefaultQueueTimeout
	}
	if cfg.Hosts == nil {
		cfg.Hosts, _ = ParseHosts("", "", cfg.Origins)
	}
	s := &Server{
		cfg: cfg, adm: adm, mux: http.NewServeMux(), proxies: cfg.TrustedProxies,
		csp: contentSecurityPolicy(cfg.Origins),
	}
	s.upgrader = websocket.Upgrader{
		Subprotocols:     []string{protocol.Subprotocol},
		HandshakeTimeout: writeWait,
		CheckOrigin: func(r *http.Request) bool { // a refusal is HTTP 403
			ok := cfg.Origins.allowed(r, cfg.Hosts)
			if !ok {
				cfg.Observer.Refused("origin")
			}
			return ok
		},
		ReadBufferSize:  4 << 10,
		WriteBufferSize: 32 << 10,
		// A connection holds a write buffer only while it writes: most
		// viewers and idle sessions are not writing at any moment.
		WriteBufferPool: &sync.Pool{},
	}
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /status", s.serveStatus)
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	s.mux.HandleFunc("GET /toolchains", s.serveToolchains)
	if adm.Exercises() != nil {
		s.mux.HandleFunc("GET /exercises/{name...}", s.serveExercise)
	}
	if cfg.Recordings != nil {
		s.mux.HandleFunc("GET /recordings/{file}", s.serveCast)
		s.mux.HandleFunc("DELETE /recordings/{file}", s.deleteRecording)
		s.mux.HandleFunc("OPTIONS /recordings/{file}", s.preflightRecording)
	}
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.privateOnly(cfg.Metrics))
	}
	if cfg.Classes != nil {
		s.registerClasses()
	}
	if cfg.Page != nil {
		s.mux.Handle("GET /", http.FileServerFS(cfg.Page))
		// A watch link opens the page, which reads its token from the path.
		s.mux.HandleFunc("GET /watch/{token}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFileFS(w, r, cfg.Page, "index.html")
		})
		// A replay link opens the replay page, which plays the cast.
		s.mux.HandleFunc("GET /replay/{id}", func(w http.ResponseWriter, r *http.Request) {
			http.ServeFileFS(w, r, cfg.Page, "replay.html")
		})
		s.mux.HandleFunc("GET /embed.js", func(w http.ResponseWriter, r *http.Request) {
			// Lesson sites on other origins load it with a script tag.
			w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
			http.ServeFileFS(w, r, cfg.Page, "dist/embed.js")
		})
		// The widget's terminal (dist/embed-term.js) is added to lesson
		// pages on other origins as a script too, by its first Run.
		bundles := http.FileServerFS(cfg.Page)
		s.mux.HandleFunc("GET /dist/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
			bundles.ServeHTTP(w, r)
		})
		if body := framePage(cfg.Page, cfg.Origins, cfg.Log); body != nil {
			s.mux.HandleFunc("GET /embed", serveFrame(body))
		}
	}
	return s
}

// ServeHTTP checks where the request comes from and its Host, then
// routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.LocalOnly && forwarded(r) {
		s.cfg.Observer.Refused("forwarded")
		http.Error(w, "iexbox: this server isolates nothing and serves its own machine only, never through a proxy", http.StatusForbidden)
		return
	}
	if !s.checkHost(w, r) {
		return
	}
	h := w.Header()
	h.Set("Referrer-Policy", "no-referrer") // a watch link in a URL must not leak to other sites
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy allows the page its own scripts, styles (xterm.js
// writes inline styles), images and WebSocket, and lets only the server's
// own pages and the -origins sites frame it.
func contentSecurityPolicy(origins Origins) string {
	ancestors := []string{"'self'"}
	for o := range origins {
		ancestors = append(ancestors, o)
	}
	slices.Sort(ancestors[1:])
	return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors " +
		strings.Join(ancestors, " ")
}

// privateOnly refuses requests that came through a trusted proxy: what is
// behind it is for the operator's own scrapers on the inside.
func (s *Server) privateOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.proxies.viaProxy(r) {
			s.cfg.Observer.Refused("private")
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyTimeout bounds the readiness check, so a load balancer's probe
// never hangs on a stuck Docker Engine.
const readyTimeout = 2 * time.Second

// serveReady answers 200 when one more session could start now, 503 with
// the reason otherwise: a load balancer sends new users elsewhere.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.ready(r.Context()); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

func (s *Server) ready(ctx context.Context) error {
	if err := s.adm.Manager().CanAdmit(); err != nil {
		return err
	}
	if s.cfg.Ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return s.cfg.Ready(ctx)
}

// Status is the JSON served at /status.
type Status struct {
	Version  string         `json:"version"`
	Instance string         `json:"instance"`
	Runtime  string         `json:"runtime"`
	Sessions SessionsStatus `json:"sessions"`
	Pool     *pool.Status   `json:"pool,omitempty"`
	// Toolchains is each toolchain's pool; Pool is their sum.
	Toolchains map[string]pool.Status `json:"toolchains,omitempty"`
	Warnings   []string               `json:"warnings"`
}

// SessionsStatus counts live sessions against the cap.
type SessionsStatus struct {
	Active int `json:"active"`
	Max    int `json:"max"`
}

func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	st := Status{
		Version:  s.cfg.Version,
		Instance: s.cfg.Instance,
		Runtime:  s.cfg.Runtime,
		Warnings: append([]string{}, s.cfg.Warnings...),
	}
	now := s.adm.Status()
	st.Sessions = SessionsStatus{Active: now.Active, Max: now.Max}
	st.Pool = &now.Pool
	st.Toolchains = now.Toolchains
	json.NewEncoder(w).Encode(st)
}
