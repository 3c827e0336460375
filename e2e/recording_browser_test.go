package e2e

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// storedRecordings lists the ids of the recordings in the data folder's
// database, with how many chunks each has; the server may still run
// (SQLite lets a reader in beside it).
func storedRecordings(t *testing.T, data string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "iexbox.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT r.id, (SELECT COUNT(*) FROM recording_chunks c WHERE c.recording_id = r.id) FROM recordings r
		UNION ALL SELECT c.recording_id, -1 FROM recording_chunks c WHERE c.recording_id NOT IN (SELECT id FROM recordings)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// replayShows opens the replay page of recording id, seeks to its end and
// waits until the screen shows want.
func replayShows(t *testing.T, s *testServer, id, want string) {
	t.Helper()
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/replay/"+id))
	waitJS(t, ctx, "replay ready", `!!(window.iexboxReplay && window.iexboxReplay.ready)`)
	eval[any](t, ctx, `window.iexboxReplay.seek(window.iexboxReplay.duration())`)
	waitJS(t, ctx, "replayed "+want, fmt.Sprintf(`window.iexboxReplay.screen().includes(%q)`, want))
}

// TestRecordingFromThePageControl: the full page's Record control (a
// real click) starts a fresh, recorded session and shows that it records;
// what is then typed ends up in a complete recording that replays.
func TestRecordingFromThePageControl(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "-pool", "0", "-data", data)
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/"))
	waitJS(t, ctx, "running", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	waitBuffer(t, ctx, "window.iexbox.term", "iex(1)>")
	first := eval[string](t, ctx, `window.iexbox.session()`)
	if eval[bool](t, ctx, `!document.getElementById('recording').hidden`) {
		t.Errorf("the recording notice shows before Record was pressed")
	}

	run(t, ctx, chromedp.Click(chromedp.CSS("#record")))
	waitJS(t, ctx, "a recorded session", `!!(window.iexbox.recording() && window.iexbox.state() === 'running')`)
	if got := eval[string](t, ctx, `window.iexbox.session()`); got == first {
		t.Errorf("Record did not start a fresh session")
	}
	if got := eval[string](t, ctx, `document.getElementById('record').getAttribute('aria-pressed')`); got != "true" {
		t.Errorf("Record's aria-pressed %q", got)
	}
	if eval[bool](t, ctx, `document.getElementById('recording').hidden`) {
		t.Errorf("the page does not show that the session is recorded")
	}
	id := eval[string](t, ctx, `window.iexbox.recording().id`)
	if !strings.HasSuffix(eval[string](t, ctx, `document.getElementById('recording-link').href`), "/replay/"+id) {
		t.Errorf("the notice's link does not lead to the replay of %s", id)
	}
	waitBuffer(t, ctx, "window.iexbox.term", "iex(1)>") // the terminal was reset for the fresh session
	run(t, ctx, chromedp.Click(chromedp.CSS(".xterm")))
	typeLine(t, ctx, `IO.puts("typed on " <> "the page")`)
	waitBuffer(t, ctx, "window.iexbox.term", "typed on the page")
	typeLine(t, ctx, "System.halt()")
	waitJS(t, ctx, "the session ended", `window.iexbox.state() === 'ended'`)

	waitCast(t, s, id, "typed on the page")
	deadline := time.Now().Add(eventWait)
	for !recordingEnded(t, data, id) {
		if time.Now().After(deadline) {
			t.Fatalf("the recording of an ended session is not complete")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := storedRecordings(t, data); len(got) != 1 {
		t.Errorf("recordings stored: %v; want only the one Record asked for", got)
	}
	replayShows(t, s, id, "typed on the page")
}

// TestRecordingFromTheWidget: on a lesson page elsewhere, an
// <iex-console record> is recorded, and an <iex-console replay="ID">
// plays that recording without starting a session.
func TestRecordingFromTheWidget(t *testing.T) {
	var iexboxURL, replayID string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		el := `<iex-console record code="Enum.join([:widget, :recorded], &quot; &quot;) |> IO.puts" rows="8"></iex-console>`
		if r.URL.Query().Has("replay") {
			el = fmt.Sprintf(`<iex-console replay="%s" rows="8"></iex-console>`, replayID)
		}
		fmt.Fprintf(w, `<!doctype html><title>A lesson</title><script src="%s/embed.js"></script>%s`, iexboxURL, el)
	}))
	t.Cleanup(site.Close)
	data := t.TempDir()
	s := startServer(t, "-pool", "0", "-data", data, "-origins", site.URL)
	iexboxURL = s.URL()

	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(site.URL+"/"))
	waitJS(t, ctx, "the widget defined", `customElements.get('iex-console') !== undefined`)
	el := `document.querySelector('iex-console')`
	clickShadow(t, ctx, el, ".run")
	waitBuffer(t, ctx, el+".term", "widget recorded")
	var ids map[string]int
	deadline := time.Now().Add(eventWait)
	for ids = storedRecordings(t, data); len(ids) != 1; ids = storedRecordings(t, data) {
		if time.Now().After(deadline) {
			t.Fatalf("recordings stored for one <iex-console record>: %v", ids)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for id := range ids {
		replayID = id
	}
	waitCast(t, s, replayID, "widget recorded")
	if n := sessionContainers(t, s); n != 1 {
		t.Fatalf("%d containers for one console", n)
	}

	// The replay, in a fresh page: the recorded session still runs in the
	// first, so the replay must start none of its own.
	tab := newTab(t, ctx)
	run(t, tab, chromedp.Navigate(site.URL+"/?replay"))
	waitJS(t, tab, "the widget defined", `customElements.get('iex-console') !== undefined`)
	waitJS(t, tab, "the replay loaded", "!!"+el+".replayPlayer")
	eval[any](t, tab, el+`.replayPlayer.seek(`+el+`.replayPlayer.cast.duration)`)
	waitBuffer(t, tab, el+".term", "widget recorded")
	if n := sessionContainers(t, s); n != 1 {
		t.Errorf("%d containers once the replay plays, want the recorded session's only", n)
	}
}

// TestRecordingRetention: a recording older than -record-retention is
// forgotten, its chunks with it, by the sweep a server runs at start (and
// hourly, too long to wait for here): its cast answers 404.
func TestRecordingRetention(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "-pool", "0", "-data", data)
	c, id, _ := recorded(t, s)
	c.eval(t, `IO.puts("soon " <> "forgotten")`)
	c.closeNormally()
	waitCast(t, s, id, "soon forgotten")
	s.stop(t)
	if n, ok := storedRecordings(t, data)[id]; !ok || n < 1 {
		t.Fatalf("before the sweep: stored %v, chunks %d", ok, n)
	}

	time.Sleep(time.Second) // older than the retention below
	s2 := startServer(t, "-pool", "0", "-data", data, "-record-retention", "1s")
	deadline := time.Now().Add(eventWait)
	for {
		status, _ := cast(t, s2, id)
		if status == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an expired recording answers %d", status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := storedRecordings(t, data); len(got) != 0 {
		t.Errorf("rows left after the sweep (id: chunks, -1 for a chunk without its recording): %v", got)
	}
}
