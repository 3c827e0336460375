package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"iexbox/internal/docker"
	"iexbox/internal/kube"
	"iexbox/internal/metrics"
	"iexbox/internal/pool"
	"iexbox/internal/process"
	"iexbox/internal/sandbox"
	"iexbox/internal/server"
	"iexbox/internal/session"
	"iexbox/static"
)

// startupTimeout bounds the Docker checks and the sweep at start-up.
const startupTimeout = 30 * time.Second

// HTTP connection bounds: every connection is bounded in time before it is
// a session, so idle or slow ones cannot pile up and use every file
// descriptor. A WebSocket sets its own deadlines once upgraded.
const (
	readHeaderTimeout = 10 * time.Second // the request's headers
	writeTimeout      = 30 * time.Second // one response (the page is small)
	idleTimeout       = 20 * time.Second // a keep-alive connection between requests
)

// run is the whole program: it serves until ctx ends, then shuts down in
// order (stop accepting, end every session, remove every container).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 && args[1] == "exercises" {
		return runExercises(ctx, args, getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	exercises, err := loadExercises(cfg, log)
	if err != nil {
		return err
	}
	instance := cfg.instanceOrDefault()
	origins, err := server.ParseOrigins(cfg.origins)
	if err != nil {
		return err
	}
	proxies, err := server.ParseTrustedProxies(cfg.trustedProxies)
	if err != nil {
		return err
	}
	hosts, err := server.ParseHosts(cfg.hosts, cfg.addr, origins)
	if err != nil {
		return fmt.Errorf("-hosts: %w", err)
	}

	var ( // set below, before anything is served or scraped
		mgr      *session.Manager
		warmPool *pool.Pool
	)
	met := metrics.New(metrics.Gauges{
		SessionsActive: func() int { return mgr.Active() },
		SessionsMax:    func() int { return mgr.Max() },
		PoolSize:       func() int { return warmPool.Status().Size },
		PoolReady:      func() int { return warmPool.Status().Ready },
		PoolStarting:   func() int { return warmPool.Status().Starting },
		PoolMax:        func() int { return warmPool.Status().Max },
		PoolReason:     func() string { return warmPool.Status().Reason },
		Queued:         func() int { return warmPool.Status().Queued },
	})
	backend, err := openBackend(ctx, cfg, instance, log, met)
	if err != nil {
		return err
	}
	defer backend.Close()
	mgr = session.NewManager(cfg.maxSessionsOrDefault(backend.Footprint()))

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var metricsLn net.Listener
	if cfg.metricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics: %w", err)
		}
	}
	starts := pool.WatchStarts(backend)
	poolCfg := pool.Config{
		Size:         cfg.poolSize,
		MaxAge:       cfg.poolMaxAge,
		Prompt:       warmPrompt(cfg.backend),
		Cols:         80,
		Rows:         24,
		Parallel:     cfg.bootParallel,
		QueueMax:     cfg.queueMax,
		AddrQueueMax: cfg.clientQueue,
	}
	if cfg.poolSize < 0 {
		auto := pool.AutoBounds(backend.Capacity(), backend.Footprint(), cfg.poolMemory, cfg.poolMax, mgr.Max())
		poolCfg.Auto = &auto
	}
	warmPool = pool.New(starts, poolCfg, mgr, log)
	poolCtx, stopPool := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPool()
	poolDone := make(chan struct{})
	go func() {
		defer close(poolDone)
		warmPool.Run(poolCtx)
	}()
	opener := &session.Opener{
		Manager: mgr,
		Pool:    warmPool,
		Limits: session.Limits{
			Idle: cfg.idleTimeout, Lifetime: cfg.maxLifetime,
			InputRate: cfg.inputBytes, InputBurst: cfg.inputBurstBytes,
			Drain: mgr.Drain(),
		},
		Grace:        cfg.resumeGrace,
		MaxViewers:   cfg.maxViewers,
		Exercises:    exercises,
		CheckTimeout: cfg.checkTimeout,
		Log:          log,
	}
	srv := server.New(server.Config{
		Opener:      opener,
		Runtime:     backend.Name(),
		Pool:        warmPool,
		Manager:     mgr,
		Observer:    met,
		Ready:       starts.Ready,
		TokenSecret: cfg.tokenSecret,
		ClientLimits: server.ClientLimits{Sessions: cfg.clientSessions, PerMin: cfg.clientRate, Burst: cfg.clientBurst,
			Floor: cfg.clientFloor, FairFrom: cfg.clientFairFrom},
		QueueTimeout:     cfg.queueTimeout,
		TrustedProxies:   proxies,
		Instance:         instance,
		Origins:          origins,
		Page:             page(),
		Version:          version(),
		Warnings:         backend.Warnings(),
		Log:              log,
		Metrics:          publicMetrics(met, metricsLn),
		MaxViewersTotal:  cfg.maxViewersTotal,
		Hosts:            hosts,
		TokenMaxLifetime: cfg.tokenMaxLife,
		Exercises:        exercises,
	})
	// Requests outlive ctx (the first signal): a drain keeps answering
	// /readyz (false) and /status until the sessions are gone.
	serveCtx := context.WithoutCancel(ctx)
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: readHeaderTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return serveCtx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	log.Info("listening", "addr", ln.Addr().String(), "instance", instance, "backend", cfg.backend, "runtime", backend.Name(),
		"max_sessions", mgr.Max(), "pool", cfg.pool, "pool_target", warmPool.Status().Target, "pool_max", warmPool.Status().Max,
		"boot_parallel", cfg.bootParallel)
	fmt.Fprintf(stdout, "iexbox serving on http://%s\n", ln.Addr())

	serveErr := make(chan error, 2)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	if metricsLn != nil {
		metricsMux := http.NewServeMux() // /metrics only, not the exposition on every path
		metricsMux.Handle("GET /metrics", met.Handler())
		metricsSrv := &http.Server{Handler: metricsMux, ReadHeaderTimeout: readHeaderTimeout,
			WriteTimeout: writeTimeout, IdleTimeout: idleTimeout}
		go func() { serveErr <- metricsSrv.Serve(metricsLn) }()
		defer metricsSrv.Close()
		log.Info("serving metrics", "addr", metricsLn.Addr().String())
	}
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	if cfg.drainTimeout > 0 && mgr.Active() > 0 {
		drain(mgr, cfg.drainTimeout, log)
	}
	log.Info("shutting down", "sessions", mgr.Active())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { // stops accepting at once; hijacked connections are not its business
		if err := httpSrv.Shutdown(shutdownCtx); err != nil {
			httpSrv.Close()
		}
	})
	var sessErr error
	wg.Go(func() { sessErr = mgr.Shutdown(shutdownCtx) })
	wg.Go(func() { // the pool shrinks to zero beside the sessions
		stopPool()
		select {
		case <-poolDone:
		case <-shutdownCtx.Done():
		}
	})
	wg.Wait()
	if sessErr != nil {
		log.Warn("sessions still ending at the shutdown timeout", "sessions", mgr.Active())
	}
	log.Info("stopped")
	return nil
}

// openBackend opens the backend the flags ask for: the one switch that
// knows them all.
func openBackend(ctx context.Context, cfg config, instance string, log *slog.Logger, met *metrics.Metrics) (sandbox.Backend, error) {
	switch cfg.backend {
	case "kubernetes":
		return kube.Open(ctx, kube.Config{
			Policy:          cfg.policy,
			Instance:        instance,
			Kubeconfig:      cfg.kubeconfig,
			Namespace:       cfg.namespace,
			ServerNamespace: cfg.serverNamespace,
			RuntimeClass:    cfg.runtimeClass,
			NodeSelector:    cfg.nodeSelectorMap,
		}, log, met)
	case "process":
		b := process.New(strings.Fields(cfg.command), nil)
		for _, w := range b.Warnings() {
			log.Warn(w)
		}
		return b, nil
	default:
		opts := docker.Options{SandboxesMemory: cfg.sandboxesMem, SandboxesCPUs: cfg.sandboxesCPUsOrDefault}
		if cfg.cgroupParent != "" {
			opts.CgroupName = cfg.cgroupParent
		}
		return docker.Open(ctx, docker.Config{
			Policy:   cfg.policy,
			Instance: instance,
			Network:  cfg.network,
			DNS:      splitList(cfg.dns),
		}, opts, log, met)
	}
}

// drain lets live sessions run on for up to timeout after the first
// signal, refusing new ones (readyz false) and warning each person; a
// second signal cuts it short.
func drain(mgr *session.Manager, timeout time.Duration, log *slog.Logger) {
	deadline := time.Now().Add(timeout)
	mgr.BeginDrain(deadline)
	log.Info("draining", "sessions", mgr.Active(), "timeout", timeout)
	again, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for mgr.Active() > 0 && time.Now().Before(deadline) {
		select {
		case <-again.Done():
			log.Info("second signal: ending sessions now")
			return
		case <-tick.C:
		}
	}
}

// publicMetrics is the /metrics handler of the main listener: none when
// metrics have their own (private) address.
func publicMetrics(m *metrics.Metrics, own net.Listener) http.Handler {
	if own != nil {
		return nil
	}
	return m.Handler()
}

// warmPrompt is the output that shows a warm sandbox is ready: iex's first
// prompt. Other programs (the process backend's) are ready once started.
func warmPrompt(backend string) []byte {
	if backend == "process" {
		return nil
	}
	return []byte(sandbox.Prompt)
}

func newLogger(cfg config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level %q: %w", cfg.logLevel, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cfg.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", cfg.logFormat)
}

// page is the embedded browser page; before `make web` has built it, / says
// how to build it.
func page() fs.FS {
	if static.Built() {
		return static.FS()
	}
	return unbuiltPage{static.FS()}
}

// unbuiltPage serves unbuilt.html as the index.
type unbuiltPage struct{ fs.FS }

func (p unbuiltPage) Open(name string) (fs.File, error) {
	if name == "index.html" {
		name = "unbuilt.html"
	}
	return p.FS.Open(name)
}

// buildVersion is set by the build (make build) from git describe.
var buildVersion string

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return "dev"
}
