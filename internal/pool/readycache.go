package pool

import (
	"context"
	"sync"
	"time"
)

// engineFresh is how long a backend's answer to Ready is reused. /readyz
// answers any Host, and a load balancer (or anyone) may ask it many times
// a second; each answer would otherwise cost an engine call (a Docker ping
// and an image inspect, a Pod list through the client's rate limiter) that
// delays session starts. A second late is nothing to a load balancer.
const engineFresh = time.Second

// readyCache answers a backend's Ready from its last answer while that is
// younger than engineFresh, with at most one call to the backend in
// flight: callers that arrive meanwhile wait for its answer. It is safe
// for concurrent use.
type readyCache struct {
	check func(context.Context) error
	now   func() time.Time

	mu       sync.Mutex
	answered bool
	at       time.Time     // when the last answer came
	err      error         // the last answer
	inflight chan struct{} // closed when the call in flight ends; nil when none
}

// ready is the backend's answer, at most engineFresh old.
func (c *readyCache) ready(ctx context.Context) error {
	c.mu.Lock()
	if c.answered && c.now().Sub(c.at) < engineFresh {
		defer c.mu.Unlock()
		return c.err
	}
	if wait := c.inflight; wait != nil {
		c.mu.Unlock()
		select {
		case <-wait:
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := make(chan struct{})
	c.inflight = done
	c.mu.Unlock()

	callCtx, cancel := shared(ctx)
	err := c.check(callCtx)
	cancel()
	c.mu.Lock()
	c.answered, c.at, c.err, c.inflight = true, c.now(), err, nil
	c.mu.Unlock()
	close(done)
	return err
}

// shared is ctx's deadline without its cancellation: the call answers
// every caller waiting for it, so one that leaves must not cut it short
// (its "context canceled" would then be everyone's answer for a second).
func shared(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(context.WithoutCancel(ctx), d)
	}
	return context.WithCancel(context.WithoutCancel(ctx))
}
