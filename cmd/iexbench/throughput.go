package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// The iex flood: 305 writes of 65,600 bytes, 20,008,000 bytes in all.
const (
	iexFlood      = `Enum.each(1..305, fn _ -> IO.write(String.duplicate("x", 65600)) end)`
	iexFloodBytes = 305 * 65600
)

// defaultFloodCmd writes %d bytes of x to the terminal.
const defaultFloodCmd = `head -c %d /dev/zero | tr '\0' x`

// shFlood is a shell command running cmd (with %d for n) and then printing
// DONE; the quotes keep DONE out of the echo of the command line itself.
func shFlood(cmd string, n int64) string {
	return fmt.Sprintf(cmd+`; echo DO""NE`, n)
}

// rate is a throughput figure.
type rate struct {
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"mb_per_s"` // 10^6 bytes per second
}

func newRate(n int64, d time.Duration) rate {
	return rate{Bytes: n, Seconds: round3(d.Seconds()), MBps: round1(float64(n) / 1e6 / d.Seconds())}
}

// throughputResult is output throughput with acks as the page sends them.
type throughputResult struct {
	Iex              rate    `json:"iex"`
	DockerIex        rate    `json:"docker_run_iex"`
	IexOverDocker    float64 `json:"iex_over_docker_run"`
	DockerSh         rate    `json:"docker_run_sh"`
	WarmRSSGrowthMiB float64 `json:"warm_server_rss_growth_mib"`

	IexFrameBytes float64 `json:"iex_mean_frame_bytes"`

	Process           *rate              `json:"process,omitempty"`
	ProcessFrameBytes float64            `json:"process_mean_frame_bytes,omitempty"`
	ProcessCPU        map[string]float64 `json:"process_flood_cpu_s,omitempty"`
	LocalPty          *rate              `json:"local_pty_sh,omitempty"`
	LocalPtyCPU       map[string]float64 `json:"local_pty_flood_cpu_s,omitempty"`
	ProcessOverLocal  float64            `json:"process_over_local_pty,omitempty"`
	RSSBeforeMiB      float64            `json:"process_server_rss_before_mib,omitempty"`
	RSSPeakMiB        float64            `json:"process_server_rss_peak_mib,omitempty"`
	FloodSessions     int                `json:"flood_sessions,omitempty"`
	Concurrent        *rate              `json:"concurrent_aggregate,omitempty"`
	RSSPerSessionMiB  float64            `json:"rss_growth_per_session_mib,omitempty"`
}

// measureThroughput floods one warm iex session and one docker run -it with
// the same 20 MB, and a docker run -it of sh for context.
func (b *bench) measureThroughput(ctx context.Context) error {
	r := &throughputResult{}
	b.report.Throughput = r
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	s, _, err := b.openPrompt(ctx, b.warm)
	if err != nil {
		return err
	}
	rss := sampleRSS(b.warm.pid, 20*time.Millisecond)
	before := vmRSS(b.warm.pid)
	f0 := s.frames.Load()
	r.Iex, err = floodIex(ctx, s)
	if n := s.frames.Load() - f0; n > 0 {
		r.IexFrameBytes = round1(float64(r.Iex.Bytes) / float64(n))
	}
	r.WarmRSSGrowthMiB = mib(rss.peak() - before)
	s.close()
	if err != nil {
		return err
	}
	b.logf("throughput: iexbox iex %.2f MB/s", r.Iex.MBps)

	p, err := b.dockerRunIex()
	if err != nil {
		return err
	}
	if _, err := p.waitFor(ctx, "iex(1)> ", promptTimeout); err != nil {
		p.close("", 0)
		return err
	}
	r.DockerIex, err = floodIex(ctx, p)
	p.close("System.halt()\r", 10*time.Second)
	if err != nil {
		return err
	}
	r.IexOverDocker = ratio(r.Iex.MBps, r.DockerIex.MBps)
	b.logf("throughput: docker run iex %.2f MB/s", r.DockerIex.MBps)

	name := b.sandbox.containerName()
	p, err = startPty(b.sandbox.args("-it", name, b.cfg.image, "sh"), b.cfg.cols, b.cfg.rows, name)
	if err != nil {
		return err
	}
	if _, err := p.waitFor(ctx, "$ ", promptTimeout); err != nil {
		p.close("", 0)
		return err
	}
	r.DockerSh, err = floodSh(ctx, p, defaultFloodCmd, iexFloodBytes)
	p.close("exit\r", 10*time.Second)
	if err != nil {
		return err
	}
	b.logf("throughput: docker run sh %.2f MB/s", r.DockerSh.MBps)
	return nil
}

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
	f0, c0 := s.frames.Load(), readCPU()
	srv0, self0 := procCPU(b.process.pid), procCPU(os.Getpid())
	one, err := floodSh(ctx, s, b.cfg.floodCmd, b.cfg.floodBytes)
	peak := rss.peak()
	r.ProcessCPU = map[string]float64{
		"host busy":     round3(busySeconds(c0, readCPU())),
		"iexbox server": round3(procCPU(b.process.pid) - srv0),
		"iexbench":      round3(procCPU(os.Getpid()) - self0),
	}
	if n := s.frames.Load() - f0; n > 0 {
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

// floodIex types the iex flood, and times from Enter to the next prompt.
// The terminal must be just after iex(1)>.
func floodIex(ctx context.Context, t term) (rate, error) {
	if err := t.send(iexFlood); err != nil {
		return rate{}, err
	}
	if _, err := t.waitFor(ctx, "end)", replyTimeout); err != nil { // the echo of the line
		return rate{}, err
	}
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	if err := t.send("\r"); err != nil {
		return rate{}, err
	}
	at, err := t.waitFor(ctx, "iex(2)> ", 10*time.Minute)
	if err != nil {
		return rate{}, fmt.Errorf("iex flood: %w", err)
	}
	return newRate(iexFloodBytes, at.Sub(t0)), nil
}

// floodSh runs the sh flood of n bytes, timed from Enter to DONE.
func floodSh(ctx context.Context, t term, cmd string, n int64) (rate, error) {
	t0 := time.Now()
	if err := t.send(shFlood(cmd, n) + "\r"); err != nil {
		return rate{}, err
	}
	at, err := t.waitFor(ctx, "DONE", 10*time.Minute)
	if err != nil {
		return rate{}, fmt.Errorf("sh flood: %w", err)
	}
	return newRate(n, at.Sub(t0)), nil
}

func mib(n int64) float64 { return round1(float64(n) / (1 << 20)) }
