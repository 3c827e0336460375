package exercise

import (
	"context"
	"encoding/json"
	"iexbox/internal/sandbox"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSandbox runs fake check BEAMs: each prints ready, reads its request
// and answers with answer (or never, when answer is "").
type fakeSandbox struct {
	sandbox.Sandbox
	answer string
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
	p := &fakeProc{answer: f.answer, closed: make(chan struct{})}
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
	outR, inR  *io.PipeReader
	outW, inW  *io.PipeWriter
	closed     chan struct{}
	closeOnce  sync.Once
	closeCount atomic.Int32
}

func (p *fakeProc) run() {
	p.outW.Write([]byte("booting\nready\n"))
	data, _ := io.ReadAll(p.inR)
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
