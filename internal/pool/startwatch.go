package pool

import (
	"context"
	"fmt"
	"sync"
	"time"

	"iexbox/internal/sandbox"
)

// Readiness from recent starts: some configurations (limits above what the
// host allows, say) pass every check and fail only when a sandbox starts.
// After failingStarts starts in a row have failed, the last within
// failureMemory, /readyz says so until a start succeeds.
const (
	failingStarts = 3
	failureMemory = time.Minute
)

// StartWatch is a Backend that remembers whether sandboxes have been
// failing to start, and reports it in Ready. It is safe for concurrent use.
type StartWatch struct {
	sandbox.Backend
	now    func() time.Time
	engine *readyCache // the backend's own Ready, at most one call a second

	mu       sync.Mutex
	failures int // in a row
	lastAt   time.Time
	lastErr  error
}

// WatchStarts returns b watched.
func WatchStarts(b sandbox.Backend) *StartWatch {
	return &StartWatch{Backend: b, now: time.Now, engine: &readyCache{check: b.Ready, now: time.Now}}
}

// Start starts a sandbox and records the outcome. A start abandoned by
// its caller (a client that left) says nothing about the runtime.
func (w *StartWatch) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	sb, err := w.Backend.Start(ctx, spec)
	if err != nil && ctx.Err() != nil {
		return sb, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.failures, w.lastErr = 0, nil
	} else {
		w.failures++
		w.lastAt, w.lastErr = w.now(), err
	}
	return sb, err
}

// Ready is the backend's own readiness, then recent starts. The
// backend's answer may be up to a second old (see engineFresh), and while
// one call is in flight no other is made; recent starts are read live.
func (w *StartWatch) Ready(ctx context.Context) error {
	if err := w.engine.ready(ctx); err != nil {
		return err
	}
	return w.check()
}

// check reports recent starts that all failed, with the last error.
func (w *StartWatch) check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failures < failingStarts || w.now().Sub(w.lastAt) > failureMemory {
		return nil
	}
	return fmt.Errorf("the last %d sandbox starts failed: %w", w.failures, w.lastErr)
}
