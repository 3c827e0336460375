package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"iexbox/internal/sandbox"
)

func TestRunLimitFiresAfterWarning(t *testing.T) {
	tests := []struct {
		name        string
		limits      Limits
		reason      Reason
		limit       time.Duration
		warnAfter   time.Duration
		secondsLeft int
	}{
		{"idle 5m", Limits{Idle: 5 * time.Minute}, ReasonIdleTimeout, 5 * time.Minute, 4*time.Minute + 30*time.Second, 30},
		{"idle 1m", Limits{Idle: time.Minute}, ReasonIdleTimeout, time.Minute, 30 * time.Second, 30},
		{"idle 45s warns at half", Limits{Idle: 45 * time.Second}, ReasonIdleTimeout, 45 * time.Second, 22500 * time.Millisecond, 23},
		{"idle 10s warns at half", Limits{Idle: 10 * time.Second}, ReasonIdleTimeout, 10 * time.Second, 5 * time.Second, 5},
		{"lifetime 30m", Limits{Lifetime: 30 * time.Minute}, ReasonMaxLifetime, 30 * time.Minute, 29*time.Minute + 30*time.Second, 30},
		{"lifetime 59s warns at half", Limits{Lifetime: 59 * time.Second}, ReasonMaxLifetime, 59 * time.Second, 29500 * time.Millisecond, 30},
		{"lifetime under idle", Limits{Idle: 10 * time.Minute, Lifetime: 2 * time.Minute}, ReasonMaxLifetime, 2 * time.Minute, 90 * time.Second, 30},
		{"idle under lifetime", Limits{Idle: 2 * time.Minute, Lifetime: time.Hour}, ReasonIdleTimeout, 2 * time.Minute, 90 * time.Second, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sb, c := newFakeSandbox(), newFakeClient()
				start := time.Now()
				end := startRun(t, t.Context(), sb, c, tt.limits).result()

				if end.Reason != tt.reason || end.Code != nil || end.Err != nil {
					t.Errorf("end = %v, want %s without code or error", end, tt.reason)
				}
				ev := c.all()
				if len(ev) != 2 || ev[0].kind != "warning" || ev[1].kind != "end" {
					t.Fatalf("events = %+v, want one warning then the end", ev)
				}
				w := ev[0]
				if w.reason != tt.reason || w.seconds != tt.secondsLeft {
					t.Errorf("warning %s with %d s left, want %s with %d s left", w.reason, w.seconds, tt.reason, tt.secondsLeft)
				}
				if got := w.at.Sub(start); got != tt.warnAfter {
					t.Errorf("warning after %v, want %v", got, tt.warnAfter)
				}
				if got := ev[1].at.Sub(start); got != tt.limit {
					t.Errorf("ended after %v, want %v", got, tt.limit)
				}
				if ev[1].end.Reason != tt.reason {
					t.Errorf("client told %v, want %s", ev[1].end, tt.reason)
				}
				checkTornDown(t, sb, c)
			})
		})
	}
}

func TestRunInputResetsIdleClock(t *testing.T) {
	tests := []struct {
		name     string
		typeAt   []time.Duration // keyboard input, from the start
		warnings []time.Duration
		endAt    time.Duration
	}{
		{"no input", nil, []time.Duration{90 * time.Second}, 120 * time.Second},
		{"input before the warning", []time.Duration{60 * time.Second}, []time.Duration{150 * time.Second}, 180 * time.Second},
		{"input after the warning warns again", []time.Duration{100 * time.Second}, []time.Duration{90 * time.Second, 190 * time.Second}, 220 * time.Second},
		{"steady typing", []time.Duration{30 * time.Second, 60 * time.Second, 89 * time.Second}, []time.Duration{179 * time.Second}, 209 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sb, c := newFakeSandbox(), newFakeClient()
				start := time.Now()
				r := startRun(t, t.Context(), sb, c, Limits{Idle: 2 * time.Minute})
				for i, at := range tt.typeAt {
					time.Sleep(time.Until(start.Add(at)))
					c.input(fmt.Sprint(i))
				}
				end := r.result()

				if end.Reason != ReasonIdleTimeout {
					t.Errorf("end = %v, want idle_timeout", end)
				}
				var warned []time.Duration
				for _, w := range c.of("warning") {
					if w.reason != ReasonIdleTimeout || w.seconds != 30 {
						t.Errorf("warning %s %d s, want idle_timeout 30 s", w.reason, w.seconds)
					}
					warned = append(warned, w.at.Sub(start))
				}
				if fmt.Sprint(warned) != fmt.Sprint(tt.warnings) {
					t.Errorf("warned at %v, want %v", warned, tt.warnings)
				}
				ends := c.of("end")
				if len(ends) != 1 || ends[0].at.Sub(start) != tt.endAt {
					t.Errorf("ends %+v, want one at %v", ends, tt.endAt)
				}
				want := ""
				for i := range tt.typeAt {
					want += fmt.Sprint(i)
				}
				if got := sb.gotInput(); got != want {
					t.Errorf("sandbox got input %q, want %q", got, want)
				}
				checkTornDown(t, sb, c)
			})
		})
	}
}

// TestRunOnlyInputCountsAsActivity checks output, acks and resizes leave the
// idle clock alone: only a person typing keeps a session alive.
func TestRunOnlyInputCountsAsActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		start := time.Now()
		r := startRun(t, t.Context(), sb, c, Limits{Idle: 2 * time.Minute})
		for i := range 11 {
			time.Sleep(10 * time.Second)
			sb.emit(t, "tick\r\n")
			c.ack(6)
			c.resize(80+i, 24)
		}
		end := r.result()

		if end.Reason != ReasonIdleTimeout {
			t.Fatalf("end = %v, want idle_timeout", end)
		}
		if got := c.of("end")[0].at.Sub(start); got != 2*time.Minute {
			t.Errorf("ended after %v, want 2m0s: output, acks or resizes reset the idle clock", got)
		}
		// The writer may be gathering output for batchDelay when the
		// warning is due.
		if ws := c.of("warning"); len(ws) != 1 || ws[0].at.Sub(start) < 90*time.Second || ws[0].at.Sub(start) > 90*time.Second+batchDelay {
			t.Errorf("warnings %+v, want one at 1m30s (+ at most %v)", ws, batchDelay)
		}
		if got, want := c.output(), strings.Repeat("tick\r\n", 11); got != want {
			t.Errorf("output %q, want %q", got, want)
		}
		checkTornDown(t, sb, c)
	})
}

func TestRunLifetimeFiresDespiteInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		start := time.Now()
		r := startRun(t, t.Context(), sb, c, Limits{Idle: time.Minute, Lifetime: 3 * time.Minute})
		for !r.finished() {
			time.Sleep(20 * time.Second)
			c.input("x")
		}
		end := r.result()

		if end.Reason != ReasonMaxLifetime {
			t.Fatalf("end = %v, want max_lifetime", end)
		}
		if got := c.of("end")[0].at.Sub(start); got != 3*time.Minute {
			t.Errorf("ended after %v, want 3m0s", got)
		}
		ws := c.of("warning")
		if len(ws) != 1 || ws[0].reason != ReasonMaxLifetime || ws[0].seconds != 30 || ws[0].at.Sub(start) != 150*time.Second {
			t.Errorf("warnings %+v, want only max_lifetime with 30 s left at 2m30s", ws)
		}
		checkTornDown(t, sb, c)
	})
}

func TestRunWithoutLimitsRunsUntilTheClientLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		r := startRun(t, t.Context(), sb, c, Limits{})
		time.Sleep(24 * time.Hour)
		if r.finished() {
			t.Fatalf("session without limits ended by itself: %v", r.end)
		}
		c.fail(io.EOF)
		if end := r.result(); end.Reason != ReasonClosed {
			t.Errorf("end = %v, want closed", end)
		}
		if ev := c.all(); len(ev) != 0 {
			t.Errorf("client was sent %+v, want nothing", ev)
		}
		checkTornDown(t, sb, c)
	})
}

func TestRunSandboxExit(t *testing.T) {
	waitErr := errors.New("wait broke")
	tests := []struct {
		name    string
		code    *int
		oom     bool
		waitErr error
		want    End
	}{
		{"exit 0", intp(0), false, nil, End{Reason: ReasonExited, Code: intp(0)}},
		{"exit 3", intp(3), false, nil, End{Reason: ReasonExited, Code: intp(3)}},
		{"killed, code unknown", nil, false, nil, End{Reason: ReasonExited}},
		{"OOM killed", intp(137), true, nil, End{Reason: ReasonOOM, Code: intp(137)}},
		{"wait fails", nil, false, waitErr, End{Reason: ReasonError, Err: waitErr}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sb, c := newFakeSandbox(), newFakeClient()
				r := startRun(t, t.Context(), sb, c, Limits{Idle: time.Hour, Lifetime: time.Hour})
				sb.emit(t, "bye\r\n")
				sb.exit(tt.code, tt.oom, tt.waitErr)
				end := r.result()

				if !sameEnd(end, tt.want) {
					t.Errorf("end = %v, want %v", end, tt.want)
				}
				ev := c.all()
				if len(ev) != 2 || ev[0].kind != "output" || ev[0].output != "bye\r\n" || ev[1].kind != "end" {
					t.Fatalf("events %+v, want the output then the end", ev)
				}
				if !sameEnd(ev[1].end, tt.want) {
					t.Errorf("client told %v, want %v", ev[1].end, tt.want)
				}
				checkTornDown(t, sb, c)
			})
		})
	}
}

func sameEnd(a, b End) bool {
	if a.Reason != b.Reason || (a.Code == nil) != (b.Code == nil) || (a.Code != nil && *a.Code != *b.Code) {
		return false
	}
	if b.Err == nil {
		return a.Err == nil
	}
	return errors.Is(a.Err, b.Err)
}

func TestRunClientGone(t *testing.T) {
	tests := []struct {
		name  string
		leave func(sb *fakeSandbox, c *fakeClient)
	}{
		{"receive fails", func(_ *fakeSandbox, c *fakeClient) { c.fail(io.EOF) }},
		{"receive fails after input", func(_ *fakeSandbox, c *fakeClient) { c.input("1+1\r"); c.fail(errors.New("connection reset")) }},
		{"send fails", func(sb *fakeSandbox, c *fakeClient) {
			c.sendErr = errors.New("broken pipe")
			go sb.outW.Write([]byte("output nobody reads"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sb, c := newFakeSandbox(), newFakeClient()
				r := startRun(t, t.Context(), sb, c, Limits{Idle: time.Minute})
				synctest.Wait()
				tt.leave(sb, c)
				end := r.result()

				if end.Reason != ReasonClosed || end.Code != nil {
					t.Errorf("end = %v, want closed", end)
				}
				if ends := c.of("end"); len(ends) != 0 {
					t.Errorf("End called on a client that left: %+v", ends)
				}
				checkTornDown(t, sb, c)
			})
		})
	}
}

func TestRunProtocolError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		r := startRun(t, t.Context(), sb, c, Limits{})
		c.input("ok")
		violation := fmt.Errorf("%w: unknown message type \"bye\"", ErrProtocol)
		c.fail(violation)
		end := r.result()

		if end.Reason != ReasonProtocol || !errors.Is(end.Err, ErrProtocol) {
			t.Errorf("end = %v, want protocol wrapping ErrProtocol", end)
		}
		ends := c.of("end")
		if len(ends) != 1 || ends[0].end.Reason != ReasonProtocol || !errors.Is(ends[0].end.Err, violation) {
			t.Errorf("client told %+v, want one protocol end carrying the violation", ends)
		}
		checkTornDown(t, sb, c)
	})
}

func TestRunShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(t.Context())
		sb, c := newFakeSandbox(), newFakeClient()
		r := startRun(t, ctx, sb, c, Limits{Idle: time.Hour})
		synctest.Wait()

		cancel(ErrShuttingDown) // as the admission's Shutdown does
		end := r.result()
		if end.Reason != ReasonShutdown || end.Code != nil {
			t.Errorf("end = %v, want shutdown", end)
		}
		if ends := c.of("end"); len(ends) != 1 || ends[0].end.Reason != ReasonShutdown {
			t.Errorf("client told %+v, want shutdown", ends)
		}
		checkTornDown(t, sb, c)
	})
}

func TestRunOtherCancellationIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		sb, c := newFakeSandbox(), newFakeClient()
		r := startRun(t, ctx, sb, c, Limits{})
		synctest.Wait()
		cancel()
		end := r.result()
		if end.Reason != ReasonError || !errors.Is(end.Err, context.Canceled) {
			t.Errorf("end = %v, want error carrying context.Canceled", end)
		}
		if ends := c.of("end"); len(ends) != 1 || ends[0].end.Reason != ReasonError {
			t.Errorf("client told %+v, want error", ends)
		}
		checkTornDown(t, sb, c)
	})
}

func TestRunDeliversOutputInOrderBeforeTheEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		r := startRun(t, t.Context(), sb, c, Limits{})
		var want strings.Builder
		for i := range 300 {
			chunk := fmt.Sprintf("line %03d %s\r\n", i, strings.Repeat("=", i%97))
			want.WriteString(chunk)
			sb.emit(t, chunk)
		}
		sb.emit(t, strings.Repeat("big", 30000)) // more than one read
		want.WriteString(strings.Repeat("big", 30000))
		sb.exit(intp(0), false, nil)
		end := r.result()

		if end.Reason != ReasonExited {
			t.Fatalf("end = %v, want exited", end)
		}
		if got := c.output(); got != want.String() {
			t.Errorf("client got %d bytes of output, want %d, in order", len(got), want.Len())
		}
		ev := c.all()
		for i, e := range ev[:len(ev)-1] {
			if e.kind != "output" {
				t.Fatalf("event %d is %s, want output before the end", i, e.kind)
			}
		}
		if ev[len(ev)-1].kind != "end" {
			t.Errorf("last event %+v, want the end", ev[len(ev)-1])
		}
		checkTornDown(t, sb, c)
	})
}

// TestRunEchoesKeepTheirOrder types while output flows, so that echoes
// sent by the pump itself interleave with chunks queued for the writer:
// the client must still see every byte in order.
func TestRunEchoesKeepTheirOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		c.sendGate = make(chan struct{}) // a slow connection: the writer falls behind
		r := startRun(t, t.Context(), sb, c, Limits{})
		gateDone := make(chan struct{})
		go func() { // lets one send through every microsecond
			defer close(gateDone)
			for {
				select {
				case c.sendGate <- struct{}{}:
				case <-c.closed:
					return
				}
				time.Sleep(time.Microsecond)
			}
		}()
		var want strings.Builder
		for i := range 400 {
			if i%7 == 0 {
				c.input("k") // within the echo window from here on
				synctest.Wait()
			}
			chunk := fmt.Sprintf("out %03d\r\n", i)
			want.WriteString(chunk)
			sb.emit(t, chunk)
		}
		sb.exit(intp(0), false, nil)
		r.result()
		<-gateDone
		if got := c.output(); got != want.String() {
			t.Errorf("client got %d bytes of output, want %d, in order", len(got), want.Len())
		}
		checkTornDown(t, sb, c)
	})
}

func TestRunInputReachesSandboxInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		r := startRun(t, t.Context(), sb, c, Limits{})
		var want strings.Builder
		for i := range 50 {
			s := fmt.Sprintf("IO.puts(%d)\r", i)
			want.WriteString(s)
			c.input(s)
		}
		synctest.Wait()
		if got := sb.gotInput(); got != want.String() {
			t.Errorf("sandbox got %q, want %q", got, want.String())
		}
		c.fail(io.EOF)
		r.result()
		checkTornDown(t, sb, c)
	})
}

// TestRunFlowControl checks the pump stops reading a sandbox whose client
// does not ack, and resumes once an ack brings the backlog under LowWater.
func TestRunFlowControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		r := startRun(t, t.Context(), sb, c, Limits{})
		chunk := make([]byte, 32<<10)
		go func() { // a program that prints forever
			for {
				if _, err := sb.outW.Write(chunk); err != nil {
					return
				}
			}
		}()

		synctest.Wait()
		sent := c.outputLen()
		if sent <= HighWater || sent > HighWater+outputChunk {
			t.Fatalf("pump delivered %d bytes without acks, want just over HighWater (%d)", sent, HighWater)
		}
		time.Sleep(time.Hour)
		if got := c.outputLen(); got != sent {
			t.Fatalf("pump kept reading while paused: %d bytes, then %d", sent, got)
		}

		c.ack(int64(sent - LowWater)) // exactly LowWater unacked: still paused
		synctest.Wait()
		if got := c.outputLen(); got != sent {
			t.Fatalf("pump resumed with LowWater bytes unacked: %d bytes, then %d", sent, got)
		}

		c.ack(1) // under LowWater: resume until over HighWater again
		synctest.Wait()
		acked := sent - LowWater + 1
		now := c.outputLen()
		if unacked := now - acked; unacked <= HighWater || unacked > HighWater+outputChunk {
			t.Errorf("after resuming, %d bytes unacked, want just over HighWater", unacked)
		}

		c.ack(int64(now)) // everything: the stream flows again
		synctest.Wait()
		if c.outputLen() <= now {
			t.Errorf("pump did not resume after a full ack")
		}
		c.fail(io.EOF)
		if end := r.result(); end.Reason != ReasonClosed {
			t.Errorf("end = %v, want closed", end)
		}
		checkTornDown(t, sb, c)
	})
}

func TestRunResizeLatestWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		gate := make(chan struct{})
		sb.resizeGate = gate
		r := startRun(t, t.Context(), sb, c, Limits{})

		c.resize(10, 10)
		synctest.Wait() // the first resize is now stuck in a slow runtime
		for i := 11; i <= 20; i++ {
			c.resize(i, i)
		}
		c.input("typing is not held up by a slow resize")
		synctest.Wait()
		if got := sb.gotInput(); got == "" {
			t.Errorf("input waited for a resize")
		}
		close(gate)
		time.Sleep(resizeEvery) // the next resize waits its turn
		synctest.Wait()
		if got, want := fmt.Sprint(sb.gotSizes()), "[[10 10] [20 20]]"; got != want {
			t.Errorf("resizes applied %s, want %s: the stale ones must be dropped", got, want)
		}

		c.resize(30, 40)
		time.Sleep(resizeEvery)
		synctest.Wait()
		if got, want := fmt.Sprint(sb.gotSizes()), "[[10 10] [20 20] [30 40]]"; got != want {
			t.Errorf("resizes applied %s, want %s", got, want)
		}
		c.fail(io.EOF)
		r.result()
		checkTornDown(t, sb, c)
	})
}

// TestRunStalledClientDoesNotHoldTheEnd checks a client that stopped reading
// is dropped closeGrace after the session ends, and still told why.
func TestRunStalledClientDoesNotHoldTheEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(t.Context())
		sb, c := newFakeSandbox(), newFakeClient()
		c.sendGate = make(chan struct{}) // never opens
		r := startRun(t, ctx, sb, c, Limits{})
		go sb.outW.Write([]byte("stuck in the writer"))
		synctest.Wait()

		start := time.Now()
		cancel(ErrShuttingDown)
		end := r.result()
		if end.Reason != ReasonShutdown {
			t.Errorf("end = %v, want shutdown", end)
		}
		if took := time.Since(start); took != closeGrace {
			t.Errorf("Run took %v to end with a stalled client, want closeGrace (%v)", took, closeGrace)
		}
		checkTornDown(t, sb, c)
	})
}

// TestRunSandboxWriteFailure checks input to a dead sandbox ends the session
// as the sandbox's exit.
func TestRunSandboxWriteFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		sb.status = sandbox.ExitStatus{Code: intp(1)}
		sb.writeErr = io.ErrClosedPipe
		r := startRun(t, t.Context(), sb, c, Limits{})
		c.input("x")
		end := r.result()
		if end.Reason != ReasonExited || end.Code == nil || *end.Code != 1 {
			t.Errorf("end = %v, want exited (code 1)", end)
		}
		checkTornDown(t, sb, c)
	})
}

// A burst of resizes, one a millisecond for 5 s, is applied at most every
// resizeEvery, and the last size wins.
func TestRunResizeBurstPaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		r := startRun(t, t.Context(), sb, c, Limits{})
		const burst = 5000
		for i := range burst {
			c.resize(10+i%100, 10)
			time.Sleep(time.Millisecond)
		}
		c.resize(123, 45)
		time.Sleep(resizeEvery)
		synctest.Wait()
		sizes := sb.gotSizes()
		if max := burst*time.Millisecond/resizeEvery + 2; len(sizes) > int(max) {
			t.Errorf("%d resizes applied for a burst of %d over %v, want at most %d", len(sizes), burst, burst*time.Millisecond, max)
		}
		if got := fmt.Sprint(sizes[len(sizes)-1]); got != "[123 45]" {
			t.Errorf("last size applied %s, want [123 45]", got)
		}
		c.fail(io.EOF)
		r.result()
		checkTornDown(t, sb, c)
	})
}
