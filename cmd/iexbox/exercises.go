package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"iexbox/exercises"
	"iexbox/internal/exercise"
	"iexbox/internal/metrics"
	"iexbox/internal/pool"
	"iexbox/internal/sandbox"
)

// loadExercises loads -exercises, or the examples built in.
func loadExercises(cfg config, log *slog.Logger) (*exercise.Set, error) {
	var fsys fs.FS = exercises.FS()
	where := "the built-in examples"
	if cfg.exercises != "" {
		// A Root follows no symbolic link out of the folder.
		root, err := os.OpenRoot(cfg.exercises)
		if err != nil {
			return nil, fmt.Errorf("-exercises: %w", err)
		}
		defer root.Close()
		fsys, where = root.FS(), cfg.exercises
	}
	set, err := exercise.Load(fsys, exercise.Config{Timeout: cfg.stack.Admission.CheckTimeout, Log: log})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	log.Info("exercises loaded", "from", where, "count", len(set.Names()))
	return set, nil
}

// errSolutionsFailed ends `iexbox exercises` when a reference solution
// does not pass its tests.
var errSolutionsFailed = errors.New("some reference solutions do not pass their tests")

// runExercises is `iexbox exercises [DIR] [flags]`: every reference
// solution is checked against its tests in a real sandbox, as a learner's
// code would be, and a table printed. Flags are the server's (-runtime,
// -memory, -check-timeout ...).
func runExercises(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	rest := args[2:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		rest = append([]string{"-exercises", rest[0]}, rest[1:]...)
	}
	cfg, err := parseConfig(append([]string{args[0]}, rest...), getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.logLevel == "info" { // the table is the output; logs only when asked
		cfg.logLevel = "warn"
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	set, err := loadExercises(cfg, log)
	if err != nil {
		return err
	}
	toolchains, toolchainsDir, err := loadToolchains(cfg, log)
	if err != nil {
		return err
	}
	if err := bindExercises(set, toolchains); err != nil {
		return err
	}
	if cfg.instance == "" {
		cfg.instance = fmt.Sprintf("exercises-%d", os.Getpid())
	}
	backend, err := openBackend(ctx, cfg, cfg.instance, log, metrics.New())
	if err != nil {
		return err
	}
	defer backend.Close()
	if err := findToolchains(ctx, toolchains, toolchainsDir, backend); err != nil {
		return err
	}
	// A pool of none boots each sandbox to its first prompt on demand.
	warmPool := pool.New(backend, pool.Config{Prompt: backend.Prompt(), Cols: 80, Rows: 24}, nil, log)
	boot := func(ctx context.Context, spec sandbox.Spec, toolchain string) (sandbox.Sandbox, error) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if tc, ok := toolchains.Get(toolchain); ok && tc.Name != "default" {
			spec.Image = tc.Image
		}
		sb, _, err := warmPool.Get(ctx, spec)
		return sb, err
	}
	fmt.Fprintf(stdout, "Checking %d reference solutions on %s\n", len(set.Names()), backend.Name())
	failed := 0
	for _, v := range set.Verify(ctx, boot, stdout) {
		if !v.Passed() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d", errSolutionsFailed, failed, len(set.Names()))
	}
	fmt.Fprintln(stdout, "All reference solutions pass.")
	return nil
}
