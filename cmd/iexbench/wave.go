package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"iexbox/internal/client"
	"iexbox/internal/sandbox"
)

// waveResult is one wave: clients opened at once from one address.
type waveResult struct {
	Clients     int     `json:"clients"`
	At          float64 `json:"at_s"` // since the first wave began
	WarmAtStart int     `json:"warm_at_start"`
	TargetStart int     `json:"pool_target_at_start"`
	Refused     int     `json:"refused"`
	// Failed counts every client that got no prompt and right answer: a
	// refusal, a 429 at the door, a dial error, a timeout, a wrong answer.
	Failed int      `json:"failed"`
	Errors []string `json:"first_errors,omitempty"`
	Prompt dist     `json:"prompt"` // hello to prompt
	// HelloSpreadMs is how far apart the wave's hellos went out, released
	// together: the first to the last.
	HelloSpreadMs float64 `json:"hello_spread_ms"`
	LastS         float64 `json:"last_s"`
	Waited        int     `json:"waited"` // told queued before ready
	// Overtaken counts waiting clients served after a client whose hello
	// was sent later (all come from one address).
	Overtaken int `json:"overtaken"`
	// OvertakeMaxMs is by how much a later arrival's ready came first, at
	// most: the server grants sandboxes in line order, then each handler
	// resizes its own concurrently.
	OvertakeMaxMs float64 `json:"overtake_max_ms"`
	MaxSilenceS   float64 `json:"max_silence_s"` // longest wait without a queued event
	Boots         int     `json:"boots"`         // sandboxes started during the wave and its refill
	CPUPerBootS   float64 `json:"cpu_s_per_boot"`
	// CeilingPerS is the boots per second the host's cores allow at that
	// CPU per boot; BoundS is 1.2 × (clients − warm at start) ÷ it.
	CeilingPerS float64      `json:"ceiling_per_s"`
	BoundS      float64      `json:"bound_s"`
	Pool        []poolSample `json:"pool"`
}

// arrivalsResult is sessions arriving at a steady rate.
type arrivalsResult struct {
	PerSecond   float64      `json:"per_s"`
	From        int          `json:"from_addresses"`
	Seconds     float64      `json:"seconds"`
	HoldS       float64      `json:"hold_s"`
	Sessions    int          `json:"sessions"`
	Refused     int          `json:"refused"`
	Failed      int          `json:"failed"` // no prompt and right answer, whatever the reason
	Errors      []string     `json:"first_errors,omitempty"`
	Prompt      dist         `json:"prompt"`
	Waited      int          `json:"waited"`
	Boots       int          `json:"boots"`
	CPUPerBootS float64      `json:"cpu_s_per_boot"`
	Pool        []poolSample `json:"pool"`
}

// poolSample is the server's pool and line at one moment.
type poolSample struct {
	T        float64 `json:"t"`
	Active   int     `json:"active"`
	Ready    int     `json:"ready"`
	Starting int     `json:"starting"`
	Target   int     `json:"target"`
	Queued   int     `json:"queued"`
}

// together connects n clients, then releases every hello (hello(i)) at
// once, as a class pressing Run together does, and takes each to its
// prompt and 1+1; each client's hello time says its order of arrival.
func (b *bench) together(ctx context.Context, n int, hello func(i int) client.Hello) []*waveClient {
	clients := make([]*waveClient, n)
	var wg sync.WaitGroup
	for i := range clients {
		c := &waveClient{i: i}
		clients[i] = c
		wg.Go(func() { c.s, c.err = connect(ctx, b.warm.ws) })
	}
	wg.Wait()
	release := make(chan struct{})
	for _, c := range clients {
		if c.err != nil {
			continue
		}
		wg.Go(func() {
			<-release
			if c.err = c.s.hello(hello(c.i)); c.err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			if c.err = c.s.awaitReady(ctx); c.err != nil {
				return
			}
			at, err := c.s.wait(ctx, sandbox.Prompt)
			if err != nil {
				c.err = err
				return
			}
			c.prompt = at.Sub(c.s.helloAt)
			if c.err = c.s.eval(ctx, "1+1", "2"); c.err == nil {
				c.answer = time.Since(c.s.helloAt)
			}
		})
	}
	close(release)
	wg.Wait()
	return clients
}

// failed counts a client's end that is not a prompt and a right answer:
// every one in fails, refusals in refused too, the first five errors in
// errs. It reports whether err was one.
func failed(err error, refused, fails *int, errs *[]string) bool {
	if err == nil {
		return false
	}
	if client.IsRefused(err) {
		*refused++
	}
	*fails++
	if len(*errs) < 5 {
		*errs = append(*errs, err.Error())
	}
	return true
}

// waveClient is one client of a wave, as it fared.
type waveClient struct {
	i      int
	s      *wsSession
	prompt time.Duration
	answer time.Duration // hello to the answer of the first 1+1
	err    error
}

// measureWaves opens the -waves one after another, -wave-gap apart,
// every client of a wave at once from this one address, each to its
// prompt and 1+1; a wave's sessions stay open until -wave-hold after its
// start (or the next wave).
func (b *bench) measureWaves(ctx context.Context) error {
	if err := b.warm.waitSettled(ctx, 0, 10*time.Minute); err != nil {
		return err
	}
	t0 := time.Now()
	var errs []error
	for i, n := range b.cfg.waves {
		if i > 0 {
			select {
			case <-time.After(time.Until(t0.Add(time.Duration(i) * b.cfg.waveGap))):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		r, err := b.wave(ctx, n, t0)
		b.report.Waves = append(b.report.Waves, r)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// wave runs one wave of n clients.
func (b *bench) wave(ctx context.Context, n int, t0 time.Time) (*waveResult, error) {
	r := &waveResult{Clients: n}
	st, err := b.warm.getStatus(ctx)
	if err != nil {
		return r, err
	}
	if st.Pool != nil {
		r.WarmAtStart, r.TargetStart = st.Pool.Ready, st.Pool.Target
	}
	sampler := b.samplePool(ctx)
	cpu0, starts0 := b.stackCPU(), b.starts(ctx)
	start := time.Now()
	r.At = round3(start.Sub(t0).Seconds())

	clients := b.together(ctx, n, func(int) client.Hello { return client.Hello{Cols: b.cfg.cols, Rows: b.cfg.rows} })
	helloStart, spread := helloSpread(clients)
	r.HelloSpreadMs = round1(float64(spread) / 1e6)
	var prompts []time.Duration
	var last time.Time
	for _, c := range clients {
		if failed(c.err, &r.Refused, &r.Failed, &r.Errors) {
			continue
		}
		prompts = append(prompts, c.prompt)
		if end := c.s.helloAt.Add(c.prompt); end.After(last) {
			last = end
		}
	}
	r.Prompt = summarize(prompts)
	if !last.IsZero() {
		r.LastS = round3(last.Sub(helloStart).Seconds())
	}
	r.Waited, r.Overtaken, r.OvertakeMaxMs, r.MaxSilenceS = lineFigures(clients)

	// Hold the sessions as a class would, then end them; the refill after
	// the wave is part of its cost.
	select {
	case <-time.After(time.Until(start.Add(b.cfg.waveHold))):
	case <-ctx.Done():
	}
	for _, c := range clients {
		if c.s != nil {
			c.s.close()
		}
	}
	settleErr := b.warm.waitSettled(ctx, 0, 5*time.Minute)
	cpu := b.stackCPU() - cpu0
	r.Boots = b.starts(ctx) - starts0
	if r.Boots > 0 {
		r.CPUPerBootS = round3(cpu / float64(r.Boots))
		r.CeilingPerS = round3(float64(b.report.Machine.Cores) / r.CPUPerBootS)
		r.BoundS = round3(1.2 * float64(max(n-r.WarmAtStart, 0)) / r.CeilingPerS)
	}
	r.Pool = sampler()
	if r.Failed > 0 {
		settleErr = errors.Join(settleErr, fmt.Errorf("wave of %d: %d clients got no prompt and right answer", n, r.Failed))
	}
	b.logf("wave of %d (hellos within %.1f ms): warm at start %d, refused %d, failed %d, prompt p50 %.0f ms p95 %.0f ms max %.0f ms, last %.1f s, waited %d, overtaken %d (by %.0f ms at most), "+
		"longest silence %.1f s, %d boots at %.2f CPU s each (ceiling %.2f/s, bound %.1f s)",
		n, r.HelloSpreadMs, r.WarmAtStart, r.Refused, r.Failed, r.Prompt.P50, r.Prompt.P95, r.Prompt.Max, r.LastS, r.Waited, r.Overtaken, r.OvertakeMaxMs,
		r.MaxSilenceS, r.Boots, r.CPUPerBootS, r.CeilingPerS, r.BoundS)
	return r, settleErr
}

// helloSpread is when the first hello of a wave went out, and how long
// after it the last did.
func helloSpread(clients []*waveClient) (first time.Time, spread time.Duration) {
	var last time.Time
	for _, c := range clients {
		if c.s == nil || c.s.helloAt.IsZero() {
			continue
		}
		if first.IsZero() || c.s.helloAt.Before(first) {
			first = c.s.helloAt
		}
		if c.s.helloAt.After(last) {
			last = c.s.helloAt
		}
	}
	return first, last.Sub(first)
}

// arrivalMargin is how much later a hello must have gone out to count as
// a later arrival: hellos released together may reach the server in
// another order than they left by a few microseconds.
const arrivalMargin = time.Millisecond

// lineFigures tells how many clients waited in line, how many of those
// were served after a later arrival, and the longest a waiting client went
// without hearing its position (from its hello to its first queued event,
// between events, and from the last one to ready).
func lineFigures(clients []*waveClient) (waited, overtaken int, overtakeMs, silence float64) {
	var served []*waveClient
	for _, c := range clients {
		if c.err != nil || len(c.s.queued) == 0 {
			continue
		}
		waited++
		served = append(served, c)
		prev := c.s.helloAt
		for _, q := range c.s.queued {
			silence = max(silence, q.at.Sub(prev).Seconds())
			prev = q.at
		}
		silence = max(silence, c.s.readyAt.Sub(prev).Seconds())
	}
	for _, c := range served {
		by := time.Duration(0)
		for _, d := range served {
			if d.s.helloAt.Sub(c.s.helloAt) >= arrivalMargin && d.s.readyAt.Before(c.s.readyAt) {
				by = max(by, c.s.readyAt.Sub(d.s.readyAt))
			}
		}
		if by > 0 {
			overtaken++
			overtakeMs = max(overtakeMs, round1(float64(by)/1e6))
		}
	}
	return waited, overtaken, overtakeMs, round3(silence)
}

// measureArrivals opens -arrivals-rate sessions a second for
// -arrivals-duration, each held -arrivals-hold from its start.
func (b *bench) measureArrivals(ctx context.Context) error {
	if err := b.warm.waitSettled(ctx, 0, 10*time.Minute); err != nil {
		return err
	}
	r := &arrivalsResult{PerSecond: b.cfg.arrivalsRate, From: b.cfg.arrivalsFrom, Seconds: b.cfg.arrivalsDuration.Seconds(), HoldS: b.cfg.arrivalsHold.Seconds()}
	b.report.Arrivals = r
	sampler := b.samplePool(ctx)
	cpu0, starts0 := b.stackCPU(), b.starts(ctx)
	var (
		mu      sync.Mutex
		prompts []time.Duration
		wg      sync.WaitGroup
	)
	every := time.Duration(float64(time.Second) / b.cfg.arrivalsRate)
	tick := time.NewTicker(every)
	defer tick.Stop()
	end := time.Now().Add(b.cfg.arrivalsDuration)
	for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
		// Arrivals come from -arrivals-from addresses in turn, as visitors
		// of a site do; one address would meet its own rate limit.
		from := net.IPv4(127, 0, 1, byte(1+i%b.cfg.arrivalsFrom))
		if b.cfg.arrivalsFrom == 1 {
			from = nil
		}
		wg.Go(func() {
			began := time.Now()
			s, d, err := b.arrive(ctx, from)
			if err == nil {
				err = s.eval(ctx, "1+1", "2")
			}
			mu.Lock()
			r.Sessions++
			if !failed(err, &r.Refused, &r.Failed, &r.Errors) {
				prompts = append(prompts, d)
				if len(s.queued) > 0 {
					r.Waited++
				}
			}
			mu.Unlock()
			if s == nil {
				return
			}
			select {
			case <-time.After(time.Until(began.Add(b.cfg.arrivalsHold))):
			case <-ctx.Done():
			}
			s.close()
		})
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	wg.Wait()
	settleErr := b.warm.waitSettled(ctx, 0, 5*time.Minute)
	cpu := b.stackCPU() - cpu0
	r.Boots = b.starts(ctx) - starts0
	if r.Boots > 0 {
		r.CPUPerBootS = round3(cpu / float64(r.Boots))
	}
	r.Prompt = summarize(prompts)
	r.Pool = sampler()
	if r.Failed > 0 {
		settleErr = errors.Join(settleErr, fmt.Errorf("arrivals: %d of %d sessions got no prompt and right answer", r.Failed, r.Sessions))
	}
	b.logf("arrivals %.1f/s for %.0f s, held %.0f s: %d sessions, refused %d, failed %d, prompt p50 %.0f ms p95 %.0f ms max %.0f ms, waited %d, %d boots at %.2f CPU s",
		r.PerSecond, r.Seconds, r.HoldS, r.Sessions, r.Refused, r.Failed, r.Prompt.P50, r.Prompt.P95, r.Prompt.Max, r.Waited, r.Boots, r.CPUPerBootS)
	return settleErr
}

// arrive opens a session from the local address from (nil: the
// system's) and waits for its prompt; the caller must close the session.
func (b *bench) arrive(ctx context.Context, from net.IP) (*wsSession, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, promptTimeout)
	defer cancel()
	s, err := connectFrom(ctx, b.warm.ws, from)
	if err != nil {
		return nil, 0, err
	}
	if err := s.helloReady(ctx, client.Hello{Cols: b.cfg.cols, Rows: b.cfg.rows}); err != nil {
		return nil, 0, err
	}
	at, err := s.wait(ctx, sandbox.Prompt)
	if err != nil {
		s.close()
		return nil, 0, err
	}
	return s, at.Sub(s.helloAt), nil
}

// samplePool polls /status every second until the returned func is
// called, which returns the samples.
func (b *bench) samplePool(ctx context.Context) func() []poolSample {
	ctx, cancel := context.WithCancel(ctx)
	var samples []poolSample
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		defer close(done)
		for {
			if st, err := b.warm.getStatus(ctx); err == nil && st.Pool != nil {
				samples = append(samples, poolSample{T: round1(time.Since(t0).Seconds()), Active: st.Sessions.Active,
					Ready: st.Pool.Ready, Starting: st.Pool.Starting, Target: st.Pool.Target, Queued: st.Pool.Queued})
			}
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() []poolSample {
		cancel()
		<-done
		return samples
	}
}

// stackCPU is the CPU seconds used so far by what boots a sandbox: the
// sandboxes' parent cgroup (their programs, and gVisor's sandbox and
// gofer), the Docker Engine, containerd and its shims, and the server.
func (b *bench) stackCPU() float64 {
	s := procCPU(b.warm.pid)
	for _, p := range []string{"dockerd", "containerd", "containerd-shim"} {
		s += cpuByName(p)
	}
	if b.cfg.cgroupParent != "" {
		if data, err := os.ReadFile("/sys/fs/cgroup/cpuacct/" + b.cfg.cgroupParent + "/cpuacct.usage"); err == nil {
			ns, _ := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
			s += float64(ns) / 1e9
		}
	}
	return s
}

// starts is how many sandboxes the server has started: its count of
// Docker start requests, from /metrics.
func (b *bench) starts(ctx context.Context) int {
	u := strings.Replace(strings.Replace(b.warm.status, "/status", "/metrics", 1), "ws://", "http://", 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, `iexbox_docker_request_seconds_count{op="start"} `); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return int(v)
		}
	}
	return 0
}

// waveRows are the wave and arrival figures beside their targets.
func waveRows(r *report, add func(figure, iexbox, docker, ratio, target, met string)) {
	for i, w := range r.Waves {
		name := fmt.Sprintf("wave %d: %d at once, warm at start %d", i+1, w.Clients, w.WarmAtStart)
		add(name+", refused", strconv.Itoa(w.Refused), "", "", "0", verdict(true, w.Refused == 0))
		add(name+", no prompt or a wrong answer (any cause)", strconv.Itoa(w.Failed), "", "", "0", verdict(true, w.Failed == 0))
		add(name+", hellos released together, spread ms", fmt.Sprintf("%.1f", w.HelloSpreadMs), "", "", "report", "-")
		target, met := "p95<=1000", verdict(w.Clients <= 40, w.Prompt.P95 <= 1000)
		if w.Clients > 40 {
			target = "p50<=1000 if warm>=50"
			met = verdict(w.WarmAtStart >= 50, w.Prompt.P50 <= 1000)
		}
		add(name+", prompt p50/p95/max ms", f3(w.Prompt.P50, w.Prompt.P95, w.Prompt.Max), "", "", target, met)
		if w.Waited > 0 {
			add(name+", last s / bound s", fmt.Sprintf("%.1f / %.1f", w.LastS, w.BoundS), "", "",
				"<= 1.2 x waiting / ceiling", verdict(w.BoundS > 0, w.LastS <= w.BoundS))
			add(name+", waited / overtaken (by at most ms) / longest silence s",
				fmt.Sprintf("%d / %d (%.0f) / %.1f", w.Waited, w.Overtaken, w.OvertakeMaxMs, w.MaxSilenceS), "", "",
				"0 overtaken, <=2 s", verdict(true, w.Overtaken == 0 && w.MaxSilenceS <= 2.2))
		}
		add(name+", CPU s per boot (ceiling/s)", fmt.Sprintf("%.2f (%.2f)", w.CPUPerBootS, w.CeilingPerS), "", "", "report", "-")
	}
	if a := r.Arrivals; a != nil {
		name := fmt.Sprintf("arrivals %.1f/s from %d addresses for %.0f s, held %.0f s", a.PerSecond, a.From, a.Seconds, a.HoldS)
		add(name+", refused", strconv.Itoa(a.Refused), "", "", "0", verdict(true, a.Refused == 0))
		add(name+", no prompt or a wrong answer (any cause)", strconv.Itoa(a.Failed), "", "", "0", verdict(true, a.Failed == 0))
		add(name+", prompt p50/p95/max ms", f3(a.Prompt.P50, a.Prompt.P95, a.Prompt.Max), "", "", "p95<=1000", verdict(true, a.Prompt.P95 <= 1000))
		add(name+", waited, CPU s per boot", fmt.Sprintf("%d, %.2f", a.Waited, a.CPUPerBootS), "", "", "report", "-")
		if len(a.Pool) > 0 {
			lo := slices.MinFunc(a.Pool, func(x, y poolSample) int { return x.Ready - y.Ready })
			add(name+", pool ready min / target max", fmt.Sprintf("%d / %d", lo.Ready,
				slices.MaxFunc(a.Pool, func(x, y poolSample) int { return x.Target - y.Target }).Target), "", "", "report", "-")
		}
	}
}

// eval types expr at the prompt and checks that the reply holds want.
func (s *wsSession) eval(ctx context.Context, expr, want string) error {
	return s.evalNth(ctx, 1, expr, want)
}

// evalNth is eval of the session's n-th expression.
func (s *wsSession) evalNth(ctx context.Context, n int, expr, want string) error {
	if err := s.send(expr + "\r"); err != nil {
		return err
	}
	out, _, err := s.waitText(ctx, sandbox.PromptNumber(n+1), 30*time.Second)
	if err != nil {
		return err
	}
	// The reply follows the echo, coloured: look for it there.
	if i := strings.LastIndex(out, expr); i < 0 || !strings.Contains(out[i+len(expr):], want) {
		return fmt.Errorf("%s printed %q, want %s", expr, out, want)
	}
	return nil
}
