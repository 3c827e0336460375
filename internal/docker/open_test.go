package docker

import (
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"

	"iexbox/internal/sandbox"
)

// TestCloseRemovesWhatIsLeft: a container whose removal failed while the
// server ran (an engine slow under load) is removed when the backend
// closes, and the uid range is given back only once nothing is left.
func TestCloseRemovesWhatIsLeft(t *testing.T) {
	f := newFakeAPI()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	b, err := open(t.Context(), f, Config{Instance: "blue", Policy: sandbox.Policy{Isolation: "runc", UIDBase: 100000}}, Options{}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	claim := b.slot.container
	f.mu.Lock()
	f.list = []container.Summary{{ID: "left-behind", Labels: map[string]string{LabelInstance: "blue", LabelSession: "s1"}}}
	f.removeErr = map[string]error{"left-behind": errors.New("engine slow")}
	f.mu.Unlock()

	b.Close()
	f.mu.Lock()
	removed := slices.Clone(f.removed)
	f.mu.Unlock()
	if !slices.Contains(removed, "left-behind") {
		t.Errorf("removed %v: Close did not try the leftover", removed)
	}
	if slices.Contains(removed, claim) {
		t.Error("the uid range was given back while a container of it may still run")
	}

	// Once the engine removes it, the claim goes too.
	f = newFakeAPI()
	b, err = open(t.Context(), f, Config{Instance: "blue", Policy: sandbox.Policy{Isolation: "runc", UIDBase: 100000}}, Options{}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.list = []container.Summary{{ID: "left-behind", Labels: map[string]string{LabelInstance: "blue", LabelSession: "s1"}}}
	f.mu.Unlock()
	b.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.removed, "left-behind") || !slices.Contains(f.removed, b.slot.container) {
		t.Errorf("removed %v, want the leftover and then the uid claim", f.removed)
	}
}
