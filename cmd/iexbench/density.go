package main

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"time"
)

// densityResult is what idle sessions cost the host: the drop in
// MemAvailable per session (the containerd shim and page cache included,
// which cgroup figures miss or misplace) and the host's idle CPU.
type densityResult struct {
	Sessions          int                `json:"sessions"`
	OpenSeconds       float64            `json:"open_s"`
	MemAvailBeforeMiB float64            `json:"mem_available_before_mib"`
	MemAvailAfterMiB  float64            `json:"mem_available_after_mib"`
	PerSessionMiB     float64            `json:"mib_per_session"`
	HostIdlePct       float64            `json:"host_idle_pct"`
	ServerRSSMiB      float64            `json:"server_rss_mib"`
	StackCPUPct       float64            `json:"stack_cpu_pct"`
	TopCPU            map[string]float64 `json:"top_cpu_s_in_idle_window"`

	Docker *dockerDensity `json:"docker_run,omitempty"`
	Max    *densityMax    `json:"max,omitempty"`
}

// dockerDensity is the same figure for detached `docker run -dit` of the
// same image and hardening: the containers alone, no CLI attached.
type dockerDensity struct {
	Containers    int                `json:"containers"`
	PerSessionMiB float64            `json:"mib_per_container"`
	HostIdlePct   float64            `json:"host_idle_pct"`
	StackCPUPct   float64            `json:"stack_cpu_pct"`
	TopCPU        map[string]float64 `json:"top_cpu_s_in_idle_window"`
}

// densityMax is the -density-max outcome.
type densityMax struct {
	Reached    int           `json:"sessions"`
	StopReason string        `json:"stop_reason"`
	Steps      []densityStep `json:"steps"`
}

type densityStep struct {
	Sessions        int     `json:"sessions"`
	MemAvailableMiB float64 `json:"mem_available_mib"`
	OpenSeconds     float64 `json:"open_s"`
}

// idleWindow is how long idle CPU is measured.
const idleWindow = 10 * time.Second

// measureDensity opens density idle sessions, lets them settle and
// measures; with -density-max it then keeps adding sessions.
func (b *bench) measureDensity(ctx context.Context) error {
	r := &densityResult{Sessions: b.cfg.density}
	b.report.Density = r
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	before := settledMemAvailable(ctx)
	t0 := time.Now()
	b.logf("density: opening %d sessions", b.cfg.density)
	sessions, err := b.openMany(ctx, b.warm, b.cfg.density)
	if err != nil {
		return err
	}
	defer func() { // on failure
		if len(sessions) > 0 {
			closeAll(sessions)
			b.warm.waitSettled(context.WithoutCancel(ctx), 0, settleTimeout)
		}
	}()
	r.OpenSeconds = round1(time.Since(t0).Seconds())
	if err := b.warm.waitSettled(ctx, len(sessions), settleTimeout); err != nil {
		return err
	}
	if err := sleepCtx(ctx, b.cfg.densitySettle); err != nil {
		return err
	}
	after := settledMemAvailable(ctx)
	c0, p0 := readCPU(), snapshotProcs()
	if err := sleepCtx(ctx, idleWindow); err != nil {
		return err
	}
	r.HostIdlePct = round1(idlePercent(c0, readCPU()))
	p1 := snapshotProcs()
	r.TopCPU = topConsumers(p0, p1, 6)
	r.StackCPUPct = stackCPUPercent(p0, p1, idleWindow, b.report.Machine.Cores)
	r.MemAvailBeforeMiB, r.MemAvailAfterMiB = mib(before), mib(after)
	r.PerSessionMiB = round1(mib(before-after) / float64(len(sessions)))
	r.ServerRSSMiB = mib(vmRSS(b.warm.pid))
	b.logf("density: %d sessions: %.1f MiB each, host idle %.1f%% (stack %.2f%% busy), server RSS %.1f MiB; top CPU s in the idle window %v",
		len(sessions), r.PerSessionMiB, r.HostIdlePct, r.StackCPUPct, r.ServerRSSMiB, r.TopCPU)

	if b.cfg.densityMax {
		r.Max = b.densityMax(ctx, &sessions)
	}
	b.logf("density: closing %d sessions", len(sessions))
	closeAll(sessions)
	sessions = nil
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	if b.cfg.densityDocker {
		d, err := b.dockerDensity(ctx)
		r.Docker = d
		return err
	}
	return nil
}

// densityMax adds densityStep sessions at a time until one fails, the host
// has less than a tenth of its memory available, or densityCap is reached.
func (b *bench) densityMax(ctx context.Context, sessions *[]*wsSession) *densityMax {
	m := &densityMax{}
	total := meminfo("MemTotal")
	for {
		if b.cfg.densityCap > 0 && len(*sessions) >= b.cfg.densityCap {
			m.StopReason = fmt.Sprintf("reached -density-cap %d", b.cfg.densityCap)
			break
		}
		if avail := meminfo("MemAvailable"); avail < total/10 {
			m.StopReason = fmt.Sprintf("MemAvailable %.0f MiB is under 10%% of MemTotal", mib(avail))
			break
		}
		step := b.cfg.densityStep
		if b.cfg.densityCap > 0 {
			step = min(step, b.cfg.densityCap-len(*sessions))
		}
		t0 := time.Now()
		more, err := b.openMany(ctx, b.warm, step)
		*sessions = append(*sessions, more...)
		if err != nil {
			m.StopReason = err.Error()
			break
		}
		st := densityStep{Sessions: len(*sessions), MemAvailableMiB: mib(meminfo("MemAvailable")),
			OpenSeconds: round1(time.Since(t0).Seconds())}
		m.Steps = append(m.Steps, st)
		b.logf("density-max: %d sessions, MemAvailable %.0f MiB", st.Sessions, st.MemAvailableMiB)
	}
	m.Reached = len(*sessions)
	b.logf("density-max: %d sessions (%s)", m.Reached, m.StopReason)
	return m
}

// dockerDensity starts the same number of detached iex containers with the
// baseline flags and measures them the same way.
func (b *bench) dockerDensity(ctx context.Context) (*dockerDensity, error) {
	n := b.cfg.density
	before := settledMemAvailable(ctx)
	b.logf("density: starting %d detached docker run -dit", n)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, b.cfg.openParallel)
	)
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			argv := b.sandbox.args("-dit", b.sandbox.containerName(), b.cfg.image, "iex")
			if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("docker run -dit: %w: %s", err, out))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	defer removeLeftovers(context.WithoutCancel(ctx), b.cfg.label)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	// iex boots unseen in a detached container: give it the cold prompt
	// time on top of the settle time.
	if err := sleepCtx(ctx, b.cfg.densitySettle+b.coldPromptGuess()); err != nil {
		return nil, err
	}
	after := settledMemAvailable(ctx)
	c0, p0 := readCPU(), snapshotProcs()
	if err := sleepCtx(ctx, idleWindow); err != nil {
		return nil, err
	}
	c1, p1 := readCPU(), snapshotProcs()
	d := &dockerDensity{Containers: n, PerSessionMiB: round1(mib(before-after) / float64(n)),
		HostIdlePct: round1(idlePercent(c0, c1)), TopCPU: topConsumers(p0, p1, 6),
		StackCPUPct: stackCPUPercent(p0, p1, idleWindow, b.report.Machine.Cores)}
	b.logf("density: %d docker run -dit: %.1f MiB each, host idle %.1f%% (stack %.2f%% busy); top CPU s in the idle window %v", n, d.PerSessionMiB, d.HostIdlePct, d.StackCPUPct, d.TopCPU)
	return d, nil
}

// coldPromptGuess is the measured docker run time to prompt, or 10 s.
func (b *bench) coldPromptGuess() time.Duration {
	if p := b.report.Prompt; p != nil && p.Docker.P99 > 0 {
		return time.Duration(p.Docker.P99 * float64(time.Millisecond))
	}
	return 10 * time.Second
}

// settledMemAvailable is the median of five MemAvailable readings a
// second apart.
func settledMemAvailable(ctx context.Context) int64 {
	var v []int64
	for i := range 5 {
		if i > 0 && sleepCtx(ctx, time.Second) != nil {
			break
		}
		v = append(v, meminfo("MemAvailable"))
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
