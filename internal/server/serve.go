package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTP connection bounds: every connection is bounded in time before it is
// a session, so idle or slow ones cannot pile up and use every file
// descriptor. A WebSocket sets its own deadlines once upgraded.
const (
	readHeaderTimeout = 10 * time.Second // the request's headers
	writeTimeout      = 30 * time.Second // one response (the page is small)
	idleTimeout       = 20 * time.Second // a keep-alive connection between requests
)

// ServeOptions say how Serve stops, and where metrics are served apart.
type ServeOptions struct {
	// DrainTimeout lets live sessions run on this long after ctx ends,
	// refusing new ones (0: end them at once). DrainCut, when set, is
	// called as a drain begins; its context ending (a second signal) cuts
	// the drain short.
	DrainTimeout time.Duration
	DrainCut     func() (context.Context, context.CancelFunc)
	// ShutdownTimeout bounds the wait for sessions and sandboxes to end.
	ShutdownTimeout time.Duration
	// Metrics and MetricsHandler serve /metrics, and nothing else, on a
	// listener of their own.
	Metrics        net.Listener
	MetricsHandler http.Handler
}

// Serve serves ln until ctx ends, then stops in order: a drain if asked
// for, then no new connections, every session ended and the pool emptied.
// It returns a serve error, or nil after an orderly stop.
func (s *Stack) Serve(ctx context.Context, ln net.Listener, o ServeOptions) error {
	// Requests outlive ctx (the first signal): a drain keeps answering
	// /readyz (false) and /status until the sessions are gone.
	serveCtx := context.WithoutCancel(ctx)
	httpSrv := &http.Server{
		Handler:           s.Server,
		ReadHeaderTimeout: readHeaderTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return serveCtx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	if o.Metrics != nil {
		mux := http.NewServeMux() // /metrics only, not the exposition on every path
		mux.Handle("GET /metrics", o.MetricsHandler)
		metricsSrv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout,
			WriteTimeout: writeTimeout, IdleTimeout: idleTimeout}
		go func() { serveErr <- metricsSrv.Serve(o.Metrics) }()
		defer metricsSrv.Close()
		s.log.Info("serving metrics", "addr", o.Metrics.Addr().String())
	}
	shutdownCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
	}
	select {
	case err := <-serveErr:
		sctx, cancel := shutdownCtx()
		defer cancel()
		httpSrv.Close()
		s.Shutdown(sctx)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	mgr := s.Admission.Manager()
	if o.DrainTimeout > 0 && mgr.Active() > 0 {
		s.log.Info("draining", "sessions", mgr.Active(), "timeout", o.DrainTimeout)
		cut, stop := context.WithCancel(context.Background())
		if o.DrainCut != nil {
			cut, stop = o.DrainCut()
		}
		mgr.DrainFor(cut, o.DrainTimeout)
		stop()
	}
	s.log.Info("shutting down", "sessions", mgr.Active())
	sctx, cancel := shutdownCtx()
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { // stops accepting at once; hijacked connections are not its business
		if err := httpSrv.Shutdown(sctx); err != nil {
			httpSrv.Close()
		}
	})
	if err := s.Shutdown(sctx); err != nil {
		s.log.Warn("sessions still ending at the shutdown timeout", "sessions", mgr.Active())
	}
	wg.Wait()
	s.log.Info("stopped")
	return nil
}
