package session

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestWarnLead(t *testing.T) {
	tests := []struct {
		limit, want time.Duration
	}{
		{5 * time.Minute, 30 * time.Second},
		{time.Minute, 30 * time.Second},
		{59 * time.Second, 29500 * time.Millisecond},
		{40 * time.Second, 20 * time.Second},
		{time.Second, 500 * time.Millisecond},
		{time.Hour, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.limit.String(), func(t *testing.T) {
			if got := warnLead(tt.limit); got != tt.want {
				t.Errorf("warnLead(%v) = %v, want %v", tt.limit, got, tt.want)
			}
		})
	}
}

func TestSecondsUntilRoundsUp(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		d    time.Duration
		want int
	}{
		{30 * time.Second, 30},
		{29*time.Second + time.Millisecond, 30},
		{22500 * time.Millisecond, 23},
		{time.Nanosecond, 1},
		{0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := secondsUntil(now.Add(tt.d), now); got != tt.want {
				t.Errorf("secondsUntil(+%v) = %d, want %d", tt.d, got, tt.want)
			}
		})
	}
}

// TestClockBothLimitsAtOnce checks equal limits warn for both and end as
// max_lifetime, which no amount of typing could have avoided.
func TestClockBothLimitsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClock(Limits{Idle: time.Minute, Lifetime: time.Minute})
		warns := make(chan warning)
		start := time.Now()
		got := make(chan Reason, 1)
		go func() { got <- c.run(t.Context(), warns) }()

		var seen []warning
		for range 2 {
			w := <-warns
			if at := time.Since(start); at != 30*time.Second {
				t.Errorf("%s warning after %v, want 30s", w.reason, at)
			}
			seen = append(seen, w)
		}
		if r := <-got; r != ReasonMaxLifetime {
			t.Errorf("clock ended with %q, want max_lifetime", r)
		}
		if time.Since(start) != time.Minute {
			t.Errorf("ended after %v, want 1m", time.Since(start))
		}
		want := []warning{{ReasonMaxLifetime, 30}, {ReasonIdleTimeout, 30}}
		if len(seen) != 2 || seen[0] != want[0] || seen[1] != want[1] {
			t.Errorf("warnings %+v, want %+v", seen, want)
		}
	})
}

// TestClockStopsWithContext checks run returns "" when its session ends, even
// while a warning waits for a writer that has gone.
func TestClockStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClock(Limits{Idle: time.Minute})
		ctx, cancel := contextWithCancel(t)
		got := make(chan Reason, 1)
		go func() { got <- c.run(ctx, make(chan warning)) }() // nobody takes the warning
		time.Sleep(45 * time.Second)
		cancel()
		if r := <-got; r != "" {
			t.Errorf("run = %q after its context ended, want \"\"", r)
		}
	})
}

// TestClockTouchNeverBlocks checks a burst of keystrokes never waits on the
// clock.
func TestClockTouchNeverBlocks(t *testing.T) {
	c := newClock(Limits{Idle: time.Minute})
	for range 1000 {
		c.touch() // nobody runs the clock: must not block
	}
}

func TestClockLifetimeLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClock(Limits{Lifetime: time.Minute})
		time.Sleep(20 * time.Second)
		if got := c.lifetimeLeft(); got != 40*time.Second {
			t.Errorf("lifetime left after 20 s of a minute = %v, want 40s", got)
		}
		time.Sleep(time.Minute)
		if got := c.lifetimeLeft(); got != 0 {
			t.Errorf("lifetime left past the limit = %v, want 0", got)
		}
		if got := newClock(Limits{}).lifetimeLeft(); got != 0 {
			t.Errorf("lifetime left without a limit = %v, want 0", got)
		}
	})
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx, cancel
}
