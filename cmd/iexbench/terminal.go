package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// keepTail is how much unconsumed output a terminal keeps while nobody
// waits: enough for any prompt, small enough that a flood costs nothing.
const keepTail = 64 << 10

// errTerminalClosed is returned by waits once the output has ended.
var errTerminalClosed = errors.New("terminal output ended")

// terminal is the benchmark's view of a terminal's output: bytes arriving
// from one reader goroutine, matched against one awaited pattern at a time.
// Matching happens as the bytes arrive, so a wait learns when the chunk
// that completed its pattern came in, not when the waiter was scheduled.
// It is safe for one feeding goroutine and one waiting goroutine.
type terminal struct {
	mu      sync.Mutex
	pending []byte    // output not yet consumed by a wait
	lastAt  time.Time // arrival of the newest chunk
	total   int64     // bytes received, ever
	want    []byte    // the awaited pattern, nil when nobody waits
	capture bool      // keep what precedes the match, for waitText
	before  []byte    // what preceded the last match, with capture
	found   chan time.Time
	err     error // why the output ended, nil while it flows
	done    chan struct{}
}

func newTerminal() *terminal {
	return &terminal{found: make(chan time.Time, 1), done: make(chan struct{})}
}

// feed records output that arrived at at.
func (t *terminal) feed(p []byte, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = append(t.pending, p...)
	t.lastAt = at
	t.total += int64(len(p))
	if t.want != nil {
		t.match(at)
		return
	}
	if len(t.pending) > 2*keepTail {
		t.pending = append(t.pending[:0], t.pending[len(t.pending)-keepTail:]...)
	}
}

// match looks for the awaited pattern in pending; it must hold mu. On a
// miss only the bytes that could start a match are kept.
func (t *terminal) match(at time.Time) {
	if i := bytes.Index(t.pending, t.want); i >= 0 {
		if t.capture {
			t.before = append(t.before[:0], t.pending[:i]...)
		}
		t.pending = t.pending[i+len(t.want):]
		t.want = nil
		t.found <- at
		return
	}
	if keep := len(t.want) - 1; !t.capture && len(t.pending) > keep {
		t.pending = append(t.pending[:0], t.pending[len(t.pending)-keep:]...)
	}
}

// end records that the output has ended.
func (t *terminal) end(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = fmt.Errorf("%w: %w", errTerminalClosed, err)
		close(t.done)
	}
}

// wait blocks until pat appears in output not yet consumed, consumes the
// output up to the end of the match and returns when the matching chunk
// arrived.
func (t *terminal) wait(ctx context.Context, pat string) (time.Time, error) {
	t.mu.Lock()
	t.want = []byte(pat)
	t.match(t.lastAt)
	t.mu.Unlock()
	select {
	case at := <-t.found:
		return at, nil
	case <-ctx.Done():
	case <-t.done:
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.want = nil
	select { // it may have matched in the meantime
	case at := <-t.found:
		return at, nil
	default:
	}
	tail := t.pending
	if len(tail) > 200 {
		tail = tail[len(tail)-200:]
	}
	if t.err != nil {
		return time.Time{}, fmt.Errorf("waiting for %q: %w (last output %q)", pat, t.err, tail)
	}
	return time.Time{}, fmt.Errorf("waiting for %q: %w (last output %q)", pat, context.Cause(ctx), tail)
}

// waitFor is wait bounded by timeout.
func (t *terminal) waitFor(ctx context.Context, pat string, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("no %q within %s", pat, timeout))
	defer cancel()
	return t.wait(ctx, pat)
}

// waitText is waitFor that also returns the output before the match; for
// short replies only, since nothing is dropped while it waits.
func (t *terminal) waitText(ctx context.Context, pat string, timeout time.Duration) (string, time.Time, error) {
	t.mu.Lock()
	t.capture = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.capture = false
		t.mu.Unlock()
	}()
	at, err := t.waitFor(ctx, pat, timeout)
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.before), at, err
}

// received is the number of output bytes received so far.
func (t *terminal) received() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}
