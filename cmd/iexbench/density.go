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
// MemAvailable per session (the containerd shim and kernel objects
// included, which cgroup figures miss), split by where it went, and the
// CPU the idle stack uses, beside the host's idle share (which includes
// whatever else runs on a shared host).
type densityResult struct {
	Sessions    int        `json:"sessions"`
	OpenSeconds float64    `json:"open_s"`
	Idle        idleFigure `json:"iexbox"`

	Docker *idleFigure `json:"docker_run_dit,omitempty"`
	Max    *densityMax `json:"max,omitempty"`
}

// idleFigure is the cost of n idle sessions (or detached containers).
type idleFigure struct {
	N                 int                `json:"n"`
	MemAvailBeforeMiB float64            `json:"mem_available_before_mib"`
	MemAvailAfterMiB  float64            `json:"mem_available_after_mib"`
	PerSessionMiB     float64            `json:"mib_per_session"`
	FreedMiB          float64            `json:"mib_per_session_freed_on_close"`
	Mem               memBreakdown       `json:"mib_per_session_by_part"`
	HostIdlePct       float64            `json:"host_idle_pct"`
	StackCPUPct       map[string]float64 `json:"stack_cpu_pct"`
	TopCPU            map[string]float64 `json:"top_cpu_s_in_idle_window"`
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
// measures, then measures as many detached docker run containers; with
// -density-max it then keeps adding sessions.
func (b *bench) measureDensity(ctx context.Context) error {
	r := &densityResult{Sessions: b.cfg.density}
	b.report.Density = r
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	before := takeMem(ctx, b.warm.pid)
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
	r.Idle, err = b.idleCost(ctx, "iexbox.instance="+b.instance, len(sessions), b.warm.pid, before)
	if err != nil {
		return err
	}
	b.logf("density: closing %d sessions", len(sessions))
	atOpen := meminfo("MemAvailable")
	closeAll(sessions)
	sessions = nil
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	r.Idle.FreedMiB = round1(mib(settledMemAvailable(ctx)-atOpen) / float64(r.Idle.N))
	b.logf("density: closing freed %.1f MiB per session", r.Idle.FreedMiB)
	if b.cfg.densityDocker {
		if r.Docker, err = b.dockerDensity(ctx); err != nil {
			return err
		}
	}
	if b.cfg.densityMax {
		if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
			return err
		}
		r.Max = b.densityMax(ctx, &sessions)
		b.logf("density: closing %d sessions", len(sessions))
		closeAll(sessions)
		sessions = nil
		return b.warm.waitSettled(ctx, 0, settleTimeout)
	}
	return nil
}

// idleCost measures n idle sessions whose containers carry label, against
// the memory snapshot taken before they opened.
func (b *bench) idleCost(ctx context.Context, label string, n, serverPID int, before memSnapshot) (idleFigure, error) {
	after := takeMem(ctx, serverPID)
	ids := containerIDs(ctx, label)
	shims := shimPIDs(ids)
	f := idleFigure{N: n, MemAvailBeforeMiB: mib(before.available), MemAvailAfterMiB: mib(after.available),
		PerSessionMiB: round1(mib(before.available-after.available) / float64(n)),
		Mem:           breakdownMem(before, after, ids, shims, n)}
	c0, p0, s0 := readCPU(), snapshotProcs(), sampleStackCPU(shims, ids, serverPID)
	if err := sleepCtx(ctx, idleWindow); err != nil {
		return f, err
	}
	c1, p1, s1 := readCPU(), snapshotProcs(), sampleStackCPU(shims, ids, serverPID)
	f.HostIdlePct = round1(idlePercent(c0, c1))
	f.StackCPUPct = stackIdle(s0, s1, idleWindow, b.report.Machine.Cores)
	f.TopCPU = topConsumers(p0, p1, 6)
	b.logf("density: %d idle (%s): %.1f MiB each %+v; host idle %.1f%%, stack CPU %% %v; top CPU s %v",
		n, label, f.PerSessionMiB, f.Mem, f.HostIdlePct, f.StackCPUPct, f.TopCPU)
	return f, nil
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
func (b *bench) dockerDensity(ctx context.Context) (*idleFigure, error) {
	n := b.cfg.density
	before := takeMem(ctx, 0)
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
	f, err := b.idleCost(ctx, "iexbench.run="+b.cfg.label, n, 0, before)
	if err != nil {
		return &f, err
	}
	atOpen := meminfo("MemAvailable")
	if _, err := removeLeftovers(ctx, b.cfg.label); err != nil {
		return &f, err
	}
	f.FreedMiB = round1(mib(settledMemAvailable(ctx)-atOpen) / float64(n))
	b.logf("density: removing freed %.1f MiB per container", f.FreedMiB)
	return &f, nil
}

// coldPromptGuess is the measured docker run time to prompt, or 10 s.
func (b *bench) coldPromptGuess() time.Duration {
	if p := b.report.Prompt; p != nil && p.Docker.P99 > 0 {
		return time.Duration(p.Docker.P99 * float64(time.Millisecond))
	}
	return 10 * time.Second
}

// settledMemAvailable waits, up to a minute, until MemAvailable stops
// moving (what closed sessions and removed containers free comes back
// late), then returns the median of five readings a second apart.
func settledMemAvailable(ctx context.Context) int64 {
	prev := meminfo("MemAvailable")
	for range 30 {
		if sleepCtx(ctx, 2*time.Second) != nil {
			break
		}
		cur := meminfo("MemAvailable")
		if d := cur - prev; d < 16<<20 && d > -16<<20 {
			break
		}
		prev = cur
	}
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
