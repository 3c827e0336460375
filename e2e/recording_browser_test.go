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
	// The page's person is told, with the replay's link, as viewers are.
	notice := el + `.shadowRoot.querySelector('.recorded')`
	waitJS(t, ctx, "the widget's recording notice", `!`+el+`.shadowRoot.querySelector('.recordbar').hidden && `+
		notice+`.textContent.includes('This session is recorded') && `+notice+`.querySelector('a').href.endsWith('/replay/`+replayID+`')`)
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

// TestRecordingViewerCatchesUpInThePage: a viewer who joins a recorded
// session late catches up in the watch page itself, by keyboard: the
// recording so far replaces the live terminal, shows what came before
// the viewer joined, seeks; Escape returns to the live terminal, which
// went on meanwhile and goes on after. The view passes axe in both
// themes and fits a 360 px screen.
func TestRecordingViewerCatchesUpInThePage(t *testing.T) {
	s := startServer(t, "-pool", "0")
	p, id, token := recordedWithHistory(t, s)

	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/watch/"+token))
	waitJS(t, ctx, "the Catch up control", `!!(window.iexbox && window.iexbox.recording()) && !document.getElementById('catch-up').hidden`)
	if got := eval[string](t, ctx, `window.iexbox.recording().id`); got != id {
		t.Fatalf("viewer told recording %q, want %q", got, id)
	}
	if strings.Contains(eval[string](t, ctx, bufferJS("window.iexbox.term")), "said early") {
		t.Fatalf("the live screen already shows what came before the viewer")
	}
	time.Sleep(1500 * time.Millisecond) // a flush

	run(t, ctx, chromedp.Focus(chromedp.CSS("#catch-up")))
	run(t, ctx, chromedp.KeyEvent("\r"))
	waitJS(t, ctx, "the catch-up view", `window.iexbox.catchUp.shown() && window.iexbox.catchUp.duration() > 0`)
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "catchup-play" {
		t.Errorf("the focus is on %q after Catch up, want Play", got)
	}
	if eval[bool](t, ctx, `!document.getElementById('terminal').hidden`) {
		t.Errorf("the live terminal still shows beside the catch-up view")
	}
	if got := eval[string](t, ctx, `document.getElementById('catch-up').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("Catch up's aria-expanded %q", got)
	}
	at := eval[float64](t, ctx, `window.iexbox.catchUp.timeOf('said early')`)
	if at < 0 {
		t.Fatalf("the recording so far lacks what came before the viewer: %q", eval[string](t, ctx, `window.iexbox.catchUp.text()`))
	}
	eval[any](t, ctx, fmt.Sprintf(`window.iexbox.catchUp.seek(%f)`, at+0.001))
	waitJS(t, ctx, "the early output on the scrubbed screen", `window.iexbox.catchUp.screen().includes('said early')`)
	if got := eval[string](t, ctx, `document.getElementById('catchup-seek').getAttribute('aria-valuetext')`); !strings.Contains(got, ":") {
		t.Errorf("the slider's spoken position %q", got)
	}
	// The slider by keyboard: End goes to the end of what was recorded.
	run(t, ctx, chromedp.Focus(chromedp.CSS("#catchup-seek")))
	press(t, ctx, "End", "End", 35)
	waitJS(t, ctx, "the slider at the end", `Number(document.getElementById('catchup-seek').value) >= window.iexbox.catchUp.duration() - 0.01`)
	waitJS(t, ctx, "the later output at the end", `window.iexbox.catchUp.screen().includes('said later')`)

	p.eval(t, `IO.puts("while " <> "catching up")`)
	axe := axeSource(t)
	for _, theme := range []string{"dark", "light"} {
		eval[any](t, ctx, `document.documentElement.dataset.theme = '`+theme+`'`)
		time.Sleep(300 * time.Millisecond) // colours that change with a transition settle
		for _, v := range audit(t, ctx, axe) {
			t.Errorf("axe, %s theme, catch-up view: %s (%s): %s: %v", theme, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
	eval[any](t, ctx, `delete document.documentElement.dataset.theme`)
	fits360(t, ctx, "the catch-up view", `#catchup button, #catchup input, #catchup select, .topbar button, .topbar .pill, .topbar a`)
	// A mobile viewport widens to what overflows it: measure against 360.
	if out := eval[[]string](t, ctx, `[...document.querySelectorAll('.topbar button, .topbar .pill, #catchup button, #catchup input')]
		.filter(e => e.offsetParent && e.getBoundingClientRect().right > 360.5).map(e => e.id || e.className)`); len(out) > 0 {
		t.Errorf("past the right edge of a 360 px screen: %v", out)
	}
	screenshot(t, ctx, "catch-up-360.png")

	press(t, ctx, "Escape", "Escape", 27)
	waitJS(t, ctx, "live again", `!window.iexbox.catchUp.shown() && !document.getElementById('terminal').hidden`)
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "catch-up" {
		t.Errorf("the focus is on %q after Back to live, want Catch up", got)
	}
	waitBuffer(t, ctx, "window.iexbox.term", "while catching up")
	p.eval(t, `IO.puts("live " <> "again")`)
	waitBuffer(t, ctx, "window.iexbox.term", "live again")
	if eval[int](t, ctx, `document.querySelectorAll('#catchup-terminal .xterm').length`) != 0 {
		t.Errorf("the catch-up terminal was kept after Back to live")
	}
}
