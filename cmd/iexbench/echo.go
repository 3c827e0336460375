package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// term is a terminal the benchmark types into: a WebSocket session or a
// program on a pty.
type term interface {
	send(s string) error
	waitFor(ctx context.Context, pat string, timeout time.Duration) (time.Time, error)
}

// echoResult is the keystroke echo round trip: one byte typed at the
// prompt until its echo arrives.
type echoResult struct {
	GapMs        float64            `json:"mean_gap_ms"`
	Keys         int                `json:"keys_per_session"`
	One          dist               `json:"one_session"`
	DockerOne    *dist              `json:"docker_run_one_session,omitempty"`
	Sessions     int                `json:"concurrent_sessions"`
	Many         dist               `json:"concurrent"`
	DockerMany   *dist              `json:"docker_run_concurrent,omitempty"`
	HostIdleMany float64            `json:"host_idle_pct_concurrent"`
	TopCPUMany   map[string]float64 `json:"top_cpu_s_concurrent"`
}

// measureEcho types keys into one session, then into echoSessions sessions
// at once, on the warm server and under plain docker run -it.
func (b *bench) measureEcho(ctx context.Context) error {
	r := &echoResult{GapMs: ms(b.cfg.keyGap), Keys: b.cfg.keys, Sessions: b.cfg.echoSessions}
	b.report.Echo = r

	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	s, _, err := b.openPrompt(ctx, b.warm)
	if err != nil {
		return err
	}
	one, err := typeKeys(ctx, s, b.cfg.keys, b.cfg.keyGap)
	s.close()
	if err != nil {
		return err
	}
	r.One = summarize(one)
	b.logf("echo: one session p50 %.3f ms p99 %.3f ms", r.One.P50, r.One.P99)

	p, err := b.dockerRunIex()
	if err != nil {
		return err
	}
	if _, err := p.waitFor(ctx, "iex(1)> ", promptTimeout); err != nil {
		p.close("", 0)
		return err
	}
	one, err = typeKeys(ctx, p, b.cfg.keys, b.cfg.keyGap)
	p.close("System.halt()\r", 10*time.Second)
	if err != nil {
		return err
	}
	dockerOne := summarize(one)
	r.DockerOne = &dockerOne
	b.logf("echo: docker run one session p50 %.3f ms p99 %.3f ms", dockerOne.P50, dockerOne.P99)

	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	b.logf("echo: opening %d sessions", b.cfg.echoSessions)
	sessions, err := b.openMany(ctx, b.warm, b.cfg.echoSessions)
	if err != nil {
		return err
	}
	defer closeAll(sessions)
	if err := b.warm.waitSettled(ctx, len(sessions), settleTimeout); err != nil {
		return err
	}
	terms := make([]term, len(sessions))
	for i, s := range sessions {
		terms[i] = s
	}
	c0, p0 := readCPU(), snapshotProcs()
	many, err := typeConcurrently(ctx, terms, b.cfg.keys, b.cfg.keyGap)
	r.HostIdleMany = round1(idlePercent(c0, readCPU()))
	r.TopCPUMany = topConsumers(p0, snapshotProcs(), 6)
	if err != nil {
		return err
	}
	r.Many = summarize(many)
	b.logf("echo: %d sessions p50 %.3f ms p99 %.3f ms (host idle %.0f%%, top CPU s %v)", len(sessions), r.Many.P50, r.Many.P99, r.HostIdleMany, r.TopCPUMany)
	closeAll(sessions)

	b.logf("echo: starting %d docker run -it", b.cfg.echoSessions)
	var ptys []*ptySession
	defer func() {
		var wg sync.WaitGroup
		for _, p := range ptys {
			wg.Go(func() { p.close("System.halt()\r", 10*time.Second) })
		}
		wg.Wait()
	}()
	terms = terms[:0]
	for len(ptys) < b.cfg.echoSessions { // openParallel at a time, as openMany does
		for range min(b.cfg.openParallel, b.cfg.echoSessions-len(ptys)) {
			p, err := b.dockerRunIex()
			if err != nil {
				return err
			}
			ptys = append(ptys, p)
		}
		for _, p := range ptys[len(terms):] {
			if _, err := p.waitFor(ctx, "iex(1)> ", promptTimeout); err != nil {
				return err
			}
			terms = append(terms, p)
		}
	}
	many, err = typeConcurrently(ctx, terms, b.cfg.keys, b.cfg.keyGap)
	if err != nil {
		return err
	}
	dockerMany := summarize(many)
	r.DockerMany = &dockerMany
	b.logf("echo: %d docker run p50 %.3f ms p99 %.3f ms", len(ptys), dockerMany.P50, dockerMany.P99)
	return nil
}

// typeKeys types `a` at an empty iex prompt keys times, timing each echo,
// and erases it with a backspace, waiting for the line's redraw (which
// ends with the prompt) before the next key.
func typeKeys(ctx context.Context, t term, keys int, gap time.Duration) ([]time.Duration, error) {
	samples := make([]time.Duration, 0, keys)
	for range keys {
		if err := pause(ctx, gap); err != nil {
			return samples, err
		}
		t0 := time.Now()
		if err := t.send("a"); err != nil {
			return samples, err
		}
		at, err := t.waitFor(ctx, "a", replyTimeout)
		if err != nil {
			return samples, fmt.Errorf("echo: %w", err)
		}
		samples = append(samples, at.Sub(t0))
		if err := t.send("\x7f"); err != nil {
			return samples, err
		}
		if _, err := t.waitFor(ctx, "> ", replyTimeout); err != nil {
			return samples, fmt.Errorf("backspace: %w", err)
		}
	}
	return samples, nil
}

// typeConcurrently runs typeKeys on every terminal at once and pools the
// samples.
func typeConcurrently(ctx context.Context, terms []term, keys int, gap time.Duration) ([]time.Duration, error) {
	var (
		mu      sync.Mutex
		all     []time.Duration
		firstEr error
		wg      sync.WaitGroup
	)
	for _, t := range terms {
		wg.Go(func() {
			pause(ctx, time.Duration(rand.Int64N(int64(gap)+1))) // do not start in step
			s, err := typeKeys(ctx, t, keys, gap)
			mu.Lock()
			defer mu.Unlock()
			all = append(all, s...)
			if err != nil && firstEr == nil {
				firstEr = err
			}
		})
	}
	wg.Wait()
	return all, firstEr
}

// pause sleeps a random time uniform in [gap/2, 3gap/2], as a typist does.
func pause(ctx context.Context, gap time.Duration) error {
	if gap <= 0 {
		return ctx.Err()
	}
	d := gap/2 + time.Duration(rand.Int64N(int64(gap)+1))
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
