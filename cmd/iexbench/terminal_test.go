package main

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"iexbox/internal/sandbox"
)

func TestTerminalMatchesAcrossChunks(t *testing.T) {
	term := newTerminal()
	t0 := time.Unix(100, 0)
	go func() {
		term.feed([]byte("banner\r\niex("), t0)
		term.feed([]byte("1)> "), t0.Add(time.Second))
	}()
	at, err := term.waitFor(t.Context(), "iex(1)> ", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !at.Equal(t0.Add(time.Second)) {
		t.Errorf("matched at %v, want the arrival of the chunk that completed the match", at)
	}
}

func TestTerminalConsumesWhatItMatched(t *testing.T) {
	term := newTerminal()
	term.feed([]byte("a"), time.Now())
	if _, err := term.waitFor(t.Context(), "a", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := term.waitFor(t.Context(), "a", 50*time.Millisecond); err == nil {
		t.Fatal("the same output matched twice")
	}
	term.feed([]byte("\b \b\x1b[Jiex(1)> a"), time.Now())
	if _, err := term.waitFor(t.Context(), "> ", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := term.waitFor(t.Context(), "a", time.Second); err != nil {
		t.Fatalf("output after a match must stay for the next wait: %v", err)
	}
}

func TestTerminalWaitText(t *testing.T) {
	term := newTerminal()
	term.feed([]byte("1+1\r\n2\r\niex(2)> "), time.Now())
	text, _, err := term.waitText(t.Context(), sandbox.PromptNumber(2), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if text != "1+1\r\n2\r\n" {
		t.Errorf("text before the prompt = %q", text)
	}
}

func TestTerminalFloodKeepsLittle(t *testing.T) {
	term := newTerminal()
	chunk := make([]byte, 32<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for range 100 {
		term.feed(chunk, time.Now())
	}
	if n := len(term.pending); n > 2*keepTail {
		t.Errorf("%d bytes kept with nobody waiting", n)
	}
	if got := term.received(); got != 100*32<<10 {
		t.Errorf("received %d", got)
	}
}

func TestTerminalEndUnblocksWait(t *testing.T) {
	term := newTerminal()
	go func() {
		time.Sleep(10 * time.Millisecond)
		term.end(io.EOF)
	}()
	_, err := term.waitFor(context.Background(), "never", time.Minute)
	if !errors.Is(err, errTerminalClosed) || !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want the end of output", err)
	}
}
