package main

import (
	"context"
	"fmt"
	"time"
)

// evalResult is the round trip of `1+1` and Enter until the next prompt.
type evalResult struct {
	Evals  int   `json:"evals"`
	IexBox dist  `json:"iexbox"`
	Docker *dist `json:"docker_run,omitempty"`
}

// measureEval evaluates 1+1 evals times in one warm session and in one
// docker run -it.
func (b *bench) measureEval(ctx context.Context) error {
	r := &evalResult{Evals: b.cfg.evals}
	b.report.Eval = r
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	s, _, err := b.openPrompt(ctx, b.warm)
	if err != nil {
		return err
	}
	samples, err := evalLoop(ctx, s, 1, b.cfg.evals, b.cfg.keyGap)
	s.close()
	if err != nil {
		return err
	}
	r.IexBox = summarize(samples)
	b.logf("eval: p50 %.3f ms p99 %.3f ms", r.IexBox.P50, r.IexBox.P99)

	p, err := b.dockerRunIex()
	if err != nil {
		return err
	}
	defer p.close("System.halt()\r", 10*time.Second)
	if _, err := p.waitFor(ctx, "iex(1)> ", promptTimeout); err != nil {
		return err
	}
	if samples, err = evalLoop(ctx, p, 1, b.cfg.evals, b.cfg.keyGap); err != nil {
		return err
	}
	d := summarize(samples)
	r.Docker = &d
	b.logf("eval: docker run p50 %.3f ms p99 %.3f ms", d.P50, d.P99)
	return nil
}

// evalLoop sends `1+1\r` at successive prompts, timing each until the next
// prompt arrives. The terminal must be just after iex(first)>.
func evalLoop(ctx context.Context, t term, first, evals int, gap time.Duration) ([]time.Duration, error) {
	samples := make([]time.Duration, 0, evals)
	for i := range evals {
		if err := pause(ctx, gap); err != nil {
			return samples, err
		}
		t0 := time.Now()
		if err := t.send("1+1\r"); err != nil {
			return samples, err
		}
		at, err := t.waitFor(ctx, fmt.Sprintf("iex(%d)> ", first+i+1), replyTimeout)
		if err != nil {
			return samples, fmt.Errorf("eval: %w", err)
		}
		samples = append(samples, at.Sub(t0))
	}
	return samples, nil
}
