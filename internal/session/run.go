package session

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// ErrProtocol marks a Client.Receive error caused by the client breaking the
// protocol, as opposed to the client going away.
var ErrProtocol = errors.New("protocol violation")

// Timing of the end of a session.
const (
	// waitTimeout bounds how long Run waits for an exited sandbox to report
	// its status.
	waitTimeout = 2 * time.Second
	// closeGrace is how long the client may take to answer the close
	// handshake before the connection is dropped.
	closeGrace = time.Second
)

// outputChunk is the most output read from the sandbox at once.
const outputChunk = 32 << 10

// maxInputFrame is the largest input message a client sends (the protocol's
// frame limit); the input throttle's burst is never below it.
const maxInputFrame = 64 << 10

var (
	errClientGone  = errors.New("client gone")
	errSandboxGone = errors.New("sandbox output ended")
)

// endCause carries a decided End through a context's cancel cause.
type endCause struct{ end End }

func (e endCause) Error() string { return e.end.String() }

// Run joins client and sandbox until the session ends, reports the end to the
// client, destroys the sandbox and returns the End. It waits for every
// goroutine it starts. When ctx is cancelled with cause ErrShuttingDown the
// session ends with ReasonShutdown; any other cancellation ends it with
// ReasonError.
func Run(ctx context.Context, sb Sandbox, c Client, limits Limits, log *slog.Logger) End {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		win     window
		clk     = newClock(limits)
		out     = make(chan []byte)
		warns   = make(chan warning)
		resizes = make(chan [2]int, 1)
		wg      sync.WaitGroup
	)

	var throttle *rate.Limiter
	if limits.InputRate > 0 {
		throttle = rate.NewLimiter(rate.Limit(limits.InputRate), max(limits.InputBurst, maxInputFrame))
	}

	var lastInput atomic.Int64 // UnixNano of the latest keyboard input

	readerDone := make(chan struct{})
	go func() { // the only goroutine that receives from the client
		defer close(readerDone)
		for {
			m, err := c.Receive()
			if err != nil {
				if errors.Is(err, ErrProtocol) {
					cancel(endCause{End{Reason: ReasonProtocol, Err: err}})
				} else {
					cancel(errClientGone)
				}
				return
			}
			switch m.Kind {
			case Input:
				clk.touch()
				lastInput.Store(time.Now().UnixNano())
				if throttle != nil && throttle.WaitN(ctx, min(len(m.Input), throttle.Burst())) != nil {
					return // the session is ending
				}
				if _, err := sb.Write(m.Input); err != nil {
					cancel(errSandboxGone)
					return
				}
			case Resize:
				select { // latest wins: replace a size not yet applied
				case <-resizes:
				default:
				}
				resizes <- [2]int{m.Cols, m.Rows}
			case Ack:
				win.ack(m.Bytes)
			}
		}
	}()

	wg.Add(4)
	go func() { // applies resizes, so a slow runtime never blocks the reader
		defer wg.Done()
		for {
			select {
			case size := <-resizes:
				if err := sb.Resize(ctx, size[0], size[1]); err != nil && ctx.Err() == nil {
					log.Debug("resize", "err", err)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { // pumps sandbox output to the writer, under flow control
		defer wg.Done()
		buf := make([]byte, outputChunk)
		for {
			if win.wait(ctx) != nil {
				return
			}
			n, err := sb.Read(buf)
			if n > 0 {
				win.sent(n)
				select {
				case out <- bytes.Clone(buf[:n]):
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				cancel(errSandboxGone)
				return
			}
		}
	}()
	go func() { // enforces the idle and lifetime limits
		defer wg.Done()
		if r := clk.run(ctx, warns); r != "" {
			cancel(endCause{End{Reason: r}})
		}
	}()
	writerDone := make(chan struct{})
	go func() { // the only goroutine that sends to the client until the end
		defer wg.Done()
		defer close(writerDone)
		for {
			var err error
			select {
			case p := <-out:
				err = c.SendOutput(gather(p, out, &lastInput))
			case w := <-warns:
				err = c.SendWarning(w.reason, w.secondsLeft)
			case <-ctx.Done():
				return
			}
			if err != nil {
				cancel(errClientGone)
				return
			}
		}
	}()

	<-ctx.Done()
	select { // a client that stopped reading must not hold the end up
	case <-writerDone:
	case <-time.After(closeGrace):
		c.Close()
		<-writerDone
	}
	end := decideEnd(context.Cause(ctx), sb)

	// Destroy the sandbox while the client is told; both are bounded.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		if err := sb.Close(); err != nil {
			log.Warn("destroy sandbox", "err", err)
		}
	}()
	if end.Reason != ReasonClosed {
		if err := c.End(end); err != nil {
			log.Debug("report end", "err", err)
		}
		select { // let the client answer the close handshake
		case <-readerDone:
		case <-time.After(closeGrace):
		}
	}
	c.Close()
	<-readerDone
	wg.Wait()
	<-closed
	return end
}

// Output batching: small chunks are gathered for at most batchDelay into
// fewer, larger frames (less work for the browser during a flood), except
// within echoWindow of keyboard input, when every chunk goes at once so
// typing feels immediate.
const (
	batchDelay = 3 * time.Millisecond
	echoWindow = 20 * time.Millisecond
)

// gather appends to p the chunks that arrive on out within batchDelay, up
// to outputChunk bytes.
func gather(p []byte, out <-chan []byte, lastInput *atomic.Int64) []byte {
	if len(p) >= outputChunk || time.Since(time.Unix(0, lastInput.Load())) < echoWindow {
		return p
	}
	timer := time.NewTimer(batchDelay)
	defer timer.Stop()
	for len(p) < outputChunk {
		select {
		case q := <-out:
			p = append(p, q...)
		case <-timer.C:
			return p
		}
	}
	return p
}

// decideEnd turns the first cause that ended a session into its End.
func decideEnd(cause error, sb Sandbox) End {
	var ec endCause
	switch {
	case errors.As(cause, &ec):
		return ec.end
	case errors.Is(cause, errSandboxGone):
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		st, err := sb.Wait(ctx)
		if err != nil {
			return End{Reason: ReasonError, Err: err}
		}
		if st.OOMKilled {
			return End{Reason: ReasonOOM, Code: st.Code}
		}
		return End{Reason: ReasonExited, Code: st.Code}
	case errors.Is(cause, errClientGone):
		return End{Reason: ReasonClosed}
	case errors.Is(cause, ErrShuttingDown):
		return End{Reason: ReasonShutdown}
	}
	return End{Reason: ReasonError, Err: cause}
}
