package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"iexbox/internal/client"
	"iexbox/internal/protocol"
)

// checkResult is the latency of an exercise check: from sending check to
// the checked event, in one session, with the check BEAM booted ahead as
// it is while a learner types (the pause between checks covers its boot).
type checkResult struct {
	Exercise string  `json:"exercise"`
	Tests    int     `json:"tests"`
	GapS     float64 `json:"gap_s"`
	First    float64 `json:"first_ms"` // the session's first check, -check-gap after ready
	IexBox   dist    `json:"iexbox"`
	// What the check BEAM kept booted costs while it waits, seen inside
	// the sandbox after the last check, and the container's memory
	// (docker stats) then.
	CheckBEAM *procCost `json:"check_beam,omitempty"`
	Iex       *procCost `json:"iex,omitempty"`
	Container string    `json:"container_memory,omitempty"`
}

// procCost is one program's resident memory and threads.
type procCost struct {
	RSSMiB  float64 `json:"rss_mib"`
	Threads int     `json:"threads"`
	Uid     int     `json:"uid"`
}

// benchExercise is a five-test exercise the server ships, and a solution
// that passes it.
const (
	benchExercise = "enum/double"
	benchSolution = "defmodule Double do\n  def double(list), do: Enum.map(list, &(&1 * 2))\nend\n"
)

// measureCheck checks a passing solution of a shipped five-test exercise
// -checks times in one warm session, -check-gap apart.
func (b *bench) measureCheck(ctx context.Context) error {
	r := &checkResult{Exercise: benchExercise, GapS: b.cfg.checkGap.Seconds()}
	b.report.Check = r
	s, err := dialHello(ctx, b.warm.ws, client.Hello{Cols: b.cfg.cols, Rows: b.cfg.rows, Exercise: benchExercise})
	if err != nil {
		return err
	}
	defer s.close()
	var samples []time.Duration
	for i := range b.cfg.checks + 1 {
		// A learner reads the exercise before the first check, and edits
		// between checks: the check BEAM boots meanwhile.
		if err := pause(ctx, b.cfg.checkGap); err != nil {
			return err
		}
		t0 := time.Now()
		if err := s.conn.Check(fmt.Sprint(i), benchSolution); err != nil {
			return err
		}
		e, err := s.checked(ctx)
		if err != nil {
			return fmt.Errorf("check %d: %w", i, err)
		}
		took := time.Since(t0)
		res := e.Checked
		if res == nil || res.Status != "pass" {
			return fmt.Errorf("check %d: %s", i, e.Raw)
		}
		r.Tests = len(res.Tests)
		if i == 0 {
			r.First = ms(took)
			continue
		}
		samples = append(samples, took)
	}
	r.IexBox = summarize(samples)
	if err := pause(ctx, b.cfg.checkGap); err == nil { // the next check BEAM boots
		b.checkCost(ctx, s.ready.Session, r)
	}
	b.logf("check: first %.0f ms; then p50 %.0f ms p95 %.0f ms over %d", r.First, r.IexBox.P50, r.IexBox.P95, r.IexBox.N)
	return nil
}

// checked waits for the answer to a check, at most 30 s.
func (s *wsSession) checked(ctx context.Context) (client.Event, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, 30*time.Second, errors.New("no answer within 30 s"))
	defer cancel()
	return s.conn.WaitEvent(ctx, protocol.TypeChecked)
}

// checkCost reads the BEAMs of the session's sandbox: the lower uid is
// the learner's iex, the higher the check BEAM waiting for its check.
func (b *bench) checkCost(ctx context.Context, session string, r *checkResult) {
	id, err := exec.CommandContext(ctx, "docker", "ps", "-q", "--filter", "label=iexbox.session="+session).Output()
	if err != nil || len(strings.TrimSpace(string(id))) == 0 {
		b.logf("check: no container for session %s: %v", session, err)
		return
	}
	c := strings.TrimSpace(string(id))
	script := `for p in /proc/[0-9]*; do n=$(sed -n 's/^Name:\t//p' $p/status 2>/dev/null); case "$n" in beam*) echo $(sed -n 's/^Uid:\t\([0-9]*\).*/\1/p' $p/status) $(sed -n 's/^Threads:\t//p' $p/status) $(sed -n 's/^VmRSS:[ \t]*\([0-9]*\).*/\1/p' $p/status);; esac; done`
	out, err := exec.CommandContext(ctx, "docker", "exec", c, "sh", "-c", script).Output()
	if err != nil {
		b.logf("check: read the sandbox's processes: %v", err)
		return
	}
	var procs []procCost
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var uid, threads, kb int
		if n, _ := fmt.Sscan(line, &uid, &threads, &kb); n == 3 {
			procs = append(procs, procCost{Uid: uid, Threads: threads, RSSMiB: float64(kb) / 1024})
		}
	}
	if len(procs) == 2 {
		if procs[0].Uid > procs[1].Uid {
			procs[0], procs[1] = procs[1], procs[0]
		}
		r.Iex, r.CheckBEAM = &procs[0], &procs[1]
	}
	if mem, err := exec.CommandContext(ctx, "docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", c).Output(); err == nil {
		r.Container = strings.TrimSpace(string(mem))
	}
	if r.CheckBEAM != nil {
		b.logf("check: check BEAM %.1f MiB, %d threads; iex %.1f MiB, %d threads; container %s",
			r.CheckBEAM.RSSMiB, r.CheckBEAM.Threads, r.Iex.RSSMiB, r.Iex.Threads, r.Container)
	} else {
		b.logf("check: BEAMs in the sandbox: %q", out)
	}
}
