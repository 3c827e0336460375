package session

import (
	"context"
	"sync"
)

// Flow-control watermarks. The output pump stops reading the sandbox while
// more than HighWater bytes are unacknowledged and resumes under LowWater,
// so a client that stops acking stalls only its own sandbox (its program
// blocks on a full tty) and the server holds at most about HighWater bytes
// for it.
const (
	HighWater = 1 << 20
	LowWater  = 256 << 10
)

// window counts output bytes sent but not yet acknowledged by the client.
// It is safe for concurrent use.
type window struct {
	mu      sync.Mutex
	unacked int64
	paused  bool
	resume  chan struct{} // closed when a pause ends
}

// sent records n bytes handed to the client.
func (w *window) sent(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.unacked += int64(n)
	if !w.paused && w.unacked > HighWater {
		w.paused = true
		w.resume = make(chan struct{})
	}
}

// ack records n bytes processed by the client. Acks beyond what was sent
// are clamped so a confused client cannot bank credit.
func (w *window) ack(n int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.unacked = max(w.unacked-n, 0)
	if w.paused && w.unacked < LowWater {
		w.paused = false
		close(w.resume)
	}
}

// wait blocks while the window is paused. It returns ctx's error if ctx
// ends first.
func (w *window) wait(ctx context.Context) error {
	w.mu.Lock()
	paused, resume := w.paused, w.resume
	w.mu.Unlock()
	if !paused {
		return nil
	}
	select {
	case <-resume:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
