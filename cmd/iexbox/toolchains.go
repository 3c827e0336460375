package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"iexbox/internal/exercise"
	"iexbox/internal/metrics"
	"iexbox/internal/pool"
	"iexbox/internal/sandbox"
	"iexbox/internal/toolchain"
)

// loadToolchains loads -toolchains beside the built-in default toolchain,
// or the default one alone.
func loadToolchains(cfg config, log *slog.Logger) (*toolchain.Set, string, error) {
	if cfg.toolchains == "" {
		return toolchain.Builtin(cfg.policy.Image), "", nil
	}
	dir, err := filepath.Abs(cfg.toolchains)
	if err != nil {
		return nil, "", fmt.Errorf("-toolchains: %w", err)
	}
	// A Root follows no symbolic link out of the folder.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", fmt.Errorf("-toolchains: %w", err)
	}
	defer root.Close()
	set, err := toolchain.Load(root.FS(), cfg.policy.Image)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", dir, err)
	}
	log.Info("toolchains loaded", "from", dir, "count", len(set.Names()))
	return set, dir, nil
}

// findToolchains checks that every toolchain's image is where sandboxes
// run, and reads their versions: the server never builds one.
func findToolchains(ctx context.Context, set *toolchain.Set, dir string, backend sandbox.Backend) error {
	imgs, ok := backend.(sandbox.Images)
	if !ok { // the process backend runs no image
		return nil
	}
	return set.Find(ctx, imgs, dir)
}

// bindExercises checks that every exercise bound to a toolchain names one
// the server has.
func bindExercises(exercises *exercise.Set, toolchains *toolchain.Set) error {
	for _, n := range exercises.Names() {
		if tc := exercises.Toolchain(n); tc != "" {
			if _, ok := toolchains.Get(tc); !ok {
				return fmt.Errorf("%s/exercise.json: no toolchain is called %q (-toolchains: %s)", n, tc, strings.Join(toolchains.Names(), ", "))
			}
		}
	}
	return nil
}

// errToolchainsFailed ends `iexbox toolchains` when a toolchain does not
// build or does not pass its check.
var errToolchainsFailed = errors.New("some toolchains fail")

// runToolchains is `iexbox toolchains DIR [flags]`: it builds the image of
// every toolchain under DIR that has none (same recipe and hardening as
// the default image, named by the toolchain's content hash), checks each
// toolchain in a real sandbox, prints a table and removes the images of
// toolchains that are gone from DIR. Flags are the server's (-runtime,
// -memory ...).
func runToolchains(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	rest := args[2:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		rest = append([]string{"-toolchains", rest[0]}, rest[1:]...)
	}
	cfg, err := parseConfig(append([]string{args[0]}, rest...), getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.toolchains == "" {
		return errors.New("usage: iexbox toolchains DIR [flags]")
	}
	if cfg.logLevel == "info" { // the table is the output; logs only when asked
		cfg.logLevel = "warn"
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	set, dir, err := loadToolchains(cfg, log)
	if err != nil {
		return err
	}
	problems := map[string]string{}
	for _, tc := range set.Built() {
		began := time.Now()
		fmt.Fprintf(stdout, "Building %s (%s: debian %s, %d packages, %d lib files)\n", tc.Name, tc.Image, tc.Debian, len(tc.Packages), len(tc.Lib))
		built, err := toolchain.Build(ctx, tc, dir, buildLog(cfg, stderr))
		switch {
		case err != nil:
			problems[tc.Name] = err.Error()
			fmt.Fprintf(stdout, "  failed: %v\n", err)
		case built:
			fmt.Fprintf(stdout, "  built in %s\n", time.Since(began).Round(time.Second))
		default:
			fmt.Fprintln(stdout, "  up to date")
		}
	}
	if cfg.instance == "" {
		cfg.instance = fmt.Sprintf("toolchains-%d", os.Getpid())
	}
	backend, err := openBackend(ctx, cfg, cfg.instance, log, metrics.New())
	if err != nil {
		return err
	}
	defer backend.Close()
	imgs, ok := backend.(sandbox.Images)
	if !ok {
		return fmt.Errorf("-backend %s runs no images", cfg.backend)
	}
	warmPool := pool.New(backend, pool.Config{Prompt: backend.Prompt(), Cols: 80, Rows: 24}, nil, log)
	boot := func(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		sb, _, err := warmPool.Get(ctx, spec)
		return sb, err
	}
	fmt.Fprintf(stdout, "Checking %d toolchains on %s\n", len(set.Names()), backend.Name())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOLCHAIN\tDEBIAN\tELIXIR\tOTP\tPACKAGES\tLIB MODULES\tSIZE\tRESULT\tTIME")
	for _, n := range set.Names() {
		tc, _ := set.Get(n)
		if problems[n] != "" {
			fmt.Fprintf(tw, "%s\t%s\t\t\t%d\t\t\tfail\t\n", n, tc.Debian, len(tc.Packages))
			continue
		}
		size := ""
		if img, err := imgs.Image(ctx, tc.Image); err != nil {
			problems[n] = err.Error()
		} else {
			tc.Versions = toolchain.VersionsOf(img.Labels)
			size = fmt.Sprintf("%d MB", img.Size/1e6)
		}
		r := toolchain.Report{Name: n}
		if problems[n] == "" {
			r = toolchain.Check(ctx, boot, tc)
			if !r.OK() {
				problems[n] = r.Problem
			}
		}
		result := "ok"
		if problems[n] != "" {
			result = "fail"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", n, tc.Debian, r.Elixir, r.OTP, len(tc.Packages), len(r.Modules), size, result, r.Took.Round(10*time.Millisecond))
	}
	tw.Flush()
	removed, err := toolchain.Prune(ctx, imgs, set, dir)
	for _, r := range removed {
		fmt.Fprintf(stdout, "Removed the image of %s: no longer in %s\n", r, dir)
	}
	if err != nil {
		fmt.Fprintf(stdout, "Could not remove an old image: %v\n", err)
	}
	if len(problems) > 0 {
		for _, n := range set.Names() {
			if p := problems[n]; p != "" {
				fmt.Fprintf(stdout, "%s: %s\n", n, p)
			}
		}
		return fmt.Errorf("%w: %d of %d", errToolchainsFailed, len(problems), len(set.Names()))
	}
	fmt.Fprintln(stdout, "All toolchains pass.")
	return nil
}

// buildLog is where the recipe's progress goes: the log, at debug level.
func buildLog(cfg config, stderr io.Writer) io.Writer {
	if cfg.logLevel == "debug" {
		return stderr
	}
	return io.Discard
}
