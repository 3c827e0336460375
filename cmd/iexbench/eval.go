package main

import (
	"context"
	"fmt"
	"time"

	"iexbox/internal/sandbox"
)

// evalResult is the round trip of `1+1` and Enter until the next prompt.
type evalResult struct {
	Evals  int   `json:"evals"`
	IexBox dist  `json:"iexbox"`
	Docker *dist `json:"docker_run,omitempty"`
}

// measureEval evaluates 1+1 evals times in one warm session and in one
// docker run -it, in alternate rounds.
func (b *bench) measureEval(ctx context.Context) error {
	r := &evalResult{Evals: b.cfg.evals}
	b.report.Eval = r
	s, p, done, err := b.openPair(ctx)
	if err != nil {
		return err
	}
	defer done()
	ours, theirs := &evaluator{t: s, prompt: 1}, &evaluator{t: p, prompt: 1}
	var cpu [2]cpuAcc
	a, d, err := alternate(b.cfg.rounds, b.cfg.evals,
		func(n int) ([]time.Duration, error) { return ours.run(ctx, n, b.cfg.keyGap) },
		func(n int) ([]time.Duration, error) { return theirs.run(ctx, n, b.cfg.keyGap) }, &cpu)
	if err != nil {
		return err
	}
	r.IexBox = summarize(a)
	dd := summarize(d)
	r.Docker = &dd
	b.logf("eval: iexbox p50 %.3f ms p99 %.3f ms; docker run p50 %.3f ms p99 %.3f ms", r.IexBox.P50, r.IexBox.P99, dd.P50, dd.P99)
	return nil
}

// evaluator types `1+1` and Enter at successive iex prompts.
type evaluator struct {
	t      term
	prompt int // the number of the prompt the terminal is just after
}

// run evaluates n times, timing each from the keystrokes to the next
// prompt.
func (e *evaluator) run(ctx context.Context, n int, gap time.Duration) ([]time.Duration, error) {
	samples := make([]time.Duration, 0, n)
	for range n {
		if err := pause(ctx, gap); err != nil {
			return samples, err
		}
		t0 := time.Now()
		if err := e.t.send("1+1\r"); err != nil {
			return samples, err
		}
		at, err := e.t.waitFor(ctx, sandbox.PromptNumber(e.prompt+1), replyTimeout)
		if err != nil {
			return samples, fmt.Errorf("eval: %w", err)
		}
		e.prompt++
		samples = append(samples, at.Sub(t0))
	}
	return samples, nil
}
