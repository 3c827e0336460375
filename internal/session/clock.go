package session

import (
	"context"
	"time"
)

// Drain announces that the server stops at a deadline.
type Drain interface {
	// Done is closed once the drain has begun.
	Done() <-chan struct{}
	// Deadline is when the server stops; valid once Done is closed.
	Deadline() time.Time
}

// Limits bound a session in time. A zero duration disables that limit.
type Limits struct {
	// Idle ends a session after this long without keyboard input. Output,
	// resizes and acks do not count: only the person typing keeps it alive.
	Idle time.Duration
	// Lifetime ends every session this long after it started.
	Lifetime time.Duration
	// InputRate caps keyboard input in bytes per second, with bursts of
	// InputBurst: a pasted megabyte goes through, a firehose is slowed by
	// not reading the client (TCP pushes back), never buffered. Zero means
	// no cap.
	InputRate  int
	InputBurst int
	// Drain, when it begins, warns the session that the server stops
	// (reason "shutdown"); the server then ends it through the context.
	Drain Drain
}

// warnLead is how long before a limit fires that the client is warned: 30 s,
// or half the limit when the limit is under a minute.
func warnLead(limit time.Duration) time.Duration {
	if limit < time.Minute {
		return limit / 2
	}
	return 30 * time.Second
}

// warning is a pending warning for the writer to send.
type warning struct {
	reason      Reason
	secondsLeft int
}

// clock enforces Limits. touch records input; run delivers warnings and
// returns the reason once a limit is reached.
type clock struct {
	limits  Limits
	start   time.Time // the lifetime counts from here
	touches chan struct{}
}

func newClock(l Limits) *clock {
	return &clock{limits: l, start: time.Now(), touches: make(chan struct{}, 1)}
}

// lifetimeLeft is how long the session may still live, or 0 without a
// lifetime limit.
func (c *clock) lifetimeLeft() time.Duration {
	if c.limits.Lifetime <= 0 {
		return 0
	}
	return max(c.limits.Lifetime-time.Since(c.start), 0)
}

// touch records keyboard input. It never blocks.
func (c *clock) touch() {
	select {
	case c.touches <- struct{}{}:
	default:
	}
}

// run waits for a limit and returns its reason (ReasonIdleTimeout or
// ReasonMaxLifetime), or "" when ctx ends first. Warnings go to warn; run does
// not block on a writer that has stopped (ctx ends with it).
func (c *clock) run(ctx context.Context, warn chan<- warning) Reason {
	start := c.start
	lastInput := time.Now()
	var idleWarned, lifeWarned bool
	var draining <-chan struct{}
	if c.limits.Drain != nil {
		draining = c.limits.Drain.Done()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := time.Now()
		next := time.Duration(-1)
		consider := func(at time.Time) {
			if d := at.Sub(now); next < 0 || d < next {
				next = max(d, 0)
			}
		}
		if l := c.limits.Lifetime; l > 0 {
			end := start.Add(l)
			if !now.Before(end) {
				return ReasonMaxLifetime
			}
			warnAt := end.Add(-warnLead(l))
			if !lifeWarned && !now.Before(warnAt) {
				lifeWarned = true
				if !c.send(ctx, warn, warning{ReasonMaxLifetime, secondsUntil(end, now)}) {
					return ""
				}
				continue
			}
			if !lifeWarned {
				consider(warnAt)
			}
			consider(end)
		}
		if l := c.limits.Idle; l > 0 {
			end := lastInput.Add(l)
			if !now.Before(end) {
				return ReasonIdleTimeout
			}
			warnAt := end.Add(-warnLead(l))
			if !idleWarned && !now.Before(warnAt) {
				idleWarned = true
				if !c.send(ctx, warn, warning{ReasonIdleTimeout, secondsUntil(end, now)}) {
					return ""
				}
				continue
			}
			if !idleWarned {
				consider(warnAt)
			}
			consider(end)
		}
		var fire <-chan time.Time
		if next >= 0 {
			timer.Reset(next)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return ""
		case <-c.touches:
			lastInput = time.Now()
			idleWarned = false
		case <-draining:
			draining = nil // warn once
			if !c.send(ctx, warn, warning{ReasonShutdown, secondsUntil(c.limits.Drain.Deadline(), time.Now())}) {
				return ""
			}
		case <-fire:
		}
		timer.Stop()
	}
}

func (c *clock) send(ctx context.Context, warn chan<- warning, w warning) bool {
	select {
	case warn <- w:
		return true
	case <-ctx.Done():
		return false
	}
}

// secondsUntil rounds up so a warning never understates the time left.
func secondsUntil(t, now time.Time) int {
	d := t.Sub(now)
	return int((d + time.Second - 1) / time.Second)
}
