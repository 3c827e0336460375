package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"iexbox/internal/sandbox"
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
	GapMs     float64    `json:"mean_gap_ms"`
	Keys      int        `json:"keys_per_session"`
	One       dist       `json:"one_session"`
	DockerOne *dist      `json:"docker_run_one_session,omitempty"`
	Rounds    int        `json:"alternating_rounds"`
	Sessions  int        `json:"concurrent_sessions"`
	Loads     []echoLoad `json:"concurrent"`
}

// echoLoad is the echo with Sessions typing at once, each a key (and a
// backspace) every GapMs on average.
type echoLoad struct {
	GapMs             float64            `json:"mean_gap_ms"`
	IexBox            dist               `json:"iexbox"`
	HostIdlePct       float64            `json:"host_idle_pct"`
	TopCPU            map[string]float64 `json:"top_cpu_s"`
	Docker            *dist              `json:"docker_run,omitempty"`
	DockerHostIdlePct float64            `json:"docker_run_host_idle_pct,omitempty"`
}

// measureEcho types keys into one session, then into echoSessions sessions
// at once at each of the -many-key-gaps, on the warm server and under
// plain docker run -it. Both paths are open together and type in
// alternate rounds, so a noisy host disturbs both alike.
func (b *bench) measureEcho(ctx context.Context) error {
	r := &echoResult{GapMs: ms(b.cfg.keyGap), Keys: b.cfg.keys, Sessions: b.cfg.echoSessions, Rounds: b.cfg.rounds}
	b.report.Echo = r
	for _, gap := range b.cfg.manyKeyGaps {
		r.Loads = append(r.Loads, echoLoad{GapMs: ms(gap)})
	}
	if err := b.echoOne(ctx, r); err != nil {
		return err
	}
	return b.echoMany(ctx, r)
}

// openPair opens, once the pool has settled, one warm session and one
// docker run -it of iex, both at their prompt, for figures taken side by
// side. done closes both.
func (b *bench) openPair(ctx context.Context) (s *wsSession, p *ptySession, done func(), err error) {
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return nil, nil, nil, err
	}
	s, _, err = b.openPrompt(ctx, b.warm)
	if err != nil {
		return nil, nil, nil, err
	}
	ptys, err := b.openDockerIex(ctx, 1)
	if err != nil {
		closePtys(ptys)
		s.close()
		return nil, nil, nil, err
	}
	return s, ptys[0], func() { closePtys(ptys); s.close() }, nil
}

func (b *bench) echoOne(ctx context.Context, r *echoResult) error {
	s, p, done, err := b.openPair(ctx)
	if err != nil {
		return err
	}
	defer done()
	var cpu [2]cpuAcc
	one, dock, err := alternate(b.cfg.rounds, b.cfg.keys,
		func(n int) ([]time.Duration, error) { return typeKeys(ctx, s, n, b.cfg.keyGap) },
		func(n int) ([]time.Duration, error) { return typeKeys(ctx, p, n, b.cfg.keyGap) }, &cpu)
	if err != nil {
		return err
	}
	r.One = summarize(one)
	d := summarize(dock)
	r.DockerOne = &d
	b.logf("echo: one session p50 %.3f ms p99 %.3f ms; docker run p50 %.3f ms p99 %.3f ms", r.One.P50, r.One.P99, d.P50, d.P99)
	return nil
}

func (b *bench) echoMany(ctx context.Context, r *echoResult) error {
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	b.logf("echo: opening %d sessions and %d docker run -it", b.cfg.echoSessions, b.cfg.echoSessions)
	sessions, err := b.openMany(ctx, b.warm, b.cfg.echoSessions)
	if err != nil {
		return err
	}
	defer closeAll(sessions)
	ptys, err := b.openDockerIex(ctx, b.cfg.echoSessions)
	defer closePtys(ptys)
	if err != nil {
		return err
	}
	if err := b.warm.waitSettled(ctx, len(sessions), settleTimeout); err != nil {
		return err
	}
	var ours, theirs []term
	for _, s := range sessions {
		ours = append(ours, s)
	}
	for _, p := range ptys {
		theirs = append(theirs, p)
	}
	for i, gap := range b.cfg.manyKeyGaps {
		var cpu [2]cpuAcc
		p0 := snapshotProcs()
		a, d, err := alternate(b.cfg.rounds, b.cfg.keys,
			func(n int) ([]time.Duration, error) { return typeConcurrently(ctx, ours, n, gap) },
			func(n int) ([]time.Duration, error) { return typeConcurrently(ctx, theirs, n, gap) }, &cpu)
		if err != nil {
			return err
		}
		l := &r.Loads[i]
		l.IexBox, l.HostIdlePct = summarize(a), cpu[0].idlePercent()
		dd := summarize(d)
		l.Docker, l.DockerHostIdlePct = &dd, cpu[1].idlePercent()
		l.TopCPU = topConsumers(p0, snapshotProcs(), 8)
		b.logf("echo: %d sessions, gap %v: iexbox p50 %.3f p99 %.3f ms (host idle %.0f%%), docker run p50 %.3f p99 %.3f ms (host idle %.0f%%); top CPU s %v",
			len(sessions), gap, l.IexBox.P50, l.IexBox.P99, l.HostIdlePct, dd.P50, dd.P99, l.DockerHostIdlePct, l.TopCPU)
	}
	return nil
}

// openDockerIex starts n docker run -it of iex, openParallel at a time,
// each to its first prompt. The caller must closePtys what it returns,
// even with an error.
func (b *bench) openDockerIex(ctx context.Context, n int) ([]*ptySession, error) {
	var ptys []*ptySession
	ready := 0
	for len(ptys) < n {
		for range min(b.cfg.openParallel, n-len(ptys)) {
			p, err := b.dockerRunIex()
			if err != nil {
				return ptys, err
			}
			ptys = append(ptys, p)
		}
		for _, p := range ptys[ready:] {
			if _, err := p.waitFor(ctx, sandbox.Prompt, promptTimeout); err != nil {
				return ptys, err
			}
			ready++
		}
	}
	return ptys, nil
}

// closePtys halts and removes docker runs concurrently.
func closePtys(ptys []*ptySession) {
	var wg sync.WaitGroup
	for _, p := range ptys {
		wg.Go(func() { p.close("System.halt()\r", 10*time.Second) })
	}
	wg.Wait()
}

// alternate runs a and b in turns, rounds times, total samples each, and
// adds the host CPU each used to cpu[0] and cpu[1].
func alternate(rounds, total int, a, b func(n int) ([]time.Duration, error), cpu *[2]cpuAcc) (sa, sb []time.Duration, err error) {
	per := (total + rounds - 1) / rounds
	for done := 0; done < total; done += per {
		n := min(per, total-done)
		for i, f := range []func(int) ([]time.Duration, error){a, b} {
			c0 := readCPU()
			s, err := f(n)
			cpu[i].add(c0, readCPU())
			if err != nil {
				return sa, sb, err
			}
			if i == 0 {
				sa = append(sa, s...)
			} else {
				sb = append(sb, s...)
			}
		}
	}
	return sa, sb, nil
}

// cpuAcc adds up host CPU time over several intervals.
type cpuAcc struct{ total, idle int64 }

func (c *cpuAcc) add(a, b cpuSample) {
	c.total += b.total - a.total
	c.idle += b.idle - a.idle
}

func (c cpuAcc) idlePercent() float64 {
	if c.total == 0 {
		return 100
	}
	return round1(100 * float64(c.idle) / float64(c.total))
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
