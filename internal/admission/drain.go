package admission

import (
	"sync"
	"time"
)

// Drain announces to every live session that the server will stop at a
// deadline, so each can warn its person. It is safe for concurrent use.
type Drain struct {
	once     sync.Once
	done     chan struct{}
	deadline time.Time
}

// NewDrain returns a Drain not yet begun.
func NewDrain() *Drain { return &Drain{done: make(chan struct{})} }

// Begin announces the deadline. Only the first call counts.
func (d *Drain) Begin(deadline time.Time) {
	d.once.Do(func() {
		d.deadline = deadline
		close(d.done)
	})
}

// Done is closed once the drain has begun.
func (d *Drain) Done() <-chan struct{} { return d.done }

// Deadline is when the server stops; valid once Done is closed.
func (d *Drain) Deadline() time.Time {
	<-d.done
	return d.deadline
}
