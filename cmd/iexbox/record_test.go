package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"iexbox/internal/client"
	"iexbox/internal/protocol"
)

// recordedSession opens a recorded session on p, types in, and returns
// the recording event once the echo is back, with the connection.
func recordedSession(t *testing.T, ctx context.Context, p *program, in, echo string) (*client.Conn, *protocol.Recording) {
	t.Helper()
	c, _, err := client.Dial(ctx, "ws://"+p.addr+"/ws", client.Options{HandshakeTimeout: patience})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Drop() })
	c.Hello(client.Hello{Cols: 90, Rows: 20, Record: true})
	e, err := c.WaitEvent(ctx, protocol.TypeRecording)
	if err != nil || e.Recording == nil {
		t.Fatalf("no recording event: %v", err)
	}
	rec := e.Recording
	if len(rec.ID) != 32 || rec.DeleteToken == "" || rec.CastURL != "/recordings/"+rec.ID+".cast" || rec.ReplayURL != "/replay/"+rec.ID {
		t.Fatalf("recording event %s", e.Raw)
	}
	c.Input([]byte(in))
	if err := c.WaitOutput(ctx, echo); err != nil {
		t.Fatalf("waiting for the echo: %v; got %q", err, c.Output())
	}
	return c, rec
}

// castOf fetches a cast and returns its header and its output text.
func castOf(t *testing.T, base, id string) (status int, header map[string]any, text string) {
	t.Helper()
	resp, err := http.Get(base + "/recordings/" + id + ".cast")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, nil, ""
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-asciicast" {
		t.Errorf("Content-Type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Scan()
	if err := json.Unmarshal(sc.Bytes(), &header); err != nil {
		t.Fatalf("header %q: %v", sc.Text(), err)
	}
	var b strings.Builder
	for sc.Scan() {
		var ev []any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || len(ev) != 3 {
			t.Fatalf("event %q: %v", sc.Text(), err)
		}
		if ev[1] == "o" {
			b.WriteString(ev[2].(string))
		}
	}
	return 200, header, b.String()
}

func deleteCast(t *testing.T, base, id, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, base+"/recordings/"+id+".cast", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestRecordingSurvivesRestartAndDeletes: a recorded session's cast holds
// its output, Korean included, complete once the session ends, after a
// restart too; only its delete token deletes it.
func TestRecordingSurvivesRestartAndDeletes(t *testing.T) {
	data := t.TempDir()
	args := []string{"-addr", "127.0.0.1:0", "-backend", "process", "-unsafe-no-sandbox", "-command", "cat", "-pool", "0", "-data", data}
	p := startProgram(t, args...)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	c, rec := recordedSession(t, ctx, p, "안녕하세요\n", "안녕하세요\r\n안녕하세요\r\n")
	c.End()
	c.WaitClose(ctx)
	p.cancel()
	<-p.done
	p.done <- nil

	q := startProgram(t, args...)
	base := "http://" + q.addr
	deadline := time.Now().Add(patience)
	for {
		status, h, text := castOf(t, base, rec.ID)
		if status != 200 {
			t.Fatalf("GET cast after restart: %d", status)
		}
		if h["version"] != 2.0 || h["width"] != 90.0 || h["height"] != 20.0 {
			t.Fatalf("header %v", h)
		}
		if strings.Contains(text, "안녕하세요\r\n안녕하세요\r\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cast output %q", text)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := deleteCast(t, base, rec.ID, "not-the-token"); got != 404 {
		t.Fatalf("DELETE with a wrong token: %d", got)
	}
	if got := deleteCast(t, base, rec.ID, rec.DeleteToken); got != 204 {
		t.Fatalf("DELETE with the token: %d", got)
	}
	if status, _, _ := castOf(t, base, rec.ID); status != 404 {
		t.Fatalf("GET after delete: %d", status)
	}
	if got := deleteCast(t, base, rec.ID, rec.DeleteToken); got != 404 {
		t.Fatalf("DELETE again: %d", got)
	}
}

// TestRecordingBoundsWarn: the byte bound stops the recording, not the
// session; the rate refuses with a warning.
func TestRecordingBoundsWarn(t *testing.T) {
	p := startProgram(t, "-addr", "127.0.0.1:0", "-backend", "process", "-unsafe-no-sandbox", "-command", "cat", "-pool", "0",
		"-record-max-bytes", "20", "-record-rate", "1")
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	c, _ := recordedSession(t, ctx, p, "0123456789abcdef\n", "0123456789abcdef\r\n0123456789abcdef\r\n")
	if e, err := c.WaitEvent(ctx, protocol.TypeRecordingStopped); err != nil || e.RecordingStopped.Reason != "size" {
		t.Fatalf("no recording_stopped: %v", err)
	}
	c.Input([]byte("still here\n"))
	if err := c.WaitOutput(ctx, "still here\r\nstill here\r\n"); err != nil {
		t.Fatalf("the session did not go on: %v", err)
	}

	d, _, err := client.Dial(ctx, "ws://"+p.addr+"/ws", client.Options{HandshakeTimeout: patience})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Drop()
	d.Hello(client.Hello{Cols: 80, Rows: 24, Record: true})
	e, err := d.WaitEvent(ctx, protocol.TypeWarning)
	if err != nil || !strings.Contains(string(e.Raw), `"reason":"recording_refused"`) || !strings.Contains(string(e.Raw), `"refused":"rate"`) {
		t.Fatalf("second recording this hour: %s, %v", e.Raw, err)
	}
	d.Input([]byte("ok\n"))
	if err := d.WaitOutput(ctx, "ok\r\nok\r\n"); err != nil {
		t.Fatalf("the refused session did not go on: %v", err)
	}
}

// TestRecordingsOff: ready says so and nothing is served.
func TestRecordingsOff(t *testing.T) {
	p := startProgram(t, "-addr", "127.0.0.1:0", "-backend", "process", "-unsafe-no-sandbox", "-command", "cat", "-pool", "0", "-recordings", "off")
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	c, _, err := client.Dial(ctx, "ws://"+p.addr+"/ws", client.Options{HandshakeTimeout: patience})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Drop()
	c.Hello(client.Hello{Cols: 80, Rows: 24, Record: true})
	e, err := c.WaitEvent(ctx, protocol.TypeReady)
	if err != nil || e.Ready.Recordings != "off" {
		t.Fatalf("ready %s, %v", e.Raw, err)
	}
	if status, _, _ := castOf(t, "http://"+p.addr, strings.Repeat("a", 32)); status != 404 {
		t.Fatalf("GET a cast with recordings off: %d", status)
	}
}
