package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"iexbox/internal/protocol"
)

// ErrClosed is wrapped by a wait that ends because the connection has
// ended without what it waited for.
var ErrClosed = errors.New("connection closed")

// errOutputNotKept is returned by output waits of a Conn whose output goes
// to OnOutput.
var errOutputNotKept = errors.New("client: output goes to OnOutput and is not kept")

// wait blocks until cond, called under the lock whenever something
// arrives, holds. It gives up when ctx ends, or when the connection has
// ended with cond still false.
func (c *Conn) wait(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		ok, ended, status, changed := cond(), c.ended, c.status, c.changed
		c.mu.Unlock()
		switch {
		case ok:
			return nil
		case ended:
			return fmt.Errorf("%w (%s)", ErrClosed, status)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// Next returns the next event: the first that Next, WaitEvent and Ready
// have not returned yet. After the last event of an ended connection it
// returns an error wrapping ErrClosed. Events are read in one order, so
// one goroutine should consume them.
func (c *Conn) Next(ctx context.Context) (Event, error) {
	var e Event
	err := c.wait(ctx, func() bool {
		if c.cursor == len(c.events) {
			return false
		}
		e = c.events[c.cursor]
		c.cursor++
		return true
	})
	return e, err
}

// WaitEvent returns the next event of one of types, passing over the
// events of other types before it as Next would return them.
func (c *Conn) WaitEvent(ctx context.Context, types ...string) (Event, error) {
	for {
		e, err := c.Next(ctx)
		if err != nil {
			return e, fmt.Errorf("wait for %v: %w", types, err)
		}
		if slices.Contains(types, e.Type) {
			return e, nil
		}
	}
}

// Ready waits for the ready event that answers a hello, passing over
// queued events (Events keeps them) and events of unknown types. An error
// event instead returns a *RefusedError, a frame that does not decode its
// Err.
func (c *Conn) Ready(ctx context.Context) (Event, error) {
	for {
		e, err := c.Next(ctx)
		switch {
		case err != nil:
			return e, fmt.Errorf("wait for ready: %w", err)
		case e.Err != nil:
			return e, fmt.Errorf("wait for ready: %w", e.Err)
		case e.Error != nil:
			return e, &RefusedError{Event: *e.Error}
		case e.Type == protocol.TypeReady:
			return e, nil
		}
	}
}

// Events is a copy of every event received so far.
func (c *Conn) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// Output is a copy of the output kept so far; nil when OnOutput takes it.
func (c *Conn) Output() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out)
}

// WaitOutput waits until the output kept so far contains want.
func (c *Conn) WaitOutput(ctx context.Context, want string) error {
	err := c.WaitOutputFunc(ctx, func(out []byte) bool { return bytes.Contains(out, []byte(want)) })
	if err != nil {
		return fmt.Errorf("wait for output %q: %w", want, err)
	}
	return nil
}

// WaitOutputFunc waits until cond holds of the output kept so far, for
// waits that a substring cannot say (a count of lines, a pattern). cond is
// called under the Conn's lock, at once and whenever something arrives:
// it must not keep out, nor call the Conn's methods.
func (c *Conn) WaitOutputFunc(ctx context.Context, cond func(out []byte) bool) error {
	if c.opts.OnOutput != nil {
		return errOutputNotKept
	}
	return c.wait(ctx, func() bool { return cond(c.out) })
}

// CloseStatus is how the connection ended; ok is false while it is open.
func (c *Conn) CloseStatus() (s CloseStatus, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, c.ended
}

// WaitClose waits until the connection has ended, and says how.
func (c *Conn) WaitClose(ctx context.Context) (CloseStatus, error) {
	select {
	case <-c.done:
	case <-ctx.Done():
		return CloseStatus{}, context.Cause(ctx)
	}
	s, _ := c.CloseStatus()
	return s, nil
}
