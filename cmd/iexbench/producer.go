package main

import (
	"context"
	"os"
	"sync"
	"time"
)

// measureProducer pushes flood-bytes from sh through the -process-url
// server, alone and in floodSessions sessions at once, sampling the
// server's memory, beside the same command on a local pty.
func (b *bench) measureProducer(ctx context.Context) error {
	if b.process == nil {
		b.logf("producer: skipped (no -process-url)")
		return nil
	}
	r := b.report.Throughput
	if r == nil {
		r = &throughputResult{}
		b.report.Throughput = r
	}
	p, err := startPty([]string{"sh"}, b.cfg.cols, b.cfg.rows, "")
	if err != nil {
		return err
	}
	c0, self0 := readCPU(), procCPU(os.Getpid())
	local, err := floodSh(ctx, p, b.cfg.floodCmd, b.cfg.floodBytes)
	r.LocalPtyCPU = map[string]float64{
		"host busy":             round3(busySeconds(c0, readCPU())),
		"iexbench (pty reader)": round3(procCPU(os.Getpid()) - self0),
	}
	p.close("exit\r", 5*time.Second)
	if err != nil {
		return err
	}
	r.LocalPty = &local
	b.logf("throughput: local pty sh %.1f MB/s, CPU s %v", local.MBps, r.LocalPtyCPU)

	if err := b.process.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	s, err := dial(ctx, b.process.ws, b.cfg.cols, b.cfg.rows)
	if err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond) // let sh print its prompt
	before := vmRSS(b.process.pid)
	rss := sampleRSS(b.process.pid, 20*time.Millisecond)
	f0, c0 := s.frames(), readCPU()
	srv0, self0 := procCPU(b.process.pid), procCPU(os.Getpid())
	one, err := floodSh(ctx, s, b.cfg.floodCmd, b.cfg.floodBytes)
	peak := rss.peak()
	r.ProcessCPU = map[string]float64{
		"host busy":     round3(busySeconds(c0, readCPU())),
		"iexbox server": round3(procCPU(b.process.pid) - srv0),
		"iexbench":      round3(procCPU(os.Getpid()) - self0),
	}
	if n := s.frames() - f0; n > 0 {
		r.ProcessFrameBytes = round1(float64(one.Bytes) / float64(n))
	}
	s.close()
	if err != nil {
		return err
	}
	r.Process, r.ProcessOverLocal = &one, ratio(one.MBps, local.MBps)
	r.RSSBeforeMiB, r.RSSPeakMiB = mib(before), mib(peak)
	b.logf("throughput: iexbox process runtime %.1f MB/s, server RSS %.1f -> %.1f MiB, frames of %.0f bytes, CPU s %v",
		one.MBps, mib(before), mib(peak), r.ProcessFrameBytes, r.ProcessCPU)

	// Several floods at once: the server's memory per flooding session.
	if err := b.process.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	k := b.cfg.floodSessions
	sessions := make([]*wsSession, 0, k)
	defer func() { closeAll(sessions) }()
	for range k {
		s, err := dial(ctx, b.process.ws, b.cfg.cols, b.cfg.rows)
		if err != nil {
			return err
		}
		sessions = append(sessions, s)
	}
	time.Sleep(200 * time.Millisecond)
	before = vmRSS(b.process.pid)
	rss = sampleRSS(b.process.pid, 20*time.Millisecond)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		slowest time.Duration
		errs    []error
	)
	for _, s := range sessions {
		wg.Go(func() {
			rt, err := floodSh(ctx, s, b.cfg.floodCmd, b.cfg.floodBytes)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			slowest = max(slowest, time.Duration(rt.Seconds*float64(time.Second)))
		})
	}
	wg.Wait()
	peak = rss.peak()
	if len(errs) > 0 {
		return errs[0]
	}
	agg := newRate(int64(k)*b.cfg.floodBytes, slowest)
	r.FloodSessions, r.Concurrent = k, &agg
	r.RSSPerSessionMiB = round1(mib(peak-before) / float64(k))
	b.logf("throughput: %d concurrent floods %.1f MB/s in all, server RSS +%.1f MiB per session", k, agg.MBps, r.RSSPerSessionMiB)
	return nil
}
