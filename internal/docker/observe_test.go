package docker

import (
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"iexbox/internal/sandbox"
)

type recordingObserver struct {
	mu  sync.Mutex
	ops []string
}

func (o *recordingObserver) DockerRequest(op string, _ time.Duration, _ error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ops = append(o.ops, op)
}

// TestObserved: every kind of Engine request the metrics name is reported.
func TestObserved(t *testing.T) {
	f := newFakeAPI()
	obs := &recordingObserver{}
	rt := New(f, Config{Instance: "test-inst"}, slog.New(slog.NewTextHandler(t.Output(), nil)), obs)
	sb := startSandbox(t, f, rt, sandbox.Spec{ID: "s", Cols: 80, Rows: 24})
	if err := sb.Resize(t.Context(), 100, 30); err != nil {
		t.Fatal(err)
	}
	sb.Close()
	if _, err := rt.Reap(t.Context()); err != nil {
		t.Fatal(err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for _, op := range []string{"create", "attach", "start", "resize", "remove", "list"} {
		if !slices.Contains(obs.ops, op) {
			t.Errorf("%s not observed; observed %v", op, obs.ops)
		}
	}
}
