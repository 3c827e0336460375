package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"iexbox/internal/client"
	"iexbox/internal/sandbox"
)

// toolchainResult is one toolchain's warm time to prompt beside the
// default's, its idle footprint and its image.
type toolchainResult struct {
	Name            string    `json:"name"`
	Elixir          string    `json:"elixir,omitempty"` // as ready reported them
	OTP             string    `json:"otp,omitempty"`
	Warm            dist      `json:"warm"` // dial to prompt, from the pool
	WarmOverDefault float64   `json:"warm_p50_over_default_p50,omitempty"`
	IdleMiB         float64   `json:"idle_container_mib"` // the container's memory cgroup, idle at its prompt
	ImageMB         float64   `json:"image_mb"`
	Samples         []float64 `json:"warm_samples_ms"`
}

// toolchainIdleSettle is how long a session idles at its prompt before its
// container's memory is read.
const toolchainIdleSettle = 8 * time.Second

// measureToolchains takes -n warm samples of each toolchain the server
// offers (GET /toolchains), interleaved so that drift hits all alike,
// each after the server settled; the first session of each also gives the
// idle footprint and the image size.
func (b *bench) measureToolchains(ctx context.Context) error {
	offered, err := client.Toolchains(ctx, httpClient, b.warm.ws)
	if err != nil {
		return fmt.Errorf("list toolchains: %w", err)
	}
	results := make([]*toolchainResult, len(offered))
	samples := make([][]time.Duration, len(offered))
	for i, tc := range offered {
		results[i] = &toolchainResult{Name: tc.Name}
	}
	for round := range b.cfg.n {
		for i, r := range results {
			if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
				return err
			}
			t0 := time.Now()
			sctx, cancel := context.WithTimeout(ctx, promptTimeout)
			s, err := dialHello(sctx, b.warm.ws, client.Hello{Cols: b.cfg.cols, Rows: b.cfg.rows, Toolchain: r.Name})
			if err == nil {
				_, err = s.wait(sctx, sandbox.Prompt)
			}
			cancel()
			if err != nil {
				if s != nil {
					s.close()
				}
				return fmt.Errorf("toolchain %s: %w", r.Name, err)
			}
			samples[i] = append(samples[i], time.Since(t0))
			if round == 0 {
				r.Elixir, r.OTP = s.ready.Elixir, s.ready.OTP
				b.footprint(ctx, s.ready.Session, r)
			}
			s.close()
		}
	}
	var def float64
	for i, r := range results {
		r.Warm = summarize(samples[i])
		r.Samples = msList(samples[i])
		if r.Name == "default" {
			def = r.Warm.P50
		}
	}
	for _, r := range results {
		if def > 0 && r.Name != "default" {
			r.WarmOverDefault = round3(r.Warm.P50 / def)
		}
		b.logf("toolchain %s (Elixir %s, OTP %s): warm prompt p50 %.0f ms p95 %.0f ms (%.2f x default), idle %.1f MiB, image %.0f MB",
			r.Name, r.Elixir, r.OTP, r.Warm.P50, r.Warm.P95, r.WarmOverDefault, r.IdleMiB, r.ImageMB)
	}
	b.report.Toolchains = results
	return nil
}

// footprint reads the idle memory of a session's container and the size
// of its image, after toolchainIdleSettle at its prompt.
func (b *bench) footprint(ctx context.Context, session string, r *toolchainResult) {
	select {
	case <-time.After(toolchainIdleSettle):
	case <-ctx.Done():
		return
	}
	id, err := exec.CommandContext(ctx, "docker", "ps", "-q", "--no-trunc", "--filter", "label=iexbox.session="+session).Output()
	c := strings.TrimSpace(string(id))
	if err != nil || c == "" {
		b.logf("toolchain %s: no container for session %s: %v", r.Name, session, err)
		return
	}
	r.IdleMiB = round1(float64(readInt(cgroupFile("memory", c, "memory.usage_in_bytes"))) / (1 << 20))
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.Image}}", c).Output()
	if err != nil {
		return
	}
	size, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f", "{{.Size}}", strings.TrimSpace(string(out))).Output()
	if n, perr := strconv.ParseInt(strings.TrimSpace(string(size)), 10, 64); err == nil && perr == nil {
		r.ImageMB = round1(float64(n) / 1e6)
	}
}

// toolchainRows are each toolchain's figures beside the default's.
func toolchainRows(r *report, add func(figure, iexbox, docker, ratio, target, met string)) {
	for _, t := range r.Toolchains {
		name := fmt.Sprintf("toolchain %s (Elixir %s, OTP %s)", t.Name, t.Elixir, t.OTP)
		target, met := "report", "-"
		if t.Name != "default" {
			target, met = "p50 <= 1.1 x default", verdict(t.WarmOverDefault > 0, t.WarmOverDefault <= 1.1)
		}
		add(name+", warm prompt p50/p95/max ms", f3(t.Warm.P50, t.Warm.P95, t.Warm.Max), "",
			fmt.Sprintf("%.3f", t.WarmOverDefault), target, met)
		add(name+", idle container MiB / image MB", fmt.Sprintf("%.1f / %.0f", t.IdleMiB, t.ImageMB), "", "", "report", "-")
	}
}
