package session

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestGatherBatchesSmallChunks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := make(chan []byte, 4)
		out <- []byte("b")
		out <- []byte("c")
		var lastInput atomic.Int64 // no input yet
		got := gather([]byte("a"), out, &lastInput)
		if string(got) != "abc" {
			t.Fatalf("gather = %q, want the queued chunks merged: abc", got)
		}
		go func() {
			time.Sleep(2 * batchDelay) // too late for this frame
			out <- []byte("late")
		}()
		if got := gather([]byte("x"), out, &lastInput); string(got) != "x" {
			t.Fatalf("gather waited past batchDelay: %q", got)
		}
		<-out
	})
}

func TestGatherFlushesAtOnceAfterInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := make(chan []byte, 1)
		out <- []byte("more")
		var lastInput atomic.Int64
		lastInput.Store(time.Now().UnixNano())
		if got := gather([]byte("echo"), out, &lastInput); string(got) != "echo" {
			t.Fatalf("gather held an echo back: %q", got)
		}
	})
}
