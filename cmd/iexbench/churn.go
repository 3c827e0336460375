package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"iexbox/internal/client"
)

// warmThreshold separates a session served from the pool from a cold one
// in the churn's time-to-prompt samples.
const warmThreshold = 250 * time.Millisecond

// churnResult is sessions opened to their prompt and closed, back to back,
// by concurrent workers.
type churnResult struct {
	Workers       int                `json:"workers"`
	End           string             `json:"end"`
	Seconds       float64            `json:"seconds"`
	Sessions      int                `json:"sessions"`
	Errors        int                `json:"errors"`
	FirstErrors   []string           `json:"first_errors,omitempty"`
	PerSecond     float64            `json:"sessions_per_s"`
	Prompt        dist               `json:"prompt"`
	WarmShare     float64            `json:"warm_share"` // prompts under 250 ms
	HostIdlePct   float64            `json:"host_idle_pct"`
	CPUSeconds    float64            `json:"host_cpu_busy_s"`
	CPUPerSession float64            `json:"host_cpu_s_per_session"`
	CPUBy         map[string]float64 `json:"cpu_s_by_process"`
	TopCPU        map[string]float64 `json:"top_cpu_s_by_command"`
	CeilingPerS   float64            `json:"cpu_bound_ceiling_per_s"` // cores / CPU per session
	Containers    int                `json:"containers_after"`
	PoolAfter     int                `json:"pool_ready_plus_starting_after"`
	Leaked        int                `json:"leaked"`
	SettleSeconds float64            `json:"settle_s"`
}

// measureChurn opens, uses to the prompt and ends sessions with
// churnWorkers workers for churnDuration, then checks that the server's
// containers are exactly its pool.
func (b *bench) measureChurn(ctx context.Context) error {
	r := &churnResult{Workers: b.cfg.churnWorkers, End: b.cfg.churnEnd, CPUBy: map[string]float64{}}
	b.report.Churn = r
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		prompts []time.Duration
		wg      sync.WaitGroup
	)
	procs := []string{"dockerd", "containerd"}
	cpuBefore := map[string]float64{"iexbox server": procCPU(b.warm.pid), "iexbench": procCPU(os.Getpid())}
	for _, p := range procs {
		cpuBefore[p] = cpuByName(p)
	}
	c0, p0 := readCPU(), snapshotProcs()
	t0 := time.Now()
	deadline := t0.Add(b.cfg.churnDuration)
	for range b.cfg.churnWorkers {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				d, err := b.churnOnce(ctx)
				mu.Lock()
				if err != nil {
					r.Errors++
					if len(r.FirstErrors) < 5 {
						r.FirstErrors = append(r.FirstErrors, err.Error())
					}
				} else {
					prompts = append(prompts, d)
				}
				mu.Unlock()
				if client.IsRefused(err) {
					time.Sleep(time.Second) // capacity: back off as a page would
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	c1 := readCPU()
	r.TopCPU = topConsumers(p0, snapshotProcs(), 8)
	r.CPUBy["iexbox server"] = round3(procCPU(b.warm.pid) - cpuBefore["iexbox server"])
	r.CPUBy["iexbench"] = round3(procCPU(os.Getpid()) - cpuBefore["iexbench"])
	for _, p := range procs {
		r.CPUBy[p] = round3(cpuByName(p) - cpuBefore[p])
	}
	r.Seconds = round3(elapsed.Seconds())
	r.Sessions = len(prompts)
	r.PerSecond = round3(float64(len(prompts)) / elapsed.Seconds())
	r.Prompt = summarize(prompts)
	warm := 0
	for _, d := range prompts {
		if d < warmThreshold {
			warm++
		}
	}
	if len(prompts) > 0 {
		r.WarmShare = round3(float64(warm) / float64(len(prompts)))
		r.CPUPerSession = round3(busySeconds(c0, c1) / float64(len(prompts)))
		r.CeilingPerS = round3(float64(b.report.Machine.Cores) / r.CPUPerSession)
	}
	r.CPUSeconds = round3(busySeconds(c0, c1))
	r.HostIdlePct = round1(idlePercent(c0, c1))
	rest := r.CPUSeconds
	for _, v := range r.CPUBy {
		rest -= v
	}
	r.CPUBy["rest (runc, shims, BEAMs, kernel)"] = round3(rest)
	b.logf("churn: %d sessions in %.0f s = %.2f/s, %d errors, warm share %.2f, host idle %.0f%%, %.2f CPU s per session",
		r.Sessions, r.Seconds, r.PerSecond, r.Errors, r.WarmShare, r.HostIdlePct, r.CPUPerSession)
	return b.checkLeaks(ctx, r)
}

// churnOnce opens one session, waits for its prompt and ends it.
func (b *bench) churnOnce(ctx context.Context) (time.Duration, error) {
	s, d, err := b.openPrompt(ctx, b.warm)
	if err != nil {
		return 0, err
	}
	if b.cfg.churnEnd == "halt" {
		return d, s.halt(ctx)
	}
	s.close()
	return d, nil
}

// checkLeaks waits for the server to settle and then compares its
// containers with its pool: every container of the instance must be a
// ready or starting pool member.
func (b *bench) checkLeaks(ctx context.Context, r *churnResult) error {
	t0 := time.Now()
	settleErr := b.warm.waitSettled(ctx, 0, settleTimeout)
	label := "iexbox.instance=" + b.instance
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := b.warm.getStatus(ctx)
		if err != nil {
			return err
		}
		ids, err := containersWithLabel(ctx, label)
		if err != nil {
			return err
		}
		st2, err := b.warm.getStatus(ctx) // the pool must not move during the count
		if err != nil {
			return err
		}
		r.Containers, r.PoolAfter = len(ids), st.poolWarm()
		r.Leaked = len(ids) - st.poolWarm()
		stable := st.poolWarm() == st2.poolWarm() && st.Sessions.Active == 0 && st2.Sessions.Active == 0
		if (stable && r.Leaked == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.SettleSeconds = round3(time.Since(t0).Seconds())
	b.logf("churn: after settling %.1f s: %d containers of %s, pool %d, leaked %d",
		r.SettleSeconds, r.Containers, b.instance, r.PoolAfter, r.Leaked)
	if r.Leaked != 0 {
		return fmt.Errorf("%d containers of instance %s left beyond the pool (%v)", r.Leaked, b.instance, settleErr)
	}
	return settleErr
}
