package session

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"iexbox/internal/sandbox"
)

// fakeChecker answers every check after delay, or when its ctx ends.
type fakeChecker struct {
	delay  time.Duration
	calls  atomic.Int32
	closed atomic.Int32
}

func (f *fakeChecker) Check(ctx context.Context, code string) sandbox.CheckResult {
	f.calls.Add(1)
	select {
	case <-time.After(f.delay):
		return sandbox.CheckResult{Status: sandbox.CheckPass, Tests: []sandbox.TestResult{{Name: code, Status: sandbox.CheckPass}}}
	case <-ctx.Done():
		return sandbox.CheckResult{Status: sandbox.CheckError, Message: "timed out"}
	}
}

func (f *fakeChecker) Close() error { f.closed.Add(1); return nil }

func startChecking(t *testing.T, sb *fakeSandbox, c *fakeClient, ch sandbox.Checker, timeout time.Duration) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{done: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	go func() {
		defer close(r.done)
		r.end = New(ctx, sb, Limits{}, Options{Checker: ch, CheckTimeout: timeout}, log).Run(c, nil)
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func (c *fakeClient) check(id, code string) {
	c.send(received{m: Message{Kind: Check, CheckID: id, Code: code}})
}

func (c *fakeClient) checked() []Event {
	var out []Event
	for _, e := range c.of("event") {
		if e.ev.Kind == Checked {
			out = append(out, e.ev)
		}
	}
	return out
}

func TestCheckAnswersWithItsID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c, ch := newFakeSandbox(), newFakeClient(), &fakeChecker{delay: time.Second}
		r := startChecking(t, sb, c, ch, 10*time.Second)
		c.check("a", "first")
		c.check("b", "second") // while the first runs
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := c.checked()
		if len(got) != 2 {
			t.Fatalf("checked events %+v, want two", got)
		}
		if got[0].CheckID != "b" || got[0].Check.Status != sandbox.CheckError || got[0].Check.Message != "a check is already running" {
			t.Errorf("second check answered %+v %+v, want a busy error", got[0], got[0].Check)
		}
		if got[1].CheckID != "a" || got[1].Check.Status != sandbox.CheckPass || got[1].Check.Tests[0].Name != "first" {
			t.Errorf("first check answered %+v %+v", got[1], got[1].Check)
		}
		c.fail(errors.New("gone"))
		r.result()
		if ch.closed.Load() != 1 {
			t.Errorf("checker closed %d times, want once", ch.closed.Load())
		}
	})
}

func TestCheckBoundedInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c, ch := newFakeSandbox(), newFakeClient(), &fakeChecker{delay: time.Hour}
		startChecking(t, sb, c, ch, 3*time.Second)
		start := time.Now()
		c.check("", "x")
		// The checker bounds itself (its boot wait, then the code's time);
		// the session's bound backs it up.
		bound := sandbox.CheckBootWait + 3*time.Second + time.Second
		time.Sleep(bound + time.Second)
		synctest.Wait()
		got := c.of("event")
		if len(got) != 1 || got[0].ev.Check.Status != sandbox.CheckError || got[0].at.Sub(start) != bound {
			t.Fatalf("events %+v, want one error after %v", got, bound)
		}
	})
}

func TestCheckRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c, ch := newFakeSandbox(), newFakeClient(), &fakeChecker{}
		startChecking(t, sb, c, ch, time.Second)
		for range checkBurst + 1 {
			c.check("", "x")
			time.Sleep(time.Millisecond)
			synctest.Wait()
		}
		got := c.checked()
		if len(got) != checkBurst+1 || got[checkBurst].Check.Status != sandbox.CheckError || int(ch.calls.Load()) != checkBurst {
			t.Fatalf("answers %d, checker ran %d times; last %+v", len(got), ch.calls.Load(), got[len(got)-1].Check)
		}
	})
}

func TestCheckWithoutExerciseIsAProtocolError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		r := startRun(t, t.Context(), sb, c, Limits{})
		c.check("", "x")
		if end := r.result(); end.Reason != ReasonProtocol || !errors.Is(end.Err, ErrProtocol) {
			t.Fatalf("end %v, want a protocol violation", end)
		}
	})
}
