package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iexbox/internal/process"
	"iexbox/internal/sandbox"
)

// countingBackend is the process backend whose Ready stands for an engine
// call: it takes a few milliseconds and counts its calls, and the most in
// flight at once.
type countingBackend struct {
	sandbox.Backend
	calls, in, maxIn atomic.Int32
}

func (b *countingBackend) Ready(ctx context.Context) error {
	b.calls.Add(1)
	n := b.in.Add(1)
	defer b.in.Add(-1)
	for m := b.maxIn.Load(); n > m && !b.maxIn.CompareAndSwap(m, n); m = b.maxIn.Load() {
	}
	time.Sleep(20 * time.Millisecond)
	return nil
}

// TestReadyzEngineCached: fifty clients asking /readyz as fast as they can
// for 2.5 s make at most one engine call a second, never two at once;
// capacity and a drain still show at once.
func TestReadyzEngineCached(t *testing.T) {
	b := &countingBackend{Backend: process.New([]string{"cat"}, nil)}
	ts := newTestServer(t, serverOpts{backend: b, max: 1})
	readyz := func(client *http.Client) (int, string) {
		resp, err := client.Get(ts.url + "/readyz")
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	start := time.Now()
	const during = 2500 * time.Millisecond
	var asked, notReady atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for time.Since(start) < during {
				asked.Add(1)
				if code, _ := readyz(client); code != http.StatusOK {
					notReady.Add(1)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	calls := b.calls.Load()
	t.Logf("%d requests to /readyz in %v: %d engine calls", asked.Load(), took.Round(time.Millisecond), calls)
	if most := int32(took/time.Second) + 1; calls > most {
		t.Errorf("%d engine calls in %v, want at most %d: one a second", calls, took.Round(time.Millisecond), most)
	}
	if n := b.maxIn.Load(); n != 1 {
		t.Errorf("%d engine calls in flight at once, want 1", n)
	}
	if n := notReady.Load(); n != 0 {
		t.Errorf("%d of %d answers were not 200", n, asked.Load())
	}

	// Capacity and the drain are read at every request.
	p, _ := ts.start(t, 80, 24)
	if code, body := readyz(http.DefaultClient); code != http.StatusServiceUnavailable || !strings.Contains(body, "busy") {
		t.Errorf("/readyz with the one session taken: %d %q, want 503 saying all are busy", code, body)
	}
	p.c.Close()
	ts.waitActive(t, 0)
	if code, _ := readyz(http.DefaultClient); code != http.StatusOK {
		t.Errorf("/readyz with the session gone: %d, want 200", code)
	}
	ts.mgr.BeginDrain(time.Now().Add(time.Minute))
	if code, _ := readyz(http.DefaultClient); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz draining: %d, want 503", code)
	}
}
