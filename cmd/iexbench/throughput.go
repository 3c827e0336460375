package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"iexbox/internal/sandbox"
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
	return rate{Bytes: n, Seconds: round3(d.Seconds()), MBps: round3(float64(n) / 1e6 / d.Seconds())}
}

// throughputResult is output throughput with acks as the page sends them.
type throughputResult struct {
	Runs             int       `json:"runs"`
	Iex              rate      `json:"iex"` // the median run
	IexRuns          []float64 `json:"iex_runs_mb_per_s"`
	DockerIex        rate      `json:"docker_run_iex"` // the median run
	DockerIexRuns    []float64 `json:"docker_run_iex_runs_mb_per_s"`
	IexOverDocker    float64   `json:"iex_over_docker_run"`
	DockerSh         rate      `json:"docker_run_sh"`
	WarmRSSGrowthMiB float64   `json:"warm_server_rss_growth_mib"`
	IexFrameBytes    float64   `json:"iex_mean_frame_bytes"`

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

// measureThroughput floods warm iex sessions and docker run -it with the
// same 20 MB, -flood-runs times each, interleaved, and takes the medians;
// then floods a docker run -it of sh, for context.
func (b *bench) measureThroughput(ctx context.Context) error {
	r := &throughputResult{Runs: b.cfg.floodRuns}
	b.report.Throughput = r
	var iex, docker []rate
	for range b.cfg.floodRuns {
		if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
			return err
		}
		x, err := b.floodIexbox(ctx, r)
		if err != nil {
			return err
		}
		iex, r.IexRuns = append(iex, x), append(r.IexRuns, x.MBps)
		if x, err = b.floodDocker(ctx); err != nil {
			return err
		}
		docker, r.DockerIexRuns = append(docker, x), append(r.DockerIexRuns, x.MBps)
		b.logf("throughput: iex 20 MB: iexbox %.2f MB/s, docker run %.2f MB/s", iex[len(iex)-1].MBps, x.MBps)
	}
	r.Iex, r.DockerIex = medianRate(iex), medianRate(docker)
	r.IexOverDocker = ratio(r.Iex.MBps, r.DockerIex.MBps)

	name := b.sandbox.containerName()
	p, err := startPty(b.sandbox.args("-it", name, b.cfg.image, "sh"), b.cfg.cols, b.cfg.rows, name)
	if err != nil {
		return err
	}
	defer p.close("exit\r", 10*time.Second)
	if _, err := p.waitFor(ctx, "$ ", promptTimeout); err != nil {
		return err
	}
	if r.DockerSh, err = floodSh(ctx, p, defaultFloodCmd, iexFloodBytes); err != nil {
		return err
	}
	b.logf("throughput: docker run sh %.2f MB/s", r.DockerSh.MBps)
	return nil
}

// floodIexbox floods one fresh warm session, sampling the server's memory.
func (b *bench) floodIexbox(ctx context.Context, r *throughputResult) (rate, error) {
	s, _, err := b.openPrompt(ctx, b.warm)
	if err != nil {
		return rate{}, err
	}
	defer s.close()
	before := vmRSS(b.warm.pid)
	rss := sampleRSS(b.warm.pid, 20*time.Millisecond)
	f0 := s.frames()
	x, err := floodIex(ctx, s)
	r.WarmRSSGrowthMiB = max(r.WarmRSSGrowthMiB, mib(rss.peak()-before))
	if n := s.frames() - f0; n > 0 && err == nil {
		r.IexFrameBytes = round1(float64(x.Bytes) / float64(n))
	}
	return x, err
}

// floodDocker floods one fresh docker run -it.
func (b *bench) floodDocker(ctx context.Context) (rate, error) {
	p, err := b.dockerRunIex()
	if err != nil {
		return rate{}, err
	}
	defer p.close("System.halt()\r", 10*time.Second)
	if _, err := p.waitFor(ctx, sandbox.Prompt, promptTimeout); err != nil {
		return rate{}, err
	}
	return floodIex(ctx, p)
}

// medianRate is the run with the median rate.
func medianRate(rs []rate) rate {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b rate) int { return cmp.Compare(a.MBps, b.MBps) })
	return s[len(s)/2]
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
	at, err := t.waitFor(ctx, sandbox.PromptNumber(2), 10*time.Minute)
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
