package docker

import (
	"errors"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"

	"iexbox/internal/sandbox"
)

func labelled(id, sessionID string) container.Summary {
	return container.Summary{ID: id, Labels: map[string]string{LabelInstance: "test-inst", LabelSession: sessionID}}
}

// TestReap: after an engine outage, what no live sandbox owns is removed,
// and only that.
func TestReap(t *testing.T) {
	f := newFakeAPI()
	rt := newTestRuntime(t, f, Config{Policy: sandbox.Policy{UIDBase: 5000}})

	live := startSandbox(t, f, rt, sandbox.Spec{ID: "live", Cols: 80, Rows: 24})

	// A session that ended while the engine was down: its removal failed,
	// so its container (and uid) are left to Reap.
	f.removeErr = map[string]error{testID: errdefs.System(errors.New("engine down"))}
	dead := startSandbox(t, f, rt, sandbox.Spec{ID: "dead", Cols: 80, Rows: 24})
	if err := dead.Close(); err == nil {
		t.Fatal("Close succeeded against a failing engine")
	}
	// Another, whose container then went some other way (removed by hand).
	vanished := startSandbox(t, f, rt, sandbox.Spec{ID: "vanished", Cols: 80, Rows: 24})
	if err := vanished.Close(); err == nil {
		t.Fatal("Close succeeded against a failing engine")
	}
	f.removeErr = nil
	select {
	case <-rt.Leftovers():
	default:
		t.Error("no Leftovers signal after a removal failed")
	}
	held := rt.uids.Len() // the dead sandboxes' uids among them: they may still run

	// A start that fails after its create: removed by Start itself, but if
	// that removal failed the container must not count as owned.
	f.startErr, f.removeErr = errors.New("start refused"), map[string]error{testID: errors.New("engine down")}
	if _, err := rt.Start(t.Context(), sandbox.Spec{ID: "failed", Cols: 80, Rows: 24}); err == nil {
		t.Fatal("Start succeeded")
	}
	f.startErr, f.removeErr = nil, nil
	if !rt.uids.Held(5000 + 6) { // the fourth pair
		t.Error("the failed start's uid was freed while its container may still run")
	}

	f.mu.Lock()
	f.list = []container.Summary{
		labelled("c-live", "live"),
		labelled("c-dead", "dead"),
		labelled("c-failed", "failed"),
		labelled("c-unknown", "created-by-a-cut-off-request"),
	}
	f.removed, f.removeOpts = nil, nil
	f.mu.Unlock()

	n, err := rt.Reap(t.Context())
	if err != nil || n != 3 {
		t.Errorf("Reap = %d, %v; want 3, nil", n, err)
	}
	f.mu.Lock()
	removed := slices.Sorted(slices.Values(f.removed))
	f.mu.Unlock()
	if want := []string{"c-dead", "c-failed", "c-unknown"}; !slices.Equal(removed, want) {
		t.Errorf("reaped %v, want %v (never the live sandbox's)", removed, want)
	}
	if got := rt.uids.Len(); got != held-2 {
		t.Errorf("%d uids held after the reap, want %d: a dead sandbox's uid is free once its container is gone", got, held-2)
	}
	if rt.uids.Held(5000 + 6) { // "failed" had the fourth pair, held until its container went
		t.Error("the failed start's uid is still held after the reap")
	}
	if !rt.owners.Owned("live") {
		t.Error("the live sandbox no longer counts as owned")
	}

	// Once the live sandbox is closed, its container is no one's.
	live.Close()
	if rt.owners.Owned("live") {
		t.Error("a closed sandbox still counts as owned")
	}
}

// TestReapListFails: an engine that does not answer is an error, and
// nothing is removed.
func TestReapListFails(t *testing.T) {
	f := newFakeAPI()
	f.listErr = errors.New("engine down")
	rt := newTestRuntime(t, f, Config{})
	if n, err := rt.Reap(t.Context()); err == nil || n != 0 {
		t.Errorf("Reap = %d, %v; want 0 and an error", n, err)
	}
}
