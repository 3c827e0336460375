package main

import (
	"context"
	"fmt"
	"os/exec"
	"time"
)

// bootResult is what one sandbox boot costs in host CPU and wall time,
// from sequential plain docker runs of the image, and where the time of a
// cold start goes (see breakdown.go).
type bootResult struct {
	K               int        `json:"k"`
	ElixirWall      dist       `json:"docker_run_elixir_ok_wall"`
	ElixirCPUPerRun float64    `json:"docker_run_elixir_ok_cpu_s"`
	TrueWall        dist       `json:"docker_run_true_wall"`
	TrueCPUPerRun   float64    `json:"docker_run_true_cpu_s"`
	CLIWall         dist       `json:"docker_version_wall"`
	Breakdown       *breakdown `json:"api_breakdown,omitempty"`
}

// measureBoot runs K cold `docker run --rm ... elixir -e :ok` and K
// `docker run --rm ... true` one after the other, with the servers idle,
// and divides the host's busy CPU time by K.
func (b *bench) measureBoot(ctx context.Context) error {
	r := &bootResult{K: b.cfg.bootK}
	b.report.Boot = r
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	var err error
	if r.ElixirWall, r.ElixirCPUPerRun, err = b.timeRuns(ctx, b.sandbox.args("", "", b.cfg.image, "elixir", "-e", ":ok")); err != nil {
		return err
	}
	b.logf("boot: docker run elixir -e :ok p50 %.0f ms, %.3f CPU s each", r.ElixirWall.P50, r.ElixirCPUPerRun)
	if r.TrueWall, r.TrueCPUPerRun, err = b.timeRuns(ctx, b.sandbox.args("", "", b.cfg.image, "true")); err != nil {
		return err
	}
	b.logf("boot: docker run true p50 %.0f ms, %.3f CPU s each", r.TrueWall.P50, r.TrueCPUPerRun)
	if r.CLIWall, _, err = b.timeRuns(ctx, []string{"docker", "version", "--format", "{{.Server.Version}}"}); err != nil {
		return err
	}
	bd, err := b.measureBreakdown(ctx)
	r.Breakdown = bd
	return err
}

// timeRuns runs argv K times in a row and returns the wall times and the
// host's busy CPU seconds per run.
func (b *bench) timeRuns(ctx context.Context, argv []string) (dist, float64, error) {
	var walls []time.Duration
	c0 := readCPU()
	for range b.cfg.bootK {
		t0 := time.Now()
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			return dist{}, 0, fmt.Errorf("%v: %w: %s", argv, err, out)
		}
		walls = append(walls, time.Since(t0))
	}
	return summarize(walls), round3(busySeconds(c0, readCPU()) / float64(b.cfg.bootK)), nil
}
