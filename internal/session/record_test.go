package session

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRecorder records in memory and stops after max bytes of output.
type fakeRecorder struct {
	mu     sync.Mutex
	max    int
	out    strings.Builder
	sizes  [][2]int
	marks  []string
	closed int
}

func (r *fakeRecorder) ID() string          { return "rec1" }
func (r *fakeRecorder) DeleteToken() string { return "del1" }
func (r *fakeRecorder) Output(p []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.max > 0 && r.out.Len()+len(p) > r.max {
		if r.max > 0 {
			r.max = -1
			return true
		}
		return false
	}
	if r.max < 0 {
		return false
	}
	r.out.Write(p)
	return false
}
func (r *fakeRecorder) Resize(c, rows int) {
	r.mu.Lock()
	r.sizes = append(r.sizes, [2]int{c, rows})
	r.mu.Unlock()
}
func (r *fakeRecorder) Mark(l string) { r.mu.Lock(); r.marks = append(r.marks, l); r.mu.Unlock() }
func (r *fakeRecorder) Close()        { r.mu.Lock(); r.closed++; r.mu.Unlock() }

func runRecorded(t *testing.T, sb *fakeSandbox, c *fakeClient, opts Options) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{done: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	go func() {
		defer close(r.done)
		r.end = New(ctx, sb, Limits{}, opts, log).Run(c, func(string) error { return nil })
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// TestRecordedSession: the presenter hears of the recording right after
// ready, output and sizes go into it, and it is closed when the session
// ends.
func TestRecordedSession(t *testing.T) {
	sb, c := newFakeSandbox(), newFakeClient()
	rec := &fakeRecorder{}
	r := runRecorded(t, sb, c, Options{Cols: 80, Rows: 24, Recorder: rec})
	sb.emit(t, "iex(1)> ")
	c.resize(100, 30)
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(c.output(), "iex(1)> ") || len(sb.gotSizes()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no output or resize")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.fail(io.EOF)
	r.result()
	all := c.all()
	if len(all) == 0 || all[0].kind != "event" || all[0].ev.Kind != Recording || all[0].ev.RecordingID != "rec1" || all[0].ev.DeleteToken != "del1" {
		t.Fatalf("first thing sent: %+v", all)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.out.String() != "iex(1)> " || rec.closed != 1 {
		t.Fatalf("recorded %q, closed %d", rec.out.String(), rec.closed)
	}
	if len(rec.sizes) != 1 || rec.sizes[0] != [2]int{100, 30} {
		t.Fatalf("sizes %v", rec.sizes)
	}
}

// TestRecordingStopsNotTheSession: at the byte bound the presenter is
// told, and output goes on.
func TestRecordingStopsNotTheSession(t *testing.T) {
	sb, c := newFakeSandbox(), newFakeClient()
	rec := &fakeRecorder{max: 4}
	r := runRecorded(t, sb, c, Options{Cols: 80, Rows: 24, Recorder: rec})
	sb.emit(t, "abc")
	sb.emit(t, "defgh")
	sb.emit(t, "more")
	deadline := time.Now().Add(2 * time.Second)
	for !strings.HasSuffix(c.output(), "more") {
		if time.Now().After(deadline) {
			t.Fatalf("output %q", c.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.fail(io.EOF)
	r.result()
	var stopped int
	for _, e := range c.of("event") {
		if e.ev.Kind == RecordingStopped && e.ev.Reason == "size" {
			stopped++
		}
	}
	if stopped != 1 {
		t.Fatalf("recording_stopped told %d times: %+v", stopped, c.all())
	}
}

// TestRecordingRefusedIsTold: a refused recording is a notice, not an end.
func TestRecordingRefusedIsTold(t *testing.T) {
	sb, c := newFakeSandbox(), newFakeClient()
	r := runRecorded(t, sb, c, Options{Cols: 80, Rows: 24, RecordRefused: "rate"})
	sb.emit(t, "iex(1)> ")
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(c.output(), "iex(1)> ") {
		if time.Now().After(deadline) {
			t.Fatal("no output")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.fail(io.EOF)
	r.result()
	ev := c.of("event")
	if len(ev) != 1 || ev[0].ev.Kind != RecordingRefused || ev[0].ev.Reason != "rate" {
		t.Fatalf("events %+v", ev)
	}
}

// TestResumeKeepsRecording: a resumed presenter is told of the same
// recording again, and the recording goes on.
func TestResumeKeepsRecording(t *testing.T) {
	sb, c := newFakeSandbox(), newFakeClient()
	rec := &fakeRecorder{}
	tokens := newTokenTable()
	resumes := make(chan string, 4)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	s := New(ctx, sb, Limits{}, Options{Cols: 80, Rows: 24, Recorder: rec, Resumable: true, Grace: time.Minute, Tokens: tokens}, log)
	done := make(chan End, 1)
	go func() { done <- s.Run(c, func(tk string) error { resumes <- tk; return nil }) }()
	sb.emit(t, "iex(1)> ")
	c.fail(io.EOF) // the connection drops
	deadline := time.Now().Add(2 * time.Second)
	resume := <-resumes
	var again *Session
	for again == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the token works once the drop is seen
		again, _ = tokens.Resume(resume)
	}
	if again == nil {
		t.Fatal("the resume token never worked")
	}
	c2 := newFakeClient()
	attached := make(chan error, 1)
	go func() { attached <- again.Attach(c2, func(string) error { return nil }, 80, 24) }()
	sb.emit(t, "after resume")
	for !strings.Contains(c2.output(), "after resume") {
		if time.Now().After(deadline.Add(2 * time.Second)) {
			t.Fatalf("resumed output %q", c2.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c2.send(received{m: Message{Kind: EndSession}})
	<-done
	<-attached
	ev := c2.of("event")
	if len(ev) == 0 || ev[0].ev.Kind != Recording || ev[0].ev.DeleteToken != "del1" {
		t.Fatalf("resumed presenter's events %+v", ev)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.out.String() != "iex(1)> after resume" || rec.closed != 1 {
		t.Fatalf("recorded %q, closed %d", rec.out.String(), rec.closed)
	}
}
