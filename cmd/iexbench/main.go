// Command iexbench measures a running iexbox server over real WebSockets,
// speaking iexbox.v1 as the page does (acks included), beside plain
// `docker run -it` of the same image with the same hardening: time to
// prompt (warm pool and cold), keystroke echo, eval round trip, output
// throughput, churn and density. It prints a table and, with -json, writes
// the figures as a JSON document. It only talks to loopback.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "iexbench:", err)
		os.Exit(1)
	}
}

// run parses the flags, runs the selected measurements in order and
// reports them. A failed measurement is recorded and the others still run;
// run then returns an error naming it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(cfg.tables) > 0 { // print earlier runs, measure nothing
		var reports []*report
		for _, path := range cfg.tables {
			r, err := readReport(path)
			if err != nil {
				return err
			}
			reports = append(reports, r)
		}
		printTable(stdout, cfg.markdown, reports...)
		return nil
	}
	b, err := newBench(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer b.cleanup()

	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"prompt", b.measurePrompt},
		{"echo", b.measureEcho},
		{"eval", b.measureEval},
		{"check", b.measureCheck},
		{"throughput", b.measureThroughput},
		{"producer", b.measureProducer},
		{"churn", b.measureChurn},
		{"boot", b.measureBoot},
		{"density", b.measureDensity},
		{"wave", b.measureWaves},
		{"arrivals", b.measureArrivals},
		{"toolchains", b.measureToolchains},
		{"class", b.measureClass},
	}
	var failed []error
	for _, s := range steps {
		if !cfg.only[s.name] || ctx.Err() != nil {
			continue
		}
		b.logf("== %s", s.name)
		b.waitQuiet(ctx, s.name)
		th := readThrottling(cfg.cgroupParent)
		err := s.run(ctx)
		if cfg.cgroupParent != "" {
			b.report.Throttling[s.name] = readThrottling(cfg.cgroupParent).since(th)
		}
		if err != nil {
			b.logf("%s failed: %v", s.name, err)
			b.report.Errors = append(b.report.Errors, s.name+": "+err.Error())
			failed = append(failed, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	b.finish()
	printTable(stdout, cfg.markdown, b.report)
	if cfg.jsonPath != "" {
		if err := writeJSON(cfg.jsonPath, b.report); err != nil {
			return err
		}
	}
	return errors.Join(append(failed, ctx.Err())...)
}
