// Package server is the HTTP and WebSocket face of iexbox: it serves the
// page, health and status, and speaks iexbox.v1 on /ws, turning each
// accepted connection into one session on a fresh sandbox.
package server

import (
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/gorilla/websocket"

	"iexbox/internal/protocol"
	"iexbox/internal/session"
)

// Config is what a Server needs.
type Config struct {
	Runtime  session.Runtime
	Manager  *session.Manager
	Pool     interface{ Status() session.PoolStatus } // nil without a pool
	Limits   session.Limits
	Instance string
	Origins  Origins
	Page     fs.FS // the browser page; nil serves none
	Version  string
	Warnings []string // for the operator, shown in /status
	Log      *slog.Logger

	// TokenSecret, when set, makes an access token in the hello mandatory.
	TokenSecret []byte
	// ClientLimits bound the sessions of one client address.
	ClientLimits ClientLimits
	// TrustedProxies may name the client in X-Forwarded-For.
	TrustedProxies []netip.Prefix
}

// Server handles HTTP requests. It is safe for concurrent use.
type Server struct {
	cfg      Config
	clients  clients
	upgrader websocket.Upgrader
	mux      *http.ServeMux
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, mux: http.NewServeMux(), clients: clients{trusted: cfg.TrustedProxies}}
	s.upgrader = websocket.Upgrader{
		Subprotocols:    []string{protocol.Subprotocol},
		CheckOrigin:     cfg.Origins.allowed, // a refusal is HTTP 403
		ReadBufferSize:  4 << 10,
		WriteBufferSize: 32 << 10,
	}
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /status", s.serveStatus)
	if cfg.Page != nil {
		s.mux.Handle("GET /", http.FileServerFS(cfg.Page))
	}
	return s
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// Status is the JSON served at /status.
type Status struct {
	Version  string              `json:"version"`
	Instance string              `json:"instance"`
	Runtime  string              `json:"runtime"`
	Sessions SessionsStatus      `json:"sessions"`
	Pool     *session.PoolStatus `json:"pool,omitempty"`
	Warnings []string            `json:"warnings"`
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
		Runtime:  s.cfg.Runtime.Name(),
		Sessions: SessionsStatus{Active: s.cfg.Manager.Active(), Max: s.cfg.Manager.Max()},
		Warnings: append([]string{}, s.cfg.Warnings...),
	}
	if s.cfg.Pool != nil {
		ps := s.cfg.Pool.Status()
		st.Pool = &ps
	}
	json.NewEncoder(w).Encode(st)
}
