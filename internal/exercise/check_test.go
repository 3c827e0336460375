package exercise

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iexbox/internal/sandbox"
)

// fakeSandbox runs fake check BEAMs: each prints ready, reads its request
// and answers with answer (or never, when answer is "").
type fakeSandbox struct {
	sandbox.Sandbox
	answer string
	booted chan struct{} // when not nil, a BEAM is ready only once it is closed
	execs  atomic.Int32
	mu     sync.Mutex
	procs  []*fakeProc
}

func (f *fakeSandbox) ID() string { return "s" }

func (f *fakeSandbox) Exec(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Process, error) {
	if !spec.Apart {
		panic("a check must run apart")
	}
	f.execs.Add(1)
	p := &fakeProc{answer: f.answer, booted: f.booted, closed: make(chan struct{})}
	p.outR, p.outW = io.Pipe()
	p.inR, p.inW = io.Pipe()
	go p.run()
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.mu.Unlock()
	return p, nil
}

type fakeProc struct {
	answer     string
	booted     chan struct{}
	outR, inR  *io.PipeReader
	outW, inW  *io.PipeWriter
	closed     chan struct{}
	closeOnce  sync.Once
	closeCount atomic.Int32
	requested  atomic.Bool // it read a check's request
}

func (p *fakeProc) run() {
	p.outW.Write([]byte("booting\n"))
	if p.booted != nil {
		select {
		case <-p.booted:
		case <-p.closed:
			return
		}
	}
	p.outW.Write([]byte("ready\n"))
	data, _ := io.ReadAll(p.inR)
	p.requested.Store(len(data) > 0)
	var req struct{ Nonce string }
	json.Unmarshal(data, &req)
	if p.answer == "" {
		<-p.closed
		return
	}
	p.outW.Write([]byte("noise\n" + req.Nonce + " " + p.answer + "\n"))
	p.outW.Close()
}

func (p *fakeProc) Read(b []byte) (int, error)  { return p.outR.Read(b) }
func (p *fakeProc) Write(b []byte) (int, error) { return p.inW.Write(b) }
func (p *fakeProc) CloseWrite() error           { return p.inW.Close() }
func (p *fakeProc) Wait(context.Context) (int, error) {
	<-p.closed
	return 0, nil
}

func (p *fakeProc) Close() error {
	p.closeCount.Add(1)
	p.closeOnce.Do(func() {
		close(p.closed)
		p.outR.CloseWithError(io.ErrClosedPipe)
		p.inR.CloseWithError(io.ErrClosedPipe)
	})
	return nil
}

func TestCheckerAnswersAndBootsTheNext(t *testing.T) {
	sb := &fakeSandbox{answer: `{"status":"pass","tests":[{"name":"a","status":"pass","task_id":null}]}`}
	c := newChecker(sb, &Exercise{Name: "e", Tests: "t"}, Config{Timeout: time.Second}.withDefaults())
	for range 2 {
		res := c.Check(t.Context(), "code")
		if res.Status != sandbox.CheckPass || len(res.Tests) != 1 {
			t.Fatalf("%+v", res)
		}
	}
	c.Close()
	if n := sb.execs.Load(); n != 2 && n != 3 {
		t.Errorf("%d BEAMs started, want one per check and perhaps one booted ahead", n)
	}
	for i, p := range sb.procs {
		if p.closeCount.Load() == 0 {
			t.Errorf("BEAM %d was never ended", i)
		}
	}
}

func TestCheckerTimesOut(t *testing.T) {
	sb := &fakeSandbox{} // never answers
	c := newChecker(sb, &Exercise{Name: "e", Tests: "t"}, Config{Timeout: time.Second}.withDefaults())
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	res := c.Check(ctx, "code")
	if res.Status != sandbox.CheckError || !strings.Contains(res.Message, "longer than") {
		t.Fatalf("%+v", res)
	}
	c.Close() // waits for the BEAM's end
	sb.mu.Lock()
	first := sb.procs[0]
	sb.mu.Unlock()
	if first.closeCount.Load() == 0 {
		t.Error("the BEAM of a timed-out check was not ended")
	}
}

// TestCheckerKeepsASlowBoot: a check whose deadline comes while its BEAM
// still boots answers that the checker is still starting, and that BEAM
// is kept, not ended: the next check uses it once it is up, and no BEAM
// is started over.
func TestCheckerKeepsASlowBoot(t *testing.T) {
	sb := &fakeSandbox{answer: `{"status":"pass","tests":[]}`, booted: make(chan struct{})}
	c := newChecker(sb, &Exercise{Name: "e", Tests: "t"}, Config{Timeout: time.Second}.withDefaults())
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if res := c.Check(ctx, "code"); res.Status != sandbox.CheckError || res.Message != stillStarting {
		t.Fatalf("a check during a slow boot: %+v, want %q", res, stillStarting)
	}
	sb.mu.Lock()
	first := sb.procs[0]
	sb.mu.Unlock()
	if n := first.closeCount.Load(); n != 0 {
		t.Fatalf("the booting BEAM was ended (%d closes)", n)
	}
	close(sb.booted) // the boot ends after the first check's deadline
	if res := c.Check(t.Context(), "code"); res.Status != sandbox.CheckPass {
		t.Fatalf("the next check: %+v", res)
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if !first.requested.Load() {
		t.Error("the next check did not run in the kept BEAM")
	}
	if n := len(sb.procs); n > 2 { // the kept one, and perhaps the next booting
		t.Errorf("%d BEAMs started, want the kept one and at most the next", n)
	}
}

// TestCheckerTimeStartsWhenReady: the checker bounds a check itself, and
// the code's time starts once its BEAM is ready: a boot longer than the
// timeout neither fails a good answer nor is mistaken for code that
// loops; code that never answers ends at the boot plus the timeout.
func TestCheckerTimeStartsWhenReady(t *testing.T) {
	const timeout, boot = 300 * time.Millisecond, 600 * time.Millisecond
	for _, tc := range []struct {
		answer, status, message string
	}{
		{`{"status":"pass","tests":[]}`, sandbox.CheckPass, ""},
		{"", sandbox.CheckError, "longer than"}, // never answers
	} {
		sb := &fakeSandbox{answer: tc.answer, booted: make(chan struct{})}
		c := newChecker(sb, &Exercise{Name: "e", Tests: "t"}, Config{Timeout: timeout}.withDefaults())
		time.AfterFunc(boot, func() { close(sb.booted) })
		began := time.Now()
		done := make(chan sandbox.CheckResult, 1)
		go func() { done <- c.Check(t.Context(), "code") }()
		select {
		case res := <-done:
			took := time.Since(began)
			if res.Status != tc.status || !strings.Contains(res.Message, tc.message) {
				t.Errorf("a check whose BEAM boots for %v, timeout %v: %+v, want %s %q", boot, timeout, res, tc.status, tc.message)
			}
			if tc.answer == "" && (took < boot+timeout || took > boot+timeout+time.Second) {
				t.Errorf("a check that never answers ended after %v, want the boot plus the timeout, %v", took, boot+timeout)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no answer within 5 s: the checker does not bound the check itself")
		}
		c.Close()
	}
}
