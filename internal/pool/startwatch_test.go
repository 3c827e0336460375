package pool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"iexbox/internal/sandbox"
)

// flakyRuntime fails its starts while err is set.
type flakyRuntime struct{ err error }

func (r *flakyRuntime) Start(context.Context, sandbox.Spec) (sandbox.Sandbox, error) {
	return nil, r.err
}
func (r *flakyRuntime) Name() string                { return "flaky" }
func (r *flakyRuntime) Footprint() int64            { return 0 }
func (r *flakyRuntime) Capacity() int64             { return 0 }
func (r *flakyRuntime) Ready(context.Context) error { return nil }
func (r *flakyRuntime) Warnings() []string          { return nil }
func (r *flakyRuntime) Prompt() []byte              { return nil }
func (r *flakyRuntime) Close() error                { return nil }

func TestStartWatch(t *testing.T) {
	rt := &flakyRuntime{err: errors.New("ulimit above nr_open")}
	w := WatchStarts(rt)
	now := time.Unix(1000, 0)
	w.now = func() time.Time { return now }
	ctx := context.Background()

	for i := range failingStarts {
		if err := w.check(); err != nil {
			t.Fatalf("after %d failed starts: not ready (%v), want ready until %d", i, err, failingStarts)
		}
		w.Start(ctx, sandbox.Spec{})
	}
	err := w.check()
	if err == nil || !strings.Contains(err.Error(), "ulimit above nr_open") {
		t.Fatalf("after %d failed starts: check = %v, want the last error", failingStarts, err)
	}

	now = now.Add(failureMemory + time.Second)
	if err := w.check(); err != nil {
		t.Errorf("a minute after the last failure: %v, want ready (no one has tried since)", err)
	}

	for range failingStarts {
		w.Start(ctx, sandbox.Spec{})
	}
	before := w.check()
	if before == nil || !strings.Contains(before.Error(), fmt.Sprintf("last %d ", 2*failingStarts)) {
		t.Fatalf("after %d failures in a row: %v", 2*failingStarts, before)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	rt.err = context.Canceled
	w.Start(cancelled, sandbox.Spec{}) // abandoned by its caller: proves nothing
	if after := w.check(); after == nil || after.Error() != before.Error() {
		t.Errorf("after an abandoned start: %v, want it unchanged: %v", after, before)
	}
	rt.err = nil
	w.Start(ctx, sandbox.Spec{})
	if err := w.check(); err != nil {
		t.Errorf("after a start succeeded: %v, want ready", err)
	}
}
