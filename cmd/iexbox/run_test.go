package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/client"
	"iexbox/internal/protocol"
)

const patience = 10 * time.Second

// watchedWriter is an io.Writer safe for concurrent use whose content can be
// waited on.
type watchedWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newWatchedWriter() *watchedWriter { return &watchedWriter{changed: make(chan struct{}, 1)} }

func (w *watchedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return w.buf.Write(p)
}

func (w *watchedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// program is run started in-process.
type program struct {
	cancel context.CancelFunc
	done   chan error
	stdout *watchedWriter
	addr   string
}

// startProgram runs the program with args until cleanup, which cancels it
// and waits for it to return.
func startProgram(t *testing.T, args ...string) *program {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	p := &program{cancel: cancel, done: make(chan error, 1), stdout: newWatchedWriter()}
	go func() {
		p.done <- run(ctx, append([]string{"iexbox"}, args...), env(nil), p.stdout, t.Output())
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(patience):
			t.Errorf("run did not return after its context ended")
		}
	})

	served := regexp.MustCompile(`iexbox serving on http://(\S+)\n`)
	deadline := time.After(patience)
	for {
		if m := served.FindStringSubmatch(p.stdout.String()); m != nil {
			p.addr = m[1]
			return p
		}
		select {
		case <-p.stdout.changed:
		case err := <-p.done:
			t.Fatalf("run returned %v before serving", err)
		case <-deadline:
			t.Fatalf("run never said where it serves; stdout %q", p.stdout.String())
		}
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	p := startProgram(t, "-addr", "127.0.0.1:0", "-backend", "process", "-unsafe-no-sandbox", "-command", "cat",
		"-instance", "cmd-test", "-idle-timeout", "1m", "-max-sessions", "2", "-log-level", "debug")
	if host, _, _ := net.SplitHostPort(p.addr); host != "127.0.0.1" {
		t.Fatalf("serving on %s, want 127.0.0.1", p.addr)
	}
	base := "http://" + p.addr

	for path, want := range map[string]int{"/healthz": 200, "/status": 200, "/": 200} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if path == "/status" {
			var st struct {
				Runtime  string
				Instance string
				Sessions struct{ Active, Max int }
			}
			if err := json.Unmarshal(body, &st); err != nil || st.Runtime != "process" || st.Instance != "cmd-test" || st.Sessions.Max != 2 {
				t.Errorf("/status %s (%v)", body, err)
			}
		}
		if path == "/" && !strings.Contains(strings.ToLower(string(body)), "<html") {
			t.Errorf("GET / is not the page: %.200q", body)
		}
	}
	// The process backend isolates nothing: nothing a proxy forwards is
	// served, not even /healthz, nor the WebSocket.
	for _, h := range []http.Header{{"X-Forwarded-For": {"192.0.2.1"}}, {"Forwarded": {"for=192.0.2.1"}}} {
		for _, path := range []string{"/healthz", "/ws"} {
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header = h
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s with %v: %d, want 403", path, h, resp.StatusCode)
			}
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	c, _, err := client.Dial(ctx, "ws://"+p.addr+"/ws", client.Options{HandshakeTimeout: patience})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Drop()
	c.Hello(client.Hello{Cols: 80, Rows: 24})
	e, err := c.Next(ctx)
	for err == nil && e.Type == protocol.TypeQueued { // waiting for the pool's first sandbox
		e, err = c.Next(ctx)
	}
	if ready := e.Ready; err != nil || ready == nil || e.OutputBefore != 0 || ready.Runtime != "process" ||
		ready.Instance != "cmd-test" || ready.IdleTimeout != 60 || ready.MaxLifetime != 1800 {
		t.Fatalf("ready = %s, %v", e.Raw, err)
	}
	c.Input([]byte("ping\n"))
	if err := c.WaitOutput(ctx, "ping\r\nping\r\n"); err != nil {
		t.Fatalf("waiting for the echo: %v; got %q", err, c.Output())
	}

	// SIGTERM: the client is told, then closed with 1001, and run returns nil.
	start := time.Now()
	p.cancel()
	e, err = c.WaitEvent(ctx, protocol.TypeExit)
	if err != nil {
		t.Fatalf("waiting for the exit event: %v", err)
	}
	if exit := e.Exit; exit == nil || exit.Reason != "shutdown" || exit.Code != nil {
		t.Errorf("exit event %s, want shutdown with code null", e.Raw)
	}
	st, err := c.WaitClose(ctx)
	var ce *websocket.CloseError
	if err != nil || !errors.As(st.Err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("connection ended with %v (%v), want close 1001", st.Err, err)
	}
	if _, n := c.Received(); n != e.OutputBefore || c.Events()[len(c.Events())-1].Type != protocol.TypeExit {
		t.Errorf("frames came between the exit event and the close")
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("run = %v, want nil after a clean shutdown", err)
		}
		p.done <- err // for the cleanup
	case <-time.After(patience):
		t.Fatal("run did not return after shutdown")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("shutdown took %v, want well under the spec's seconds", took)
	}
	if _, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
		t.Errorf("still accepting connections after run returned")
	}
}

func TestRunRefusesBadSetup(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad flag", []string{"-memory", "lots"}, "-memory"},
		{"process backend beyond loopback", []string{"-backend", "process", "-unsafe-no-sandbox", "-addr", "0.0.0.0:0"}, "loopback"},
		{"process backend not asked for by name", []string{"-backend", "process", "-addr", "127.0.0.1:0"}, "-unsafe-no-sandbox"},
		{"process backend behind a proxy", []string{"-backend", "process", "-unsafe-no-sandbox", "-addr", "127.0.0.1:0",
			"-trusted-proxies", "127.0.0.1"}, "-trusted-proxies"},
		{"host network", []string{"-network", "host"}, "-unsafe-network"},
		{"bad log format", []string{"-backend", "process", "-unsafe-no-sandbox", "-addr", "127.0.0.1:0", "-log-format", "xml"}, "-log-format"},
		{"bad log level", []string{"-backend", "process", "-unsafe-no-sandbox", "-addr", "127.0.0.1:0", "-log-level", "loud"}, "-log-level"},
		// Checked before any engine is asked.
		{"bad origins", []string{"-addr", "127.0.0.1:0", "-origins", "lessons.example"}, "origin"},
		{"address in use", []string{"-backend", "process", "-unsafe-no-sandbox", "-addr", busy.Addr().String()}, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			err := run(t.Context(), append([]string{"iexbox"}, tt.args...), env(nil), &stdout, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run = %v, want an error mentioning %q", err, tt.want)
			}
			if exitCode(err) != 1 {
				t.Errorf("exit code %d, want 1", exitCode(err))
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q: nothing should be served", stdout.String())
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"iexbox", "-h"}, env(nil), &stdout, &stderr)
	if !errors.Is(err, errHelp) {
		t.Fatalf("run -h = %v, want errHelp", err)
	}
	if !strings.Contains(stderr.String(), "Usage: iexbox") || stdout.Len() != 0 {
		t.Errorf("stdout %q stderr %q, want the usage on stderr only", stdout.String(), stderr.String())
	}
}
