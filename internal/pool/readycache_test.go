package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// countingEngine is a backend's Ready that takes took and counts its
// calls, and the most in flight at once.
type countingEngine struct {
	took             time.Duration
	err              error
	calls, in, maxIn atomic.Int32
}

func (e *countingEngine) ready(ctx context.Context) error {
	e.calls.Add(1)
	n := e.in.Add(1)
	defer e.in.Add(-1)
	for {
		m := e.maxIn.Load()
		if n <= m || e.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-time.After(e.took):
		return e.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestReadyCache: a hundred callers asking all the time for 3.5 s make at
// most one engine call a second, never two at once, and all get its
// answer; a caller that gives up does not cut the call short for the
// others.
func TestReadyCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		engine := &countingEngine{took: 200 * time.Millisecond, err: errors.New("no image")}
		c := &readyCache{check: engine.ready, now: time.Now}
		start := time.Now()
		var wrong atomic.Int32
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				for time.Since(start) < 3500*time.Millisecond {
					if err := c.ready(context.Background()); err != engine.err {
						wrong.Add(1)
					}
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		// Calls start at 0, 1.2, 2.4 (a second after each answer came)
		// and 3.6 s, past the end.
		if n := engine.calls.Load(); n != 3 {
			t.Errorf("%d engine calls in 3.5 s, want 3: at most one a second", n)
		}
		if n := engine.maxIn.Load(); n != 1 {
			t.Errorf("%d engine calls in flight at once, want 1", n)
		}
		if n := wrong.Load(); n != 0 {
			t.Errorf("%d answers were not the engine's", n)
		}

		// A caller that leaves while waiting for the call in flight gets
		// its own context's error; the call goes on and answers the
		// others. (The caller making the call waits for it, within its
		// deadline.)
		time.Sleep(engineFresh)
		engine.err = nil
		leaving, leave := context.WithCancel(context.Background())
		var left, stayed error
		wg.Go(func() { stayed = c.ready(context.Background()) }) // makes the call
		synctest.Wait()
		wg.Go(func() { left = c.ready(leaving) }) // waits for it
		synctest.Wait()
		leave()
		wg.Wait()
		if !errors.Is(left, context.Canceled) || stayed != nil {
			t.Errorf("the leaving caller got %v, the staying one %v; want context.Canceled and the engine's nil", left, stayed)
		}
		if n := engine.calls.Load(); n != 4 {
			t.Errorf("%d engine calls, want 4", n)
		}
	})
}
