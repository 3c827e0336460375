package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium (scripts/chromium-up.sh installs it).
const chromiumPath = "/usr/bin/chromium"

// browserWait bounds one wait in the page: a session start included.
const browserWait = 40 * time.Second

var (
	screenshotsOnce sync.Once
	screenshotsDir  string
)

// screenshots is the folder this run saves screenshots in, kept after the
// run as CI artifacts (IEXBOX_SCREENSHOTS names it; default a new temp
// folder).
func screenshots(t *testing.T) string {
	screenshotsOnce.Do(func() {
		screenshotsDir = os.Getenv("IEXBOX_SCREENSHOTS")
		if screenshotsDir == "" {
			screenshotsDir, _ = os.MkdirTemp("", "iexbox-screenshots-")
		}
		os.MkdirAll(screenshotsDir, 0o755)
	})
	return screenshotsDir
}

// newBrowser starts a headless Chromium with a fresh profile and returns a
// context for its first tab. Cleanup closes it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Chromium at %s (CI=true: make test installs it)", chromiumPath)
		}
		t.Skipf("no Chromium at %s: run scripts/chromium-up.sh", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// newTab opens another tab in the browser of ctx.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	return tab
}

// run runs actions, failing the test on error.
func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression and returns its value.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// bufferJS reads an xterm terminal's whole buffer (scrollback included) as
// text, one line per row; term is a JS expression for the Terminal.
func bufferJS(term string) string {
	return fmt.Sprintf(`(() => {
		const t = %s;
		if (!t) return '';
		const b = t.buffer.active, lines = [];
		for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
		return lines.join('\n');
	})()`, term)
}

// waitBuffer waits until the terminal's buffer contains want.
func waitBuffer(t *testing.T, ctx context.Context, term, want string) string {
	t.Helper()
	deadline := time.Now().Add(browserWait)
	for {
		text := eval[string](t, ctx, bufferJS(term))
		if strings.Contains(text, want) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the terminal within %v; it shows:\n%s", want, browserWait, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitJS waits until a JavaScript expression is true.
func waitJS(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(browserWait)
	for !eval[bool](t, ctx, js) {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within %v (%s)", what, browserWait, js)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// typeLine types text into the focused element as the keyboard would
// (Input.insertText: synthesized key events double characters in xterm),
// then presses Enter.
func typeLine(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
		t.Fatalf("insert text: %v", err)
	}
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		_, err := chromedp.Call(ctx, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		})
		if err != nil {
			t.Fatalf("press Enter: %v", err)
		}
	}
}

// screenshot saves the whole page as name (PNG) in the screenshots folder.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(screenshots(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// clickShadow clicks, with the mouse, the element sel in the shadow root
// of the host element host.
func clickShadow(t *testing.T, ctx context.Context, host, sel string) {
	t.Helper()
	js := fmt.Sprintf(`(() => {
		const el = %s.shadowRoot.querySelector(%q);
		el.scrollIntoView({block: 'center'});
		const r = el.getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height / 2];
	})()`, host, sel)
	xy := eval[[]float64](t, ctx, js)
	run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
}

// sessionContainers counts the server's containers; tests that count run
// with -pool 0, so that each is a session's.
func sessionContainers(t *testing.T, s *testServer) int {
	t.Helper()
	return len(s.containers(t))
}

func TestBrowserFullPage(t *testing.T) {
	s := startServer(t)
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/"))
	waitJS(t, ctx, "running", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	waitBuffer(t, ctx, "window.iexbox.term", "iex(1)>")
	run(t, ctx, chromedp.Click(chromedp.CSS(".xterm")))
	typeLine(t, ctx, "Enum.map(1..3, &(&1 * 2))")
	waitBuffer(t, ctx, "window.iexbox.term", "[2, 4, 6]")
	typeLine(t, ctx, `IO.puts("héllo, wörld")`)
	waitBuffer(t, ctx, "window.iexbox.term", "héllo, wörld")
	typeLine(t, ctx, `for n <- 1..5, do: {n, n * n}`)
	waitBuffer(t, ctx, "window.iexbox.term", "{5, 25}")
	if text := eval[string](t, ctx, `document.querySelector('.xterm-rows').innerText`); !strings.Contains(text, "[2, 4, 6]") {
		t.Errorf("the DOM rows do not show [2, 4, 6]: %q", text)
	}
	screenshot(t, ctx, "full-page.png")
}

func TestBrowserLessonStartsOnlyWhatRuns(t *testing.T) {
	s := startServer(t, "-pool", "0")
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/demo/lesson.html"))
	waitJS(t, ctx, "five consoles defined",
		`customElements.get('iex-console') !== undefined && document.querySelectorAll('iex-console').length === 5`)
	time.Sleep(time.Second) // a console that boots on load would have started by now
	if n := sessionContainers(t, s); n != 0 {
		t.Fatalf("%d containers after loading the lesson, want none before a click", n)
	}
	screenshot(t, ctx, "lesson-idle.png")

	second := `document.querySelectorAll('iex-console')[1]`
	clickShadow(t, ctx, second, ".run")
	waitBuffer(t, ctx, second+".term", "30")
	text := waitBuffer(t, ctx, second+".term", "iex(2)>")
	if !strings.Contains(text, "|> Enum.sum()") || strings.Contains(text, "[2, 4, 6, 8, 10]") {
		t.Errorf("the multi-line code was not typed as one expression, line by line:\n%s", text)
	}
	if n := sessionContainers(t, s); n != 1 {
		t.Errorf("%d containers after running one exercise, want exactly 1", n)
	}
	for i, started := range eval[[]bool](t, ctx, `[...document.querySelectorAll('iex-console')].map(e => e.term !== null)`) {
		if started != (i == 1) {
			t.Errorf("console %d started = %v", i, started)
		}
	}

	third := `document.querySelectorAll('iex-console')[2]`
	clickShadow(t, ctx, third, ".run")
	out := waitBuffer(t, ctx, third+".term", "[9, 3.14]")
	if strings.Contains(out, "defmodule") {
		t.Errorf("the setup code shows in the console:\n%s", out)
	}
	// The page's hostile button style must not reach the widget.
	font := eval[string](t, ctx, third+`.shadowRoot.querySelector('.run').computedStyleMap().get('font-family').toString()`)
	if strings.Contains(font, "Comic") {
		t.Errorf("the lesson page's CSS leaked into the widget: font %s", font)
	}
	screenshot(t, ctx, "lesson.png")
}

func TestBrowserViewerSeesThePresenter(t *testing.T) {
	s := startServer(t)
	presenter := newBrowser(t)
	run(t, presenter, chromedp.Navigate(s.URL()+"/"))
	waitJS(t, presenter, "running", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	waitBuffer(t, presenter, "window.iexbox.term", "iex(1)>")
	run(t, presenter, chromedp.Click(chromedp.CSS("#share")))
	waitJS(t, presenter, "shared", `!!window.iexbox.shareURL()`)
	url := eval[string](t, presenter, `window.iexbox.shareURL()`)
	if !strings.HasPrefix(url, s.URL()+"/watch/") {
		t.Fatalf("share URL %q", url)
	}

	viewer := newTab(t, presenter)
	run(t, viewer, chromedp.Navigate(url))
	waitJS(t, viewer, "watching", `!!(window.iexbox && window.iexbox.viewer && window.iexbox.state() === 'running')`)
	waitJS(t, presenter, "one viewer counted", `window.iexbox.viewers() === 1`)

	run(t, presenter, chromedp.Click(chromedp.CSS(".xterm")))
	typeLine(t, presenter, `IO.puts("shown to " <> "viewers")`)
	waitBuffer(t, viewer, "window.iexbox.term", "shown to viewers")
	run(t, viewer, chromedp.Click(chromedp.CSS(".xterm")))
	typeLine(t, viewer, ":typed_by_viewer")
	time.Sleep(500 * time.Millisecond)
	if text := eval[string](t, presenter, bufferJS("window.iexbox.term")); strings.Contains(text, "typed_by_viewer") {
		t.Errorf("a viewer's keystrokes reached the session:\n%s", text)
	}
	screenshot(t, presenter, "presenter.png")
	screenshot(t, viewer, "viewer.png")

	// Stop sharing: the viewer is told, the presenter's session goes on,
	// and Share makes a new link.
	run(t, presenter, chromedp.Click(chromedp.CSS("#share"))) // the panel, with its link
	run(t, presenter, chromedp.Click(chromedp.CSS("#share-stop")))
	waitJS(t, viewer, "the viewer told the link was revoked",
		`window.iexbox.state() === 'ended' && document.getElementById('banner-title').textContent === 'The presenter stopped sharing'`)
	waitJS(t, presenter, "no viewer counted", `window.iexbox.viewers() === 0`)
	if eval[string](t, presenter, `window.iexbox.state()`) != "running" {
		t.Error("the presenter's session ended with the link")
	}
	screenshot(t, viewer, "viewer-unshared.png")
	run(t, presenter, chromedp.Click(chromedp.CSS("#share")))
	waitJS(t, presenter, "shared again", `!!window.iexbox.shareURL()`)
	if again := eval[string](t, presenter, `window.iexbox.shareURL()`); again == url {
		t.Errorf("Share after Stop sharing gave the revoked link %s again", url)
	}
}

func TestBrowserReloadResumes(t *testing.T) {
	s := startServer(t, "-pool", "0")
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/"))
	waitJS(t, ctx, "running", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	waitBuffer(t, ctx, "window.iexbox.term", "iex(1)>")
	session := eval[string](t, ctx, `window.iexbox.session()`)
	run(t, ctx, chromedp.Click(chromedp.CSS(".xterm")))
	typeLine(t, ctx, `secret = "kept across a reload"`)
	waitBuffer(t, ctx, "window.iexbox.term", "iex(2)>")

	run(t, ctx, chromedp.Reload())
	waitJS(t, ctx, "running again", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	if got := eval[string](t, ctx, `window.iexbox.session()`); got != session {
		t.Fatalf("after a reload the page runs session %s, want %s resumed", got, session)
	}
	waitBuffer(t, ctx, "window.iexbox.term", "iex(2)>") // redrawn from the history
	run(t, ctx, chromedp.Click(chromedp.CSS(".xterm")))
	typeLine(t, ctx, `String.upcase(secret)`)
	waitBuffer(t, ctx, "window.iexbox.term", `"KEPT ACROSS A RELOAD"`)
	if n := sessionContainers(t, s); n != 1 {
		t.Errorf("%d containers, want the one session", n)
	}
	screenshot(t, ctx, "resumed.png")

	run(t, ctx, chromedp.Click(chromedp.CSS("#new-session"))) // sends end
	requireSessionGone(t, session, 3*time.Second)
	waitJS(t, ctx, "a new session running", `window.iexbox.state() === 'running' && window.iexbox.session() !== `+fmt.Sprintf("%q", session))
}

// TestBrowserWidgetOnAnotherOrigin embeds the widget as a lesson site on
// another origin does: the script from the iexbox server, the site listed in
// its -origins. A site not listed is refused.
func TestBrowserWidgetOnAnotherOrigin(t *testing.T) {
	var iexboxURL string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>A lesson elsewhere</title>
<script src="%s/embed.js"></script>
<iex-console code="Enum.map([1, 2, 3], &amp;(&amp;1 * 2))" rows="6"></iex-console>`, iexboxURL)
	}))
	t.Cleanup(site.Close)
	s := startServer(t, "-pool", "0", "-origins", site.URL)
	iexboxURL = s.URL()

	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(site.URL+"/"))
	waitJS(t, ctx, "the widget defined", `customElements.get('iex-console') !== undefined`)
	el := `document.querySelector('iex-console')`
	clickShadow(t, ctx, el, ".run")
	waitBuffer(t, ctx, el+".term", "[2, 4, 6]")

	other := startServer(t, "-pool", "0") // does not list the site
	iexboxURL = other.URL()
	run(t, ctx, chromedp.Navigate(site.URL+"/?refused"))
	waitJS(t, ctx, "the widget defined", `customElements.get('iex-console') !== undefined`)
	clickShadow(t, ctx, el, ".run")
	waitJS(t, ctx, "the widget to report the refusal",
		el+`.shadowRoot.querySelector('.status').dataset.state === 'ended'`)
	if n := len(other.containers(t)); n != 0 {
		t.Errorf("%d containers for a refused origin", n)
	}
}

// TestBrowserWidgetInAnIframe: a lesson that frames its page (a course
// platform embedding a lesson, say) gets a working console, started by a
// real click inside the frame and admitted by the frame's own origin.
func TestBrowserWidgetInAnIframe(t *testing.T) {
	var iexboxURL string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/lesson" {
			fmt.Fprintf(w, `<!doctype html><title>Framed lesson</title>
<script src="%s/embed.js"></script>
<p>Doubling a list:</p>
<iex-console code="Enum.map([1, 2, 3], &amp;(&amp;1 * 2))" rows="6"></iex-console>`, iexboxURL)
			return
		}
		fmt.Fprint(w, `<!doctype html><title>Course</title>
<h1>Course platform</h1>
<iframe src="/lesson" style="position:absolute; left:40px; top:120px; width:900px; height:500px; border:0"></iframe>`)
	}))
	t.Cleanup(site.Close)
	s := startServer(t, "-pool", "0", "-origins", site.URL)
	iexboxURL = s.URL()

	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(site.URL+"/"))
	frameDoc := `document.querySelector('iframe').contentDocument`
	waitJS(t, ctx, "the widget defined in the frame",
		`!!(`+frameDoc+` && `+frameDoc+`.defaultView.customElements.get('iex-console'))`)
	el := frameDoc + `.querySelector('iex-console')`
	if n := sessionContainers(t, s); n != 0 {
		t.Fatalf("%d containers before Run was clicked, want none (lazy start)", n)
	}
	// A real click: the button's place in the frame plus the frame's place
	// in the page.
	xy := eval[[]float64](t, ctx, `(() => {
		const b = `+el+`.shadowRoot.querySelector('.run');
		b.scrollIntoView({block: 'center'});
		const f = document.querySelector('iframe').getBoundingClientRect();
		const r = b.getBoundingClientRect();
		return [f.x + r.x + r.width / 2, f.y + r.y + r.height / 2];
	})()`)
	run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
	waitBuffer(t, ctx, el+".term", "[2, 4, 6]")
	if n := sessionContainers(t, s); n != 1 {
		t.Errorf("%d containers for one framed widget, want 1", n)
	}
}

// TestBrowserOnLocalhost: with the host check and the Content-Security-
// Policy in place, the page and the lesson demo work when addressed as
// localhost too (the other tests use 127.0.0.1), and no policy violation
// is reported.
func TestBrowserOnLocalhost(t *testing.T) {
	s := startServer(t, "-pool", "0")
	_, port, _ := net.SplitHostPort(s.Addr)
	base := "http://localhost:" + port
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(base+"/"))
	waitJS(t, ctx, "running", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	waitBuffer(t, ctx, "window.iexbox.term", "iex(1)>")
	run(t, ctx, chromedp.Click(chromedp.CSS(".xterm")))
	typeLine(t, ctx, "Enum.map(1..3, &(&1 * 2))")
	waitBuffer(t, ctx, "window.iexbox.term", "[2, 4, 6]")

	run(t, ctx, chromedp.Navigate(base+"/demo/lesson.html"))
	// Violations reported from here on are counted.
	eval[bool](t, ctx, `(window.cspViolations = [], document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI)), true)`)
	waitJS(t, ctx, "the consoles defined", `customElements.get('iex-console') !== undefined`)
	first := `document.querySelector('iex-console')`
	clickShadow(t, ctx, first, ".run")
	waitBuffer(t, ctx, first+".term", "iex(2)>")
	if v := eval[[]string](t, ctx, `window.cspViolations`); len(v) > 0 {
		t.Errorf("Content-Security-Policy violations on the lesson page: %v", v)
	}
	screenshot(t, ctx, "lesson-localhost.png")
}
