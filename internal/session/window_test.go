package session

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

func TestWindowPausesOverHighWaterAndResumesUnderLowWater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w window
		if err := w.wait(t.Context()); err != nil {
			t.Fatalf("fresh window: wait = %v", err)
		}
		w.sent(HighWater)
		if !returnsAtOnce(t, &w) {
			t.Fatalf("paused at exactly HighWater unacked, want paused only above it")
		}
		w.sent(1)

		waited := make(chan error, 1)
		go func() { waited <- w.wait(t.Context()) }()
		synctest.Wait()
		select {
		case err := <-waited:
			t.Fatalf("wait returned %v above HighWater, want it to block", err)
		default:
		}

		w.ack(HighWater + 1 - LowWater) // LowWater left: not under it yet
		synctest.Wait()
		select {
		case err := <-waited:
			t.Fatalf("wait returned %v with LowWater unacked, want it to block", err)
		default:
		}

		w.ack(1)
		if err := <-waited; err != nil {
			t.Fatalf("wait after the ack = %v", err)
		}
		if !returnsAtOnce(t, &w) {
			t.Errorf("window still paused after resuming")
		}
	})
}

func TestWindowAckDoesNotBankCredit(t *testing.T) {
	var w window
	w.sent(10)
	w.ack(1 << 40) // a confused client acks more than it got
	w.sent(HighWater)
	if !returnsAtOnce(t, &w) {
		t.Fatalf("paused at HighWater")
	}
	w.sent(1)
	if returnsAtOnce(t, &w) {
		t.Errorf("an over-ack banked credit: not paused with HighWater+1 unacked")
	}
}

func TestWindowAckWhileRunningIsHarmless(t *testing.T) {
	var w window
	w.ack(100) // before anything was sent
	w.sent(100)
	w.ack(50)
	w.ack(50)
	w.ack(50)
	if !returnsAtOnce(t, &w) {
		t.Errorf("paused without a backlog")
	}
}

func TestWindowPausesAgainAfterResuming(t *testing.T) {
	var w window
	for round := range 3 {
		w.sent(HighWater + 1)
		if returnsAtOnce(t, &w) {
			t.Fatalf("round %d: not paused above HighWater", round)
		}
		w.ack(HighWater + 1)
		if !returnsAtOnce(t, &w) {
			t.Fatalf("round %d: still paused after a full ack", round)
		}
	}
}

func TestWindowWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w window
		w.sent(HighWater + 1)
		ctx, cancel := context.WithCancel(t.Context())
		waited := make(chan error, 1)
		go func() { waited <- w.wait(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-waited; !errors.Is(err, context.Canceled) {
			t.Errorf("wait = %v, want context.Canceled", err)
		}
	})
}

// returnsAtOnce reports whether w.wait returns without blocking.
func returnsAtOnce(t *testing.T, w *window) bool {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return w.wait(ctx) == nil
}
