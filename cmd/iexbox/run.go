package main

import (
	"context"
	"fmt"
	"io"
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

	"iexbox/internal/admission"
	"iexbox/internal/docker"
	"iexbox/internal/kube"
	"iexbox/internal/metrics"
	"iexbox/internal/process"
	"iexbox/internal/sandbox"
	"iexbox/internal/server"
	"iexbox/static"
)

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
	if len(args) > 1 && args[1] == "toolchains" {
		return runToolchains(ctx, args, getenv, stdout, stderr)
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
	stackCfg, err := cfg.stack()
	if err != nil {
		return err
	}
	stackCfg.Admission.Exercises = exercises
	toolchains, toolchainsDir, err := loadToolchains(cfg, log)
	if err != nil {
		return err
	}
	if err := bindExercises(exercises, toolchains); err != nil {
		return err
	}
	stackCfg.Admission.Toolchains = toolchains
	stackCfg.Server.Page = static.Page()
	stackCfg.Server.Version = version()
	stackCfg.Server.Log = log

	met := metrics.New()
	backend, err := openBackend(ctx, cfg, stackCfg.Server.Instance, log, met)
	if err != nil {
		return err
	}
	defer backend.Close()
	if err := findToolchains(ctx, toolchains, toolchainsDir, backend); err != nil {
		return err
	}

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
	} else {
		stackCfg.Server.Metrics = met.Handler() // on the main listener, refused through proxies
	}
	stackCfg.Server.Observer = met
	stack := server.NewStack(backend, stackCfg, log)
	met.Watch(gauges(stack.Admission))

	// Requests outlive ctx (the first signal): a drain keeps answering
	// /readyz (false) and /status until the sessions are gone.
	serveCtx := context.WithoutCancel(ctx)
	httpSrv := &http.Server{
		Handler:           stack.Server,
		ReadHeaderTimeout: readHeaderTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return serveCtx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	st := stack.Admission.Status()
	log.Info("listening", "addr", ln.Addr().String(), "instance", stackCfg.Server.Instance, "backend", cfg.backend,
		"runtime", backend.Name(), "max_sessions", st.Max, "pool", cfg.pool, "pool_target", st.Pool.Target,
		"pool_max", st.Pool.Max, "boot_parallel", cfg.bootParallel)
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
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
		defer cancel()
		stack.Shutdown(shutdownCtx)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	mgr := stack.Admission.Manager()
	if cfg.drainTimeout > 0 && mgr.Active() > 0 {
		log.Info("draining", "sessions", mgr.Active(), "timeout", cfg.drainTimeout)
		// A second signal cuts the drain short.
		again, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		mgr.DrainFor(again, cfg.drainTimeout)
		stop()
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
	if err := stack.Shutdown(shutdownCtx); err != nil {
		log.Warn("sessions still ending at the shutdown timeout", "sessions", mgr.Active())
	}
	wg.Wait()
	log.Info("stopped")
	return nil
}

// gauges are the metrics read from admission when scraped.
func gauges(adm *admission.Service) metrics.Gauges {
	return metrics.Gauges{
		SessionsActive: func() int { return adm.Status().Active },
		SessionsMax:    func() int { return adm.Status().Max },
		PoolSize:       func() int { return adm.Status().Pool.Size },
		PoolReady:      func() int { return adm.Status().Pool.Ready },
		PoolStarting:   func() int { return adm.Status().Pool.Starting },
		PoolMax:        func() int { return adm.Status().Pool.Max },
		PoolReason:     func() string { return adm.Status().Pool.Reason },
		Queued:         func() int { return adm.Status().Pool.Queued },
		Toolchains: func() map[string][4]int {
			m := map[string][4]int{}
			for n, st := range adm.Status().Toolchains {
				m[n] = [4]int{st.Target, st.Ready, st.Starting, st.Queued}
			}
			return m
		},
	}
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
