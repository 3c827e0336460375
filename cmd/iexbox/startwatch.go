package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"iexbox/internal/session"
)

// Readiness from recent starts: some configurations (limits above what the
// host allows, say) pass every check and fail only when a sandbox starts.
// After failingStarts starts in a row have failed, the last within
// failureMemory, /readyz says so until a start succeeds.
const (
	failingStarts = 3
	failureMemory = time.Minute
)

// startWatch is a session.Runtime that remembers whether sandboxes have
// been failing to start. It is safe for concurrent use.
type startWatch struct {
	session.Runtime
	now func() time.Time

	mu       sync.Mutex
	failures int // in a row
	lastAt   time.Time
	lastErr  error
}

func watchStarts(rt session.Runtime) *startWatch {
	return &startWatch{Runtime: rt, now: time.Now}
}

// Start starts a sandbox and records the outcome. A start abandoned by
// its caller (a client that left) says nothing about the runtime.
func (w *startWatch) Start(ctx context.Context, spec session.Spec) (session.Sandbox, error) {
	sb, err := w.Runtime.Start(ctx, spec)
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

// check reports recent starts that all failed, with the last error.
func (w *startWatch) check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failures < failingStarts || w.now().Sub(w.lastAt) > failureMemory {
		return nil
	}
	return fmt.Errorf("the last %d sandbox starts failed: %w", w.failures, w.lastErr)
}
