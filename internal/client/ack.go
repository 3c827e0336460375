package client

import "time"

// AckPolicy is when a Conn acknowledges the output it has passed on. The
// server stops reading a sandbox's output while more than 1 MiB is
// unacknowledged, so a client that reads must ack.
type AckPolicy int

const (
	// AckFrames acks each output frame once it has been kept or handed to
	// OnOutput: the default.
	AckFrames AckPolicy = iota
	// AckBatched acks as the page does: a full batch of ackBytes at once,
	// anything less within ackEvery. No timer runs while nothing is
	// pending, so an idle connection costs nothing.
	AckBatched
	// AckManual never acks by itself: the caller calls Ack, or lets the
	// server's window fill.
	AckManual
)

// The page's batching (static/src/connection.js, ACK_BYTES and ACK_DELAY_MS).
const (
	ackBytes = 32 << 10
	ackEvery = 20 * time.Millisecond
)

// consumed counts n output bytes as processed, for AckBatched.
func (c *Conn) consumed(n int64) {
	c.amu.Lock()
	defer c.amu.Unlock()
	if c.closing {
		return
	}
	c.unacked += n
	switch {
	case c.unacked >= ackBytes:
		c.flushLocked()
	case c.ackTimer == nil:
		c.ackTimer = time.AfterFunc(ackEvery, func() {
			c.amu.Lock()
			defer c.amu.Unlock()
			c.ackTimer = nil
			c.flushLocked()
		})
	}
}

// flushLocked acks everything consumed; it must hold amu, which keeps a
// later ack from overtaking it.
func (c *Conn) flushLocked() {
	if c.unacked == 0 || c.closing {
		return
	}
	n := c.unacked
	c.unacked = 0
	c.Ack(n) // a failure shows on the reader
}

// stopAcks stops acking for good: the connection is ending.
func (c *Conn) stopAcks() {
	c.amu.Lock()
	defer c.amu.Unlock()
	c.closing = true
	if c.ackTimer != nil {
		c.ackTimer.Stop()
		c.ackTimer = nil
	}
}
