package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"iexbox/internal/docker"
	"iexbox/internal/kube"
	"iexbox/internal/metrics"
	"iexbox/internal/process"
	"iexbox/internal/sandbox"
	"iexbox/internal/server"
	"iexbox/internal/store"
	"iexbox/static"
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
	stackCfg, err := cfg.stackConfig()
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

	// The store keeps recordings and classes: always open.
	db, err := store.Open(ctx, cfg.store)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer db.Close()
	stackCfg.Store = db
	log.Info("store open", "kind", db.Kind())

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
	met.Watch(stack.Gauges())

	st := stack.Admission.Status()
	log.Info("listening", "addr", ln.Addr().String(), "instance", stackCfg.Server.Instance, "backend", cfg.backend,
		"runtime", backend.Name(), "max_sessions", st.Max, "pool", cfg.stack.PoolSize, "pool_target", st.Pool.Target,
		"pool_max", st.Pool.Max, "boot_parallel", cfg.stack.Pool.Parallel)
	fmt.Fprintf(stdout, "iexbox serving on http://%s\n", ln.Addr())
	return stack.Serve(ctx, ln, server.ServeOptions{
		DrainTimeout: cfg.drainTimeout,
		DrainCut: func() (context.Context, context.CancelFunc) { // a second signal
			return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		},
		ShutdownTimeout: cfg.shutdownTimeout,
		Metrics:         metricsLn,
		MetricsHandler:  met.Handler(),
	})
}

// openBackend opens the backend the flags ask for: the one switch that
// knows them all.
func openBackend(ctx context.Context, cfg config, instance string, log *slog.Logger, met *metrics.Metrics) (sandbox.Backend, error) {
	switch cfg.backend {
	case "kubernetes":
		kc := cfg.kubeCfg
		kc.Instance = instance
		return kube.Open(ctx, kc, log, met)
	case "process":
		b := process.New(strings.Fields(cfg.command), nil)
		for _, w := range b.Warnings() {
			log.Warn(w)
		}
		return b, nil
	default:
		return docker.Open(ctx, cfg.docker.Config(cfg.policy.Policy, instance), cfg.dockerOpts, log, met)
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
