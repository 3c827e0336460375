package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL test cluster

	"iexbox/internal/client"
	"iexbox/internal/store"
)

// recorded opens a session whose hello asks for a recording and returns
// it with the recording's id and delete token, at the first prompt.
func recorded(t *testing.T, s *testServer) (c *wsClient, id, deleteToken string) {
	t.Helper()
	c = s.connect(t)
	c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Record: true})
	c.waitEvent(t, "ready", readyWait)
	e := c.waitEvent(t, "recording", eventWait)
	id, deleteToken = field[string](t, e, "id"), field[string](t, e, "delete_token")
	if len(id) != 32 || len(deleteToken) < 22 || field[string](t, e, "cast_url") != "/recordings/"+id+".cast" ||
		field[string](t, e, "replay_url") != "/replay/"+id {
		t.Fatalf("recording event %s", e.raw)
	}
	c.waitPrompt(t, readyWait)
	return c, id, deleteToken
}

// cast fetches a recording; status is the HTTP status.
func cast(t *testing.T, s *testServer, id string) (status int, body string) {
	t.Helper()
	resp, err := http.Get(s.URL() + "/recordings/" + id + ".cast")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && resp.Header.Get("Content-Type") != "application/x-asciicast" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, string(b)
}

// castOutput checks a cast is asciicast v2 and returns its output text,
// escapes removed, and its markers.
func castOutput(t *testing.T, body string) (text string, marks []string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 16<<20)
	sc.Scan()
	var h struct{ Version, Width, Height int }
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Version != 2 || h.Width < 1 || h.Height < 1 {
		t.Fatalf("header %q: %v", sc.Text(), err)
	}
	var out strings.Builder
	last := 0.0
	for sc.Scan() {
		var ev []any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || len(ev) != 3 {
			t.Fatalf("event %q: %v", sc.Text(), err)
		}
		at, _ := ev[0].(float64)
		if at < last {
			t.Fatalf("event times go back at %q", sc.Text())
		}
		last = at
		switch ev[1] {
		case "o":
			out.WriteString(ev[2].(string))
		case "m":
			marks = append(marks, ev[2].(string))
		}
	}
	return cleanOutput([]byte(out.String())), marks
}

// waitCast waits until the recording's cast holds want (events reach the
// store every second).
func waitCast(t *testing.T, s *testServer, id, want string) string {
	t.Helper()
	var text string
	deadline := time.Now().Add(eventWait)
	for time.Now().Before(deadline) {
		if status, body := cast(t, s, id); status == 200 {
			if text, _ = castOutput(t, body); strings.Contains(text, want) {
				return body
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the cast of %s never held %q: %q", id, want, text)
	return ""
}

// recordingEnded reads from the data folder whether the recording is
// complete; the server may still run (SQLite lets a second reader in).
func recordingEnded(t *testing.T, data, id string) bool {
	t.Helper()
	st, err := store.Open(t.Context(), store.Config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.RecordingInfo(t.Context(), id)
	if err != nil {
		t.Fatalf("recording %s: %v", id, err)
	}
	return !r.Ended.IsZero()
}

// TestRecordingPlaysEverywhere: a recorded session's cast is asciicast v2
// that Debian's asciinema plays back, Korean included; it survives a
// restart; the replay page shows it; only its delete token deletes it; a
// session that did not ask leaves none.
func TestRecordingPlaysEverywhere(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "-pool", "0", "-data", data)
	c, id, del := recorded(t, s)
	c.eval(t, `IO.puts("안녕하세요, " <> "세계")`)
	c.resize(t, 120, 40)
	c.eval(t, `IO.puts("after " <> "resize")`)
	c.send(t, "System.halt()\r")
	c.requireClose(t, closeExited, eventWait)

	plain, _ := s.openSession(t, defaultCols, defaultRows)
	plain.eval(t, "1 + 1")
	plain.closeNormally()

	body := waitCast(t, s, id, "안녕하세요, 세계")
	if !strings.Contains(body, `"r","120x40"`) {
		t.Errorf("no resize event in the cast")
	}
	s.stop(t)
	st, err := store.Open(t.Context(), store.Config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := st.RecordingBytes(t.Context())
	st.Close()
	if int(n) != len(body)-strings.Index(body, "\n")-1 {
		t.Errorf("stored bytes %d: the session without record left a recording too?", n)
	}

	s2 := startServer(t, "-pool", "0", "-data", data)
	status, after := cast(t, s2, id)
	if status != 200 || after != body {
		t.Fatalf("after a restart: %d, the same cast: %v", status, after == body)
	}
	if !recordingEnded(t, data, id) {
		t.Errorf("an exited session's recording is not complete")
	}

	// Debian's asciinema plays it back; it opens the terminal, so a pty.
	if _, err := exec.LookPath("asciinema"); err != nil {
		t.Errorf("asciinema is missing (apt-get install asciinema): %v", err)
	} else {
		file := filepath.Join(t.TempDir(), "s.cast")
		os.WriteFile(file, []byte(body), 0o644)
		out, err := exec.Command("script", "-qec", "asciinema cat "+file, "/dev/null").CombinedOutput()
		if text := cleanOutput(out); err != nil || !strings.Contains(text, "안녕하세요, 세계") || !strings.Contains(text, "after resize") {
			t.Errorf("asciinema cat: %v: %q", err, text)
		}
	}

	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s2.URL()+"/replay/"+id))
	waitJS(t, ctx, "replay ready", `!!(window.iexboxReplay && window.iexboxReplay.ready)`)
	eval[any](t, ctx, `window.iexboxReplay.seek(window.iexboxReplay.duration())`)
	waitJS(t, ctx, "replayed text", `window.iexboxReplay.screen().includes('after resize')`)
	time.Sleep(300 * time.Millisecond) // output queued before the seek, if any, lands
	if n := eval[int](t, ctx, `window.iexboxReplay.screen().split('after resize').length - 1`); n != 1 {
		t.Errorf("after a seek the screen shows the text %d times", n)
	}
	if eval[bool](t, ctx, `document.getElementById('live').offsetParent !== null`) {
		t.Errorf("Back to live shows on a replay opened without a live session")
	}
	if text := eval[string](t, ctx, `window.iexboxReplay.text()`); !strings.Contains(text, "안녕하세요, 세계") {
		t.Errorf("copy text %q", text)
	}
	screenshot(t, ctx, "replay.png")

	for token, want := range map[string]int{"wrong": 404, del: 204} {
		req, _ := http.NewRequest(http.MethodDelete, s2.URL()+"/recordings/"+id+".cast", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("DELETE with token %.6s…: %d, want %d", token, resp.StatusCode, want)
		}
	}
	if status, _ := cast(t, s2, id); status != 404 {
		t.Errorf("after delete: %d", status)
	}
}

// TestRecordingEndsWithTheSession: whatever ends a session completes its
// recording with everything shown before the end.
func TestRecordingEndsWithTheSession(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "-pool", "0", "-data", data)
	idler := startServer(t, "-pool", "0", "-data", data, "-idle-timeout", "4s")
	life := startServer(t, "-pool", "0", "-data", data, "-max-lifetime", "5s")
	type ending struct {
		id, marker string
	}
	var ends []ending
	start := func(s *testServer, name string) *wsClient {
		c, id, _ := recorded(t, s)
		c.eval(t, `IO.puts("end-`+name+`" <> "-marker")`)
		ends = append(ends, ending{id, "end-" + name + "-marker"})
		return c
	}
	exited := start(s, "exited")
	closed := start(s, "closed")
	idle := start(idler, "idle")
	lifetime := start(life, "lifetime")
	shutdown := start(s, "shutdown")

	exited.send(t, "System.halt()\r")
	exited.requireClose(t, closeExited, eventWait)
	closed.closeNormally()
	idle.requireClose(t, closeIdleTimeout, 10*time.Second)
	lifetime.requireClose(t, closeMaxLifetime, 10*time.Second)
	s.stop(t)
	shutdown.requireClose(t, closeShutdown, eventWait)

	for _, e := range ends {
		if !recordingEnded(t, data, e.id) {
			t.Errorf("%s: the recording is not complete", e.marker)
		}
		waitCast(t, life, e.id, e.marker)
	}
}

// TestRecordingBounds: the byte bound stops the recording and not the
// session; beyond the storage bound, then the address's rate, a
// recording is refused with a warning and the session goes on.
func TestRecordingBounds(t *testing.T) {
	s := startServer(t, "-pool", "0", "-record-max-bytes", "4k", "-record-storage", "3k", "-record-rate", "2")
	c, id, _ := recorded(t, s)
	c.send(t, `IO.puts(String.duplicate("x", 8000))`+"\r")
	if e := c.waitEvent(t, "recording_stopped", eventWait); e.Reason != "size" {
		t.Errorf("recording_stopped %s", e.raw)
	}
	c.waitPrompt(t, evalWait)
	waitCast(t, s, id, strings.Repeat("x", 3000)) // stored: the storage bound counts what is stored
	if got := c.eval(t, `"still" <> " going"`); got != `"still going"` {
		t.Errorf("after the byte bound: %q", got)
	}
	for _, want := range []string{"storage", "rate"} {
		d := s.connect(t)
		d.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Record: true})
		d.waitEvent(t, "ready", readyWait)
		e := d.waitEvent(t, "warning", eventWait)
		if e.Reason != "recording_refused" || field[string](t, e, "refused") != want {
			t.Errorf("want a %s refusal: %s", want, e.raw)
		}
		d.waitPrompt(t, readyWait)
		if got := d.eval(t, "40 + 2"); got != "42" {
			t.Errorf("a refused recording's session: %q", got)
		}
		d.closeNormally()
	}
}

// recordedWithHistory is a recorded, shared session whose output says
// "said early", clears the screen, then says "said later": a viewer who
// joins now sees only the last on screen, the recording has both. It
// returns the presenter, the recording's id and the watch token.
func recordedWithHistory(t *testing.T, s *testServer) (*wsClient, string, string) {
	t.Helper()
	p, id, _ := recorded(t, s)
	p.eval(t, `IO.puts("said " <> "early")`)
	p.eval(t, `IO.write(IO.ANSI.clear())`) // a late viewer's screen starts after it
	p.eval(t, `IO.puts("said " <> "later")`)
	return p, id, share(t, p)
}

// TestRecordingViewerCatchesUp: a viewer of a recorded session is told,
// can scrub back through what was recorded so far on the replay page and
// return to the live session.
func TestRecordingViewerCatchesUp(t *testing.T) {
	s := startServer(t, "-pool", "0")
	p, id, token := recordedWithHistory(t, s)

	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/watch/"+token))
	waitJS(t, ctx, "recording notice", `!!(window.iexbox && window.iexbox.recording())`)
	if got := eval[string](t, ctx, `window.iexbox.recording().id`); got != id {
		t.Fatalf("viewer told recording %q, want %q", got, id)
	}
	if eval[bool](t, ctx, `'delete_token' in window.iexbox.recording()`) {
		t.Errorf("a viewer was told the delete token")
	}
	link := eval[string](t, ctx, `document.getElementById('recording-link').href`)
	if !strings.Contains(link, "/replay/"+id) || !strings.Contains(link, "live=") {
		t.Fatalf("catch-up link %q", link)
	}
	time.Sleep(1500 * time.Millisecond) // a flush
	run(t, ctx, chromedp.Navigate(link))
	waitJS(t, ctx, "replay ready", `!!(window.iexboxReplay && window.iexboxReplay.ready)`)
	eval[any](t, ctx, `window.iexboxReplay.pause(), window.iexboxReplay.seek(0.001)`)
	if text := eval[string](t, ctx, `window.iexboxReplay.text()`); !strings.Contains(text, "said early") {
		t.Errorf("catch-up lacks what came before the viewer: %q", text)
	}
	back := eval[string](t, ctx, `(() => { const a = document.getElementById('live'); return a.hidden ? '' : a.href; })()`)
	if !strings.HasSuffix(back, "/watch/"+token) {
		t.Fatalf("back to live: %q", back)
	}
	run(t, ctx, chromedp.Navigate(back))
	waitJS(t, ctx, "live again", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	p.eval(t, `IO.puts("live " <> "again")`)
	waitBuffer(t, ctx, "window.iexbox.term", "live again")
	_ = context.Background
}

// TestRecordingSurvivesACrash: a server killed mid-session loses at most
// the last second of the recording; the next server serves the rest.
func TestRecordingSurvivesACrash(t *testing.T) {
	data := t.TempDir()
	first := startServer(t, "-pool", "0", "-data", data)
	c, id, _ := recorded(t, first)
	c.eval(t, `IO.puts("before " <> "the crash")`)
	time.Sleep(1500 * time.Millisecond) // more than the flush period
	first.kill(t)
	second := startServer(t, "-pool", "0", "-data", data, "-instance", first.Instance) // sweeps the leftovers
	waitCast(t, second, id, "before the crash")
}

// TestRecordingSharedThroughPostgres: behind a balancer any server serves
// any recording: one server records into PostgreSQL, another serves it.
func TestRecordingSharedThroughPostgres(t *testing.T) {
	database := postgresSchema(t)
	a := startServer(t, "-pool", "0", "-database", database)
	b := startServer(t, "-pool", "0", "-database", database)
	c, id, _ := recorded(t, a)
	c.eval(t, `IO.puts("recorded " <> "on a")`)
	waitCast(t, b, id, "recorded on a")
}

// postgresSchema makes a schema of the test's own in the test cluster of
// scripts/postgres-up.sh, dropped after the test, and returns a URL whose
// connections use it; without the cluster the test is skipped.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("IEXBOX_TEST_POSTGRES")
	if base == "" {
		t.Skip("IEXBOX_TEST_POSTGRES is not set: run scripts/postgres-up.sh (make e2e does)")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "e2e_" + strings.ToLower(strings.ReplaceAll(uniqueInstance(t), "-", "_"))
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() })
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
