package pool

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"iexbox/internal/sandbox"
)

// bootingSandbox prints a banner and a prompt, then waits until it exits
// (killed by the test) or is closed.
type bootingSandbox struct {
	id     string
	out    *bytes.Reader
	exited chan struct{}
	once   sync.Once
	closed chan struct{}
	cOnce  sync.Once
}

func newBootingSandbox(id string) *bootingSandbox {
	return &bootingSandbox{
		id:     id,
		out:    bytes.NewReader([]byte("banner\r\niex(1)> ")),
		exited: make(chan struct{}), closed: make(chan struct{}),
	}
}

func (b *bootingSandbox) Read(p []byte) (int, error) {
	if b.out.Len() > 0 {
		return b.out.Read(p)
	}
	select {
	case <-b.exited:
	case <-b.closed:
	}
	return 0, io.EOF
}
func (b *bootingSandbox) ID() string                  { return b.id }
func (b *bootingSandbox) Write(p []byte) (int, error) { return len(p), nil }
func (b *bootingSandbox) Exec(context.Context, sandbox.ExecSpec) (sandbox.Process, error) {
	return nil, errors.ErrUnsupported
}
func (b *bootingSandbox) Resize(context.Context, int, int) error { return nil }
func (b *bootingSandbox) kill()                                  { b.once.Do(func() { close(b.exited) }) }
func (b *bootingSandbox) Close() error {
	b.cOnce.Do(func() { close(b.closed) })
	b.kill()
	return nil
}
func (b *bootingSandbox) Wait(ctx context.Context) (sandbox.ExitStatus, error) {
	select {
	case <-b.exited:
		return sandbox.ExitStatus{}, nil
	case <-ctx.Done():
		return sandbox.ExitStatus{}, ctx.Err()
	}
}

type bootingRuntime struct {
	mu      sync.Mutex
	started []*bootingSandbox
	images  []string // each start's Spec.Image
}

func (r *bootingRuntime) Name() string { return "fake" }
func (r *bootingRuntime) Start(_ context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb := newBootingSandbox(spec.ID)
	r.started = append(r.started, sb)
	r.images = append(r.images, spec.Image)
	return sb, nil
}

func (r *bootingRuntime) live() (n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, sb := range r.started {
		select {
		case <-sb.closed:
		default:
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPoolHandsOverRefillsAndDropsTheDead covers the pool's life: it fills
// to its size, hands over a member with its boot output byte for byte,
// refills, replaces a member that dies while waiting, and leaves nothing
// running when it stops.
func TestPoolHandsOverRefillsAndDropsTheDead(t *testing.T) {
	rt := &bootingRuntime{}
	mgr := unbounded{}
	pool := New(rt, Config{Size: 2, Prompt: []byte("iex(1)> "), Cols: 80, Rows: 24, Parallel: 2}, mgr, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); pool.Run(ctx) }()

	waitFor(t, "a full pool", func() bool { return pool.Status().Ready == 2 })

	sb, warm, err := pool.Get(t.Context(), sandbox.Spec{ID: "ignored", Cols: 100, Rows: 30})
	if err != nil {
		t.Fatal(err)
	}
	if !warm {
		t.Error("the sandbox did not come from the pool")
	}
	if id := sb.ID(); id == "ignored" || id == "" {
		t.Errorf("session id %q, want the warm sandbox's own", id)
	}
	got, _ := io.ReadAll(io.LimitReader(sb, int64(len("banner\r\niex(1)> "))))
	if string(got) != "banner\r\niex(1)> " {
		t.Errorf("boot output %q, want the banner and prompt byte for byte", got)
	}
	waitFor(t, "a refill", func() bool { return pool.Status().Ready == 2 })

	rt.mu.Lock()
	victim := rt.started[len(rt.started)-1] // a waiting member
	rt.mu.Unlock()
	victim.kill()
	waitFor(t, "the dead member replaced", func() bool {
		select {
		case <-victim.closed:
			return pool.Status().Ready == 2
		default:
			return false
		}
	})

	sb.Close()
	cancel()
	<-done
	if n := rt.live(); n != 0 {
		t.Errorf("%d sandboxes left running after the pool stopped", n)
	}
	if st := pool.Status(); st.Ready != 0 || st.Starting != 0 {
		t.Errorf("pool status %+v after stop, want empty", st)
	}
}

// TestPoolHoldsSeats: warm sandboxes held for classes come on top of the
// pool's own size, survive its resizes, and go when the hold ends.
func TestPoolHoldsSeats(t *testing.T) {
	rt := &bootingRuntime{}
	pool := New(rt, Config{Size: 1, Prompt: []byte("iex(1)> "), Cols: 80, Rows: 24, Parallel: 2}, unbounded{}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); pool.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "the pool's own one", func() bool { return pool.Status().Ready == 1 })
	pool.Hold(3)
	waitFor(t, "three seats beside it", func() bool { return pool.Status().Ready == 4 })
	if st := pool.Status(); st.Target != 4 || st.Held != 3 {
		t.Fatalf("status %+v, want target 4 with 3 held", st)
	}
	pool.resize() // the recycle tick: held seats are not beyond the target
	if st := pool.Status(); st.Ready != 4 {
		t.Fatalf("a resize dropped held seats: %+v", st)
	}
	now := time.Now()
	pool.mu.Lock()
	pool.now = func() time.Time { return now }
	pool.mu.Unlock()
	pool.Hold(0)
	pool.resize()
	if st := pool.Status(); st.Ready != 4 {
		t.Fatalf("seats dropped at once when the hold fell: %+v, want them kept for %v", st, heldGrace)
	}
	pool.mu.Lock()
	pool.now = func() time.Time { return now.Add(heldGrace) }
	pool.mu.Unlock()
	pool.resize()
	if st := pool.Status(); st.Ready != 1 || st.Target != 1 {
		t.Fatalf("after the hold ended: %+v, want the pool's own one", st)
	}
}

// TestStrangersLeaveSeats: the members held for classes go to learners
// only; a stranger waits for a boot of its own, and the seats stay warm.
func TestStrangersLeaveSeats(t *testing.T) {
	rt := &bootingRuntime{}
	pool := New(rt, Config{Size: 0, Prompt: []byte("iex(1)> "), Cols: 80, Rows: 24, Parallel: 2}, unbounded{}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); pool.Run(ctx) }()
	defer func() { cancel(); <-done }()

	pool.Hold(2)
	waitFor(t, "two seats", func() bool { return pool.Status().Ready == 2 })
	stranger, err := pool.Join("192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Leave()
	pool.mu.Lock()
	queued := stranger.queued
	pool.mu.Unlock()
	if !queued {
		t.Fatal("a stranger was granted a seat held for a class")
	}
	waitFor(t, "a boot for the stranger", func() bool { return stranger.Status().Granted })
	if sb := stranger.Take(); sb == nil {
		t.Fatal("the stranger's grant held no sandbox")
	} else {
		sb.Close()
	}
	if st := pool.Status(); st.Ready != 2 {
		t.Fatalf("after the stranger's session began: %+v, want both seats still warm", st)
	}

	learner, err := pool.JoinSeat("class ABCDEFGH 1")
	if err != nil {
		t.Fatal(err)
	}
	defer learner.Leave()
	if !learner.Status().Granted {
		t.Fatal("a learner was not granted a held seat at once")
	}
}
