package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"iexbox/internal/sandbox"
)

// Bounds on single operations; a benchmark waits, it does not hang.
const (
	promptTimeout = 60 * time.Second // dial to the first prompt, cold runsc included
	replyTimeout  = 10 * time.Second // one keystroke or eval
	settleTimeout = 3 * time.Minute  // a server's pool refilling
)

// bench holds what every measurement needs.
type bench struct {
	cfg     config
	sandbox sandboxFlags
	warm    *server
	cold    *server // nil without -cold-url
	process *server // nil without -process-url
	log     io.Writer
	start   time.Time
	report  *report

	instance string // the warm server's iexbox.instance label
}

func newBench(ctx context.Context, cfg config, log io.Writer) (*bench, error) {
	b := &bench{
		cfg: cfg, log: log, start: time.Now(),
		sandbox: sandboxFlags{policy: cfg.policy, label: cfg.label},
	}
	var err error
	if b.warm, err = newServer("url", cfg.url, cfg.serverPID); err != nil {
		return nil, err
	}
	if cfg.coldURL != "" {
		if b.cold, err = newServer("cold-url", cfg.coldURL, cfg.coldPID); err != nil {
			return nil, err
		}
	}
	if cfg.processURL != "" {
		if b.process, err = newServer("process-url", cfg.processURL, cfg.processPID); err != nil {
			return nil, err
		}
	}
	b.report = &report{
		Tool: "iexbench", Started: b.start.UTC().Format(time.RFC3339), Args: cfg.args,
		Machine: describeMachine(runtime.NumCPU()), Note: cfg.note,
		Baseline: baselineInfo{Runtime: cfg.runtime, Image: cfg.image},
		Servers:  map[string]serverInfo{}, Throttling: map[string]throttling{},
	}
	for _, s := range []*server{b.warm, b.cold, b.process} {
		if s == nil {
			continue
		}
		st, err := s.getStatus(ctx)
		if err != nil {
			return nil, err
		}
		info := serverInfo{URL: s.ws, PID: s.pid, Version: st.Version, Instance: st.Instance, Runtime: st.Runtime, MaxSessions: st.Sessions.Max}
		if st.Pool != nil {
			info.Pool = st.Pool.Size
		}
		b.report.Servers[s.name] = info
		b.logf("%s server %s: version %s, instance %s, runtime %s, pool %d, max sessions %d, pid %d",
			s.name, s.ws, st.Version, st.Instance, st.Runtime, info.Pool, st.Sessions.Max, s.pid)
		if s != b.process && st.Runtime != cfg.runtime {
			b.logf("warning: %s server runs %s but the docker run baseline uses -runtime %s", s.name, st.Runtime, cfg.runtime)
		}
	}
	b.report.Runtime = b.report.Servers["url"].Runtime
	b.instance = b.report.Servers["url"].Instance
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return nil, err
	}
	if b.sandbox.seccomp, err = serverSeccomp(ctx, b.instance, cfg.policy); err != nil {
		return nil, err
	}
	b.report.Baseline.Seccomp = "Docker's default"
	if b.sandbox.seccomp != "" {
		b.report.Baseline.Seccomp = "the server's, copied from one of its containers"
	}
	b.report.Baseline.Command = strings.Join(b.sandbox.args("-it", "NAME", cfg.image, "iex"), " ")
	b.report.Machine.ForeignContainers = countContainers(ctx)
	return b, nil
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(b.log, "%s "+format+"\n", append([]any{time.Since(b.start).Round(time.Second)}, a...)...)
}

// cleanup removes any baseline container this run left.
func (b *bench) cleanup() {
	if b.sandbox.seccomp != "" {
		os.Remove(b.sandbox.seccomp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if n, err := removeLeftovers(ctx, b.cfg.label); n > 0 || err != nil {
		b.logf("removed %d leftover baseline containers (err %v)", n, err)
	}
}

func (b *bench) finish() {
	b.report.DurationS = round1(time.Since(b.start).Seconds())
}

// openPrompt dials srv and waits for iex's first prompt; the caller must
// close the session.
func (b *bench) openPrompt(ctx context.Context, srv *server) (*wsSession, time.Duration, error) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, promptTimeout)
	defer cancel()
	s, err := dial(ctx, srv.ws, b.cfg.cols, b.cfg.rows)
	if err != nil {
		return nil, 0, err
	}
	s.readyAfter = time.Since(t0)
	at, err := s.wait(ctx, sandbox.Prompt)
	if err != nil {
		s.close()
		return nil, 0, err
	}
	return s, at.Sub(t0), nil
}

// openMany opens n sessions on srv, openParallel at a time, each to its
// first prompt. On error it closes what it opened.
func (b *bench) openMany(ctx context.Context, srv *server, n int) ([]*wsSession, error) {
	var (
		mu       sync.Mutex
		sessions []*wsSession
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, b.cfg.openParallel)
	)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			<-sem
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			s, _, err := b.openPrompt(ctx, srv)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			sessions = append(sessions, s)
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		closeAll(sessions)
		return nil, fmt.Errorf("opened %d of %d sessions: %w", len(sessions), n, firstErr)
	}
	return sessions, nil
}

// closeAll closes sessions concurrently.
func closeAll(sessions []*wsSession) {
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(s.close)
	}
	wg.Wait()
}
