package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestReapLeftovers: the reaper checks now and then while the engine
// answers, every second while it does not, and stops with its context.
func TestReapLeftovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var failing atomic.Bool
		reap := func(context.Context) (int, error) {
			calls.Add(1)
			if failing.Load() {
				return 0, errors.New("engine down")
			}
			return 1, nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			reapLeftovers(ctx, reap, slog.New(slog.NewTextHandler(t.Output(), nil)))
		}()

		time.Sleep(reapInterval - time.Millisecond)
		synctest.Wait()
		if n := calls.Load(); n != 0 {
			t.Fatalf("%d checks before the first interval, want 0", n)
		}
		failing.Store(true)
		time.Sleep(2 * time.Millisecond) // the first check: fails
		synctest.Wait()
		time.Sleep(3 * reapRetry) // retried every second
		synctest.Wait()
		if n := calls.Load(); n != 4 {
			t.Errorf("%d checks after failing for %v, want 4", n, 3*reapRetry)
		}
		failing.Store(false)
		time.Sleep(reapRetry) // it answers again
		synctest.Wait()
		before := calls.Load()
		time.Sleep(reapInterval / 2) // back to the slow pace
		synctest.Wait()
		if n := calls.Load(); n != before {
			t.Errorf("%d checks within half an interval after the engine came back, want none", n-before)
		}
		cancel()
		<-done
	})
}
