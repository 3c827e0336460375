package pool

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"iexbox/internal/sandbox"
)

var testToolchains = []Toolchain{{Name: "default"}, {Name: "parsing", Image: "tc:parsing"}, {Name: "web", Image: "tc:web"}}

// TestPoolsPinnedTotal: -pool N stays a total over the toolchains: one
// warm for each while N lasts, the rest for the default.
func TestPoolsPinnedTotal(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want map[string]int
	}{
		{4, map[string]int{"default": 2, "parsing": 1, "web": 1}},
		{1, map[string]int{"default": 1, "parsing": 0, "web": 0}},
		{0, map[string]int{"default": 0, "parsing": 0, "web": 0}},
	} {
		ps := NewPools(&bootingRuntime{}, testToolchains, Config{Size: tc.n}, nil, slog.New(slog.DiscardHandler))
		got := map[string]int{}
		for n, st := range ps.ByToolchain() {
			got[n] = st.Target
		}
		for n, w := range tc.want {
			if got[n] != w {
				t.Errorf("-pool %d: %s keeps %d, want %d (all: %v)", tc.n, n, got[n], w, got)
			}
		}
		if st := ps.Status(); st.Target != tc.n || st.Max != tc.n {
			t.Errorf("-pool %d: the total %+v", tc.n, st)
		}
	}
}

// TestPoolsBootTheirImages: each toolchain's pool boots its own image, and
// all of them together stay within the shared bound of -pool auto, each
// from a floor of one.
func TestPoolsBootTheirImages(t *testing.T) {
	rt := &bootingRuntime{}
	ps := NewPools(rt, testToolchains, Config{Auto: &AutoSize{Floor: 4, Max: 3, Bound: "test"}, Parallel: 2}, nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ps.Run(ctx); close(done) }()
	waitFor(t, "one warm per toolchain", func() bool { return ps.Status().Ready == 3 })
	rt.mu.Lock()
	images := slices.Sorted(slices.Values(rt.images))
	rt.mu.Unlock()
	if !slices.Equal(images, []string{"", "tc:parsing", "tc:web"}) {
		t.Errorf("images booted: %q", images)
	}
	p, _ := ps.Get("parsing")
	sb, warm, err := p.Get(ctx, sandbox.Spec{ID: "x", Cols: 80, Rows: 24})
	if err != nil || !warm {
		t.Fatalf("get: warm %v, %v", warm, err)
	}
	sb.Close()
	cancel()
	<-done
	if n := rt.live(); n != 0 {
		t.Errorf("%d sandboxes left", n)
	}
}
