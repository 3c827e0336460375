package session

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// startSession runs a Session with opts (and Tokens) on sb and c,
// recording the resume tokens its greeter is given.
func startSession(t *testing.T, sb *fakeSandbox, c *fakeClient, l Limits, opts Options) (*Session, *running, chan string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	if opts.Tokens == nil {
		opts.Tokens = newTokenTable()
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := New(ctx, sb, l, opts, log)
	tokens := make(chan string, 10)
	r := &running{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.end = s.Run(c, func(tok string) error { tokens <- tok; return nil })
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return s, r, tokens
}

// attachAsync resumes s with c in the background.
func attachAsync(s *Session, c *fakeClient, tokens chan string) chan error {
	done := make(chan error, 1)
	go func() {
		done <- s.Attach(c, func(tok string) error { tokens <- tok; return nil }, 100, 30)
	}()
	return done
}

func TestResumeAfterTheConnectionDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c1 := newFakeSandbox(), newFakeClient()
		dir := newTokenTable()
		s, r, tokens := startSession(t, sb, c1, Limits{}, Options{Resumable: true, Grace: 30 * time.Second, Tokens: dir})
		tok1 := <-tokens
		if tok1 == "" {
			t.Fatal("a resumable session's greeting has no resume token")
		}
		sb.emit(t, "iex(1)> ")
		c1.input("x = 41\r")
		synctest.Wait()
		c1.fail(io.EOF) // the page reloads
		synctest.Wait()
		if r.finished() {
			t.Fatalf("a resumable session ended when its connection dropped: %v", r.result())
		}
		sb.emit(t, "x = 41\r\n41\r\niex(2)> ") // output while detached goes on

		got, ok := dir.Resume(tok1)
		if !ok || got != s {
			t.Fatal("the resume token does not name the session")
		}
		if _, ok := dir.Resume(tok1); ok {
			t.Error("a resume token worked twice")
		}
		c2 := newFakeClient()
		attached := attachAsync(s, c2, tokens)
		tok2 := <-tokens
		if tok2 == "" || tok2 == tok1 {
			t.Errorf("resume token %q after resuming with %q: want a fresh one", tok2, tok1)
		}
		synctest.Wait()
		if out := c2.output(); out != "iex(1)> x = 41\r\n41\r\niex(2)> " {
			t.Errorf("resumed client got %q, want the history", out)
		}
		c2.input("x + 1\r")
		sb.emit(t, "42\r\n")
		synctest.Wait()
		if !strings.HasSuffix(c2.output(), "42\r\n") || sb.gotInput() != "x = 41\rx + 1\r" {
			t.Errorf("after resume: output %q, input %q", c2.output(), sb.gotInput())
		}
		if sizes := sb.gotSizes(); len(sizes) == 0 || sizes[len(sizes)-1] != [2]int{100, 30} {
			t.Errorf("sizes %v, want the resumed client's last", sizes)
		}
		sb.exit(intp(0), false, nil)
		end := r.result()
		if end.Reason != ReasonExited {
			t.Errorf("end = %v, want exited", end)
		}
		if ends := c2.of("end"); len(ends) != 1 || ends[0].end.Reason != ReasonExited {
			t.Errorf("resumed client told %+v, want exited", ends)
		}
		if err := <-attached; err != nil {
			t.Errorf("Attach = %v", err)
		}
		if _, ok := dir.Resume(tok2); ok {
			t.Error("a resume token outlived its session")
		}
		checkTornDown(t, sb, c2)
	})
}

func TestResumableSessionEndsAfterTheGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		_, r, _ := startSession(t, sb, c, Limits{}, Options{Resumable: true, Grace: 30 * time.Second})
		synctest.Wait()
		start := time.Now()
		c.fail(io.EOF)
		end := r.result()
		if end.Reason != ReasonClosed || !errors.Is(end.Err, errNotResumed) {
			t.Errorf("end = %v, want closed: not resumed", end)
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("ended %v after the drop, want the 30 s grace", d)
		}
		checkTornDown(t, sb, c)
	})
}

func TestLimitsRunWhileDetached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		_, r, _ := startSession(t, sb, c, Limits{Idle: 10 * time.Second}, Options{Resumable: true, Grace: time.Minute})
		synctest.Wait()
		c.fail(io.EOF)
		if end := r.result(); end.Reason != ReasonIdleTimeout {
			t.Errorf("end = %v, want idle_timeout while detached", end)
		}
	})
}

func TestEndMessageEndsAResumableSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		_, r, _ := startSession(t, sb, c, Limits{}, Options{Resumable: true, Grace: time.Minute})
		synctest.Wait()
		c.send(received{m: Message{Kind: EndSession}})
		if end := r.result(); end.Reason != ReasonClosed || end.Err != nil {
			t.Errorf("end = %v, want closed", end)
		}
		checkTornDown(t, sb, c)
	})
}

func TestViewersWatchWithoutTyping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, p := newFakeSandbox(), newFakeClient()
		dir := newTokenTable()
		s, r, _ := startSession(t, sb, p, Limits{}, Options{Cols: 80, Rows: 24, MaxViewers: 2, Tokens: dir})
		sb.emit(t, "old\r\n\x1b[H\x1b[2Jiex(1)> ")
		p.send(received{m: Message{Kind: Share}})
		time.Sleep(time.Second) // past the output batching
		synctest.Wait()
		ev := p.of("event")
		if len(ev) != 1 || ev[0].ev.Kind != Shared || ev[0].ev.Watch == "" {
			t.Fatalf("presenter events %+v, want one shared", ev)
		}
		if got, ok := dir.Watch(ev[0].ev.Watch); !ok || got != s {
			t.Fatal("the watch token does not name the session")
		}

		viewers := []*fakeClient{newFakeClient(), newFakeClient()}
		errs := make(chan error, 3)
		for _, v := range viewers {
			go func() {
				errs <- s.Watch(v, func(cols, rows int) error {
					if cols != 80 || rows != 24 {
						t.Errorf("viewer greeted with %dx%d, want 80x24", cols, rows)
					}
					return nil
				})
			}()
		}
		synctest.Wait()
		if err := s.Watch(newFakeClient(), func(int, int) error { return nil }); !errors.Is(err, ErrTooManyViewers) {
			t.Errorf("third viewer: %v, want ErrTooManyViewers", err)
		}
		if ev := p.of("event"); ev[len(ev)-1].ev != (Event{Kind: Viewers, Count: 2}) {
			t.Errorf("presenter's last event %+v, want 2 viewers", ev[len(ev)-1])
		}
		viewers[0].input("System.halt()\r") // never delivered
		p.resize(100, 30)
		sb.emit(t, "1+1\r\n2\r\n")
		sb.exit(intp(0), false, nil)
		r.result()
		for range viewers {
			if err := <-errs; err != nil {
				t.Errorf("Watch = %v", err)
			}
		}
		if in := sb.gotInput(); in != "" {
			t.Errorf("sandbox got input %q from a viewer", in)
		}
		for i, v := range viewers {
			if out := v.output(); out != "\x1b[2Jiex(1)> 1+1\r\n2\r\n" {
				t.Errorf("viewer %d saw %q, want the replay since the clear, then live", i, out)
			}
			if ev := v.of("event"); len(ev) != 1 || ev[0].ev != (Event{Kind: Size, Cols: 100, Rows: 30}) {
				t.Errorf("viewer %d events %+v, want the presenter's resize", i, ev)
			}
			if ends := v.of("end"); len(ends) != 1 || ends[0].end.Reason != ReasonExited {
				t.Errorf("viewer %d told %+v, want exited", i, ends)
			}
		}
	})
}

func TestSlowViewerNeverSlowsThePresenter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb, p := newFakeSandbox(), newFakeClient()
		s, r, _ := startSession(t, sb, p, Limits{}, Options{MaxViewers: 10})
		slow := newFakeClient()
		slow.sendGate = make(chan struct{}) // never reads
		watched := make(chan error, 1)
		go func() { watched <- s.Watch(slow, func(int, int) error { return nil }) }()
		synctest.Wait()
		chunk := strings.Repeat("y", 1000)
		for range 4 * viewerQueue {
			sb.emit(t, chunk)
			synctest.Wait()
			p.ack(int64(len(chunk)))
		}
		time.Sleep(time.Second) // past the output batching
		synctest.Wait()
		if got := p.outputLen(); got != 4*viewerQueue*len(chunk) {
			t.Errorf("presenter got %d bytes, want all %d", got, 4*viewerQueue*len(chunk))
		}
		if err := <-watched; err != nil {
			t.Errorf("Watch = %v", err)
		}
		// It never reads, so it cannot be told: it is cut off.
		if slow.closes.Load() == 0 {
			t.Error("the slow viewer was never closed")
		}
		if n := s.viewerCount(); n != 0 {
			t.Errorf("%d viewers left, want the slow one dropped", n)
		}
		sb.exit(intp(0), false, nil)
		r.result()
	})
}
