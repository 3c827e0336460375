package session

import (
	"context"
	"sync/atomic"
	"time"

	"iexbox/internal/sandbox"

	"golang.org/x/time/rate"
)

// Check limits per session: one at a time, and a few a minute.
const (
	checksPerMinute = 12
	checkBurst      = 4
	// defaultCheckTimeout bounds a check when Options set none.
	defaultCheckTimeout = 10 * time.Second
)

// checks is a session's check state: whether one runs, and its rate.
type checks struct {
	running atomic.Bool
	limit   *rate.Limiter
}

func newChecks() checks {
	return checks{limit: rate.NewLimiter(rate.Every(time.Minute/checksPerMinute), checkBurst)}
}

// check runs one check in a goroutine of the session and answers the
// presenter's connection attached when it ends. A check while one runs, or
// beyond the rate, is answered at once with an error.
func (s *Session) check(id, code string) {
	refuse := func(msg string) {
		s.answerCheck(id, sandbox.CheckResult{Status: sandbox.CheckError, Message: msg, Tests: []sandbox.TestResult{}})
	}
	if !s.checks.running.CompareAndSwap(false, true) {
		refuse("a check is already running")
		return
	}
	if !s.checks.limit.Allow() {
		s.checks.running.Store(false)
		refuse("too many checks: wait a few seconds")
		return
	}
	timeout := s.opts.CheckTimeout
	if timeout <= 0 {
		timeout = defaultCheckTimeout
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// The checker bounds itself (its runner's boot, then the code's
		// time); this bound only backs it up.
		ctx, cancel := context.WithTimeout(s.ctx, sandbox.CheckBootWait+timeout+time.Second)
		began := time.Now()
		res := s.opts.Checker.Check(ctx, code)
		cancel()
		s.checks.running.Store(false)
		s.clk.touch() // the result counts as activity, like typing
		s.log.Info("checked", "status", res.Status, "tests", len(res.Tests), "took", time.Since(began).Round(time.Millisecond))
		s.markCheck(res)
		if s.opts.Checked != nil {
			s.opts.Checked(res)
		}
		s.answerCheck(id, res)
	}()
}

// answerCheck queues a check's result for the presenter's connection; it
// is lost when none is attached (the page asks again after a resume).
func (s *Session) answerCheck(id string, res sandbox.CheckResult) {
	s.mu.Lock()
	a := s.cur
	s.mu.Unlock()
	if a == nil {
		return
	}
	select {
	case a.events <- Event{Kind: Checked, CheckID: id, Check: &res}:
	case <-a.ctx.Done():
	}
}
