package recording

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// FlushEvery is how often a recording's new events reach the store: a
// server that dies loses at most this much of a recording.
const FlushEvery = time.Second

// storeTimeout bounds one write of a recording to the store.
const storeTimeout = 10 * time.Second

// Recording is one session's recording as it is made: the session hands
// it output, sizes and markers; its flusher goroutine writes them to the
// store every FlushEvery; Close writes the rest and marks it complete. Its
// methods are safe for concurrent use.
type Recording struct {
	svc         *Service
	id          string
	deleteToken string
	start       time.Time
	max         int64
	log         *slog.Logger

	mu      sync.Mutex
	events  []byte // encoded, not yet stored
	spare   []byte // the buffer the last flush stored, kept for the next
	partial []byte // the start of a character the next output completes
	seq     int    // the next chunk's number
	output  int64  // output bytes recorded
	stopped bool   // the byte bound was reached
	closed  bool

	stop chan struct{}
	done chan struct{}
}

// ID is the recording's id (128 random bits, hex).
func (r *Recording) ID() string { return r.id }

// DeleteToken lets its holder delete the recording; only the presenter
// is told it.
func (r *Recording) DeleteToken() string { return r.deleteToken }

// since is the event time of now. The caller holds r.mu.
func (r *Recording) since() time.Duration { return time.Since(r.start) }

// Output records terminal output. It reports true once, when this output
// reached the byte bound: what fits is recorded (to a whole character),
// then the recording stops; the session goes on.
func (r *Recording) Output(p []byte) (stopped bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || r.closed {
		return false
	}
	if room := r.max - r.output; int64(len(p)) > room {
		fits, _ := cutUTF8(p[:room])
		if len(r.partial) > 0 { // the character begun before fits or not at all
			fits = append(append([]byte(nil), r.partial...), fits...)
			if whole, _ := cutUTF8(fits); len(whole) < len(r.partial) {
				fits = nil
			}
		}
		if len(fits) > 0 {
			r.events = appendEvent(r.events, r.since(), "o", fits)
		}
		r.output = r.max
		r.stopped = true
		r.partial = nil
		r.svc.metrics.stopped()
		r.log.Info("recording stopped at its byte bound", "bytes", r.output)
		return true
	}
	r.output += int64(len(p))
	if len(r.partial) > 0 {
		p = append(r.partial, p...)
		r.partial = nil
	}
	whole, rest := cutUTF8(p)
	r.partial = append([]byte(nil), rest...)
	if len(whole) > 0 {
		r.events = appendEvent(r.events, r.since(), "o", whole)
	}
	return false
}

// Resize records a new terminal size.
func (r *Recording) Resize(cols, rows int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped && !r.closed {
		r.events = appendEvent(r.events, r.since(), "r", fmt.Sprintf("%dx%d", cols, rows))
	}
}

// Mark records a marker, such as a check's outcome.
func (r *Recording) Mark(label string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped && !r.closed {
		r.events = appendEvent(r.events, r.since(), "m", label)
	}
}

// flusher writes new events to the store every FlushEvery until Close.
func (r *Recording) flusher() {
	defer close(r.done)
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.flush()
		case <-r.stop:
			return
		}
	}
}

// keepBuffer is the largest events buffer a recording keeps between
// flushes: under a flood each second's events go into the buffer the
// last second's went into, instead of a new one grown by doubling.
const keepBuffer = 4 << 20

// flush writes the events recorded since the last flush as one chunk.
// Only the flusher calls it, and Close once the flusher has ended.
func (r *Recording) flush() {
	r.mu.Lock()
	ev := r.events
	r.events, r.spare = r.spare[:0], nil
	seq := r.seq
	if len(ev) > 0 {
		r.seq++
	}
	r.mu.Unlock()
	if len(ev) == 0 {
		return // idle: hold no buffer
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	err := r.svc.st.AppendRecording(ctx, r.id, seq, ev)
	if cap(ev) <= keepBuffer { // the store keeps no reference once it returns
		r.mu.Lock()
		r.spare = ev[:0]
		r.mu.Unlock()
	}
	if err != nil {
		r.log.Warn("store recording", "err", err)
		return
	}
	r.svc.metrics.stored(len(ev))
}

// Close stops the recording, stores what is left (a character cut at the
// end included) and marks it complete. Idempotent; the session calls it
// however it ends.
func (r *Recording) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	if len(r.partial) > 0 {
		r.events = appendEvent(r.events, r.since(), "o", r.partial)
		r.partial = nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	r.flush()
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := r.svc.st.FinishRecording(ctx, r.id, time.Now()); err != nil {
		r.log.Warn("finish recording", "err", err)
	}
	r.svc.metrics.closed()
	r.log.Info("recording complete", "bytes", r.output)
}
