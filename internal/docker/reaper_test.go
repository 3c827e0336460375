package docker

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
// answers, at once when a container was left behind, every second while
// the engine fails, and stops with its context.
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
		leftovers := make(chan struct{}, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			reapLeftovers(ctx, reap, leftovers, slog.New(slog.NewTextHandler(t.Output(), nil)))
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

		// A container left behind while the engine is away: at once, then
		// every second until the engine answers.
		failing.Store(true)
		before = calls.Load()
		leftovers <- struct{}{}
		synctest.Wait()
		if n := calls.Load(); n != before+1 {
			t.Errorf("%d checks right after a container was left behind, want 1", n-before)
		}
		time.Sleep(2 * reapRetry)
		synctest.Wait()
		if n := calls.Load(); n != before+3 {
			t.Errorf("%d checks %v after a container was left behind with the engine away, want 3", n-before, 2*reapRetry)
		}
		failing.Store(false)
		time.Sleep(reapRetry)
		synctest.Wait()
		cancel()
		<-done
	})
}
