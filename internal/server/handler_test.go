package server

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"

	"iexbox/internal/pool"
	"iexbox/internal/process"
)

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestHealthz(t *testing.T) {
	ts := newTestServer(t, serverOpts{})
	resp, body := get(t, ts.url+"/healthz")
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("/healthz: %d %q, want 200 ok", resp.StatusCode, body)
	}
}

func TestStatus(t *testing.T) {
	ts := newTestServer(t, serverOpts{max: 3})
	status := func() Status {
		t.Helper()
		resp, body := get(t, ts.url+"/status")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/status: %d", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var s Status
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("/status body %q: %v", body, err)
		}
		// The documented field names, not just what Status round-trips.
		var raw map[string]any
		json.Unmarshal(body, &raw)
		for _, k := range []string{"version", "runtime", "sessions"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("/status lacks %q: %s", k, body)
			}
		}
		return s
	}

	// The test server is wired as the program is: a pool (of size 0
	// here) and the backend's warnings.
	want := Status{Version: "test-version", Instance: "test-inst", Runtime: "process", Sessions: SessionsStatus{Active: 0, Max: 3},
		Pool:       &pool.Status{Reason: "disabled: -pool 0, sandboxes boot on demand"},
		Toolchains: map[string]pool.Status{"default": {Reason: "disabled: -pool 0, sandboxes boot on demand"}},
		Warnings:   process.New(nil, nil).Warnings()}
	if got := status(); !reflect.DeepEqual(got, want) {
		t.Errorf("/status = %+v, want %+v", got, want)
	}
	p, _ := ts.start(t, 80, 24)
	want.Sessions.Active = 1
	if got := status(); !reflect.DeepEqual(got, want) {
		t.Errorf("/status with a session = %+v, want %+v", got, want)
	}
	p.c.Drop()
	ts.waitActive(t, 0)
	want.Sessions.Active = 0
	if got := status(); !reflect.DeepEqual(got, want) {
		t.Errorf("/status after the session = %+v, want %+v", got, want)
	}
}

func TestNoPageWithoutFS(t *testing.T) {
	ts := newTestServer(t, serverOpts{})
	if resp, _ := get(t, ts.url+"/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET / without a page: %d, want 404", resp.StatusCode)
	}
}
