package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"iexbox/internal/client"
)

// axeSource is axe-core's script, installed by npm with the page's other
// build tools (static/package.json).
func axeSource(t *testing.T) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "static", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v (make web installs it)", err)
	}
	return string(b)
}

// axeViolation is the part of an axe-core result a failure names.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// audit runs axe-core (WCAG 2.0, 2.1 and 2.2, A and AA) over the page of
// ctx and returns its serious and critical violations. DevTools evaluation
// is not bound by the page's Content-Security-Policy.
func audit(t *testing.T, ctx context.Context, axe string) []axeViolation {
	t.Helper()
	// Colours are judged once transitions and entrances are over (a theme
	// switch eases the buttons' colours), not on their way.
	waitJS(t, ctx, "animations over", `document.getAnimations().every(a => a.playState !== 'running' || a.effect.getTiming().iterations === Infinity)`)
	eval[bool](t, ctx, axe+";true")
	raw := await[string](t, ctx, `axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
		resultTypes: ['violations'],
	}).then(r => JSON.stringify(r.violations))`)
	var all, bad []axeViolation
	if err := json.Unmarshal([]byte(raw), &all); err != nil {
		t.Fatalf("axe result: %v", err)
	}
	for _, v := range all {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v)
		} else {
			t.Logf("axe (%s): %s: %s", v.Impact, v.ID, v.Help)
		}
	}
	return bad
}

// TestBrowserAxe audits every page the server serves, in each state worth
// seeing: a page added later joins with one line.
func TestBrowserAxe(t *testing.T) {
	s := startServer(t, "-pool", "0")
	axe := axeSource(t)
	// A real class with a learner in it, for the teacher's page and the
	// learner's name form.
	class := openClass(t, s, client.ClassRequest{Title: "Enum", Exercises: []string{"enum/double"}})
	ana := s.connect(t)
	ana.helloWith(t, client.Hello{Cols: 80, Rows: 24, Class: class.Code, Name: "Ana"})
	ana.waitEvent(t, "ready", readyWait)
	teachReady := `window.iexboxTeach && window.iexboxTeach.streaming() && window.iexboxTeach.roster().length === 1`
	theme := func(want string) string {
		return `document.documentElement.dataset.theme === '` + want + `' || document.getElementById('theme').click(), true`
	}
	pages := []struct {
		name, path string
		ready      string // JavaScript true once the page is worth auditing
		act        string // JavaScript run before that wait, if any
	}{
		{"page", "/", `window.iexbox && window.iexbox.state() === 'running'`, ""},
		{"watch link, ended", "/watch/no-such-token", `window.iexbox && window.iexbox.state() === 'ended'`, ""},
		{"lesson, idle", "/demo/lesson.html", `document.querySelectorAll('iex-console').length === 5 && !!customElements.get('iex-console')`, ""},
		{"lesson, running (dark and light)", "/demo/lesson.html",
			`[...document.querySelectorAll('iex-console')].slice(0, 3).every(e => e.state === 'ready')`,
			`[...document.querySelectorAll('iex-console')].slice(0, 3).forEach(e => e.run()), true`},
		{"iframe form", "/embed?code=1%2B1&theme=light", `!!customElements.get('iex-console') && document.getElementById('console').code === '1+1'`, ""},
		{"lesson, in Korean", "/demo/lesson.html",
			`document.querySelector('iex-console').shadowRoot.querySelector('.run-text').textContent === '실행'`,
			`document.documentElement.lang = 'ko', document.querySelectorAll('iex-console').forEach(e => e.setAttribute('lang', 'ko')), true`},
		// The token moves from the fragment to the tab's storage: the
		// second visit reads it from there.
		{"teacher page, dark", strings.TrimPrefix(class.TeacherURL, s.URL()), teachReady, theme("dark")},
		{"teacher page, light", "/teach", teachReady, theme("light")},
		{"class page, asking the name", "/?classroom=" + class.Code, `window.iexbox && window.iexbox.askingName()`, ""},
		// The pages' own words in Korean (?lang=ko), checked where they show.
		{"page, in Korean", "/?lang=ko", `window.iexbox && window.iexbox.state() === 'running' && document.documentElement.lang === 'ko' && ` +
			`document.getElementById('new-session-text').textContent === '새 세션' && document.getElementById('status-text').textContent === '실행 중'`, ""},
		{"teacher page, in Korean", "/teach?lang=ko", teachReady + ` && document.documentElement.lang === 'ko' && ` +
			`document.getElementById('end-class').textContent === '수업 끝내기' && document.querySelector('.learner [data-action="watch"]').textContent === '보기'`, ""},
		{"lesson in a class, asking the name", "/demo/lesson.html",
			`!document.querySelector('iex-console').shadowRoot.querySelector('.join-slot').hidden`,
			// Not the session an earlier row left to resume in this tab.
			`sessionStorage.clear(), document.querySelector('iex-console').setAttribute('classroom', '` + class.Code + `'), ` +
				`document.querySelector('iex-console').run(), true`},
	}
	ctx := newBrowser(t)
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			run(t, ctx, chromedp.Navigate(s.URL()+p.path))
			waitJS(t, ctx, "the page loaded", `document.readyState === 'complete'`)
			if p.act != "" {
				waitJS(t, ctx, "the widget defined", `document.querySelectorAll('iex-console').length === 0 || !!customElements.get('iex-console')`)
				eval[bool](t, ctx, p.act)
			}
			waitJS(t, ctx, "ready to audit", `!!(`+p.ready+`)`)
			for _, v := range audit(t, ctx, axe) {
				t.Errorf("%s (%s): %s", v.ID, v.Impact, v.Help)
				for _, n := range v.Nodes {
					t.Errorf("    %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
				}
			}
		})
	}
}

// TestBrowserScreenReaderAndKeyboard: the page announces a result as plain
// text in its live region, the terminal's input has a name, and F6 leaves
// the terminal (Tab stays iex's completion).
func TestBrowserScreenReaderAndKeyboard(t *testing.T) {
	s := startServer(t)
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/"))
	waitJS(t, ctx, "running", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	waitBuffer(t, ctx, "window.iexbox.term", "iex(1)>")
	if !eval[bool](t, ctx, `window.iexbox.term.options.screenReaderMode`) {
		t.Error("screen-reader mode is off")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(".xterm")))
	if name := eval[string](t, ctx, `document.activeElement.getAttribute('aria-label') || ''`); name == "" {
		t.Error("the terminal's input has no accessible name")
	}
	typeLine(t, ctx, `IO.puts(IO.ANSI.red() <> "red" <> IO.ANSI.reset()); Enum.map(1..3, &(&1 * 2))`)
	waitJS(t, ctx, "the result announced", `window.iexbox.announced() === 'red\n[2, 4, 6]'`)

	press(t, ctx, "F6", "F6", 117)
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "terminal" {
		t.Errorf("after F6 the focus is on %q, want the terminal region", got)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(".xterm")))
	press(t, ctx, "Escape", "Escape", 27)
	press(t, ctx, "Escape", "Escape", 27)
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "terminal" {
		t.Errorf("after Escape twice the focus is on %q, want the terminal region", got)
	}

	// A reader who asked for less motion gets a cursor that does not blink.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Reload())
	waitJS(t, ctx, "running", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	if eval[bool](t, ctx, `window.iexbox.term.options.cursorBlink`) {
		t.Error("the cursor blinks under prefers-reduced-motion")
	}
}

// press presses and releases one key.
func press(t *testing.T, ctx context.Context, key, code string, vk int64) {
	t.Helper()
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: key, Code: code, WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk,
		}); err != nil {
			t.Fatalf("press %s: %v", key, err)
		}
	}
}

// tap touches the middle of the element that js evaluates to.
func tap(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	xy := eval[[]float64](t, ctx, `(() => { const r = (`+js+`).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`)
	if _, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{
		Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: []*input.TouchPoint{{X: xy[0], Y: xy[1]}},
	}); err != nil {
		t.Fatalf("touch: %v", err)
	}
	if _, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{
		Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{},
	}); err != nil {
		t.Fatalf("touch: %v", err)
	}
}

// TestBrowserPhone: on a phone (touch, 390×844) the page fits without
// scrolling sideways, even at 360 px, and the key bar's Tab completes.
func TestBrowserPhone(t *testing.T) {
	s := startServer(t)
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Emulate(device.IPhone12Pro))
	run(t, ctx, chromedp.Navigate(s.URL()+"/"))
	waitJS(t, ctx, "running", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	waitBuffer(t, ctx, "window.iexbox.term", "iex(1)>")
	if !eval[bool](t, ctx, `matchMedia('(pointer: coarse)').matches && getComputedStyle(document.getElementById('keybar')).display !== 'none'`) {
		t.Fatal("no key bar on a touch screen")
	}
	if w := eval[[]float64](t, ctx, `[document.documentElement.scrollWidth, innerWidth]`); w[0] > w[1] {
		t.Errorf("the page is %v px wide in a %v px screen", w[0], w[1])
	}
	tap(t, ctx, `document.querySelector('.xterm')`)
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: "String.upc"}); err != nil {
		t.Fatal(err)
	}
	waitBuffer(t, ctx, "window.iexbox.term", "String.upc")
	tap(t, ctx, `[...document.querySelectorAll('#keybar .key')].find(b => b.textContent === 'Tab')`)
	waitBuffer(t, ctx, "window.iexbox.term", "String.upcase")
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: `("phone")`}); err != nil {
		t.Fatal(err)
	}
	tap(t, ctx, `[...document.querySelectorAll('#keybar .key')].find(b => b.textContent === '←')`)
	typeLine(t, ctx, "")
	waitBuffer(t, ctx, "window.iexbox.term", `"PHONE"`)
	if size := eval[float64](t, ctx, `window.iexbox.term.options.fontSize`); size < 12 {
		t.Errorf("text size %v px on a phone, want at least 12", size)
	}
	tap(t, ctx, `document.getElementById('text-larger')`)
	if size := eval[float64](t, ctx, `window.iexbox.term.options.fontSize`); size < 14 {
		t.Errorf("text size %v px after A+, want larger", size)
	}
	// What the phone shows (a full-page capture lays a mobile page out anew).
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshots(t), "phone.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	run(t, ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch))
	time.Sleep(300 * time.Millisecond)
	if w := eval[[]float64](t, ctx, `[document.documentElement.scrollWidth, innerWidth]`); w[0] > w[1] {
		t.Errorf("the page is %v px wide in a %v px screen", w[0], w[1])
	}
	// The body clips what overflows: every control must be inside the screen.
	if out := eval[[]string](t, ctx, `[...document.querySelectorAll('.topbar button, .topbar .pill')]
		.filter(e => e.offsetParent && e.getBoundingClientRect().right > innerWidth).map(e => e.id || e.className)`); len(out) > 0 {
		t.Errorf("controls past the right edge of a 360 px screen: %v", out)
	}
}

// TestBrowserKorean types Hangul through IME composition, as a Korean
// keyboard does, and gets iex's count of it; the cursor lands right after
// the wide characters (two cells each).
func TestBrowserKorean(t *testing.T) {
	s := startServer(t)
	ctx := newBrowser(t)
	run(t, ctx, chromedp.EmulateViewport(900, 420))
	run(t, ctx, chromedp.Navigate(s.URL()+"/"))
	waitJS(t, ctx, "running", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	waitBuffer(t, ctx, "window.iexbox.term", "iex(1)>")
	run(t, ctx, chromedp.Click(chromedp.CSS(".xterm")))
	insert := func(text string) {
		t.Helper()
		if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	insert(`String.length("`)
	// Each syllable as a Korean IME builds it: jamo by jamo, then committed,
	// a key press apart (DevTools alone sends them faster than any hand).
	keyGap := 40 * time.Millisecond
	for _, steps := range [][]string{{"ㅇ", "아", "안"}, {"ㄴ", "녀", "녕"}, {"ㅎ", "하"}, {"ㅅ", "세"}, {"ㅇ", "요"}} {
		for _, s := range steps {
			n := int64(len([]rune(s)))
			if _, err := chromedp.Call(ctx, input.ImeSetComposition, input.ImeSetCompositionParams{Text: s, SelectionStart: n, SelectionEnd: n}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(keyGap)
		}
		insert(steps[len(steps)-1])
		time.Sleep(keyGap)
	}
	insert(`")`)
	waitBuffer(t, ctx, "window.iexbox.term", `String.length("안녕하세요")`)
	// "iex(1)> " 8 cells, `String.length("` 15, five syllables 10, `")` 2.
	// iex shows the matching parenthesis for a moment, then comes back.
	waitJS(t, ctx, "the cursor in column 35", `window.iexbox.term.buffer.active.cursorX === 35`)
	typeLine(t, ctx, "")
	waitBuffer(t, ctx, "window.iexbox.term", "iex(2)>")
	text := eval[string](t, ctx, bufferJS("window.iexbox.term"))
	if !strings.Contains(text, "안녕하세요\")\n5\n") {
		t.Errorf("iex did not count five characters:\n%s", text)
	}
	typeLine(t, ctx, `"안녕, 세계" |> String.graphemes() |> Enum.reverse() |> Enum.join()`)
	waitBuffer(t, ctx, "window.iexbox.term", `"계세 ,녕안"`)
	screenshot(t, ctx, "korean.png")
}

// TestBrowserWidgetAPI drives <iex-console> as a lesson page's script
// does: run, its events, the code kept across a reload, reset, check,
// restart, the language switch, and the bytes loaded before the first Run.
func TestBrowserWidgetAPI(t *testing.T) {
	s := startServer(t, "-pool", "0")
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/demo/lesson.html"))
	waitJS(t, ctx, "the widget defined", `!!customElements.get('iex-console') && document.readyState === 'complete'`)
	before := eval[[]float64](t, ctx, `(() => {
		const r = performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'));
		return [r.reduce((n, e) => n + e.transferSize, 0), r.filter(e => e.name.includes('embed-term')).length];
	})()`)
	t.Logf("bytes downloaded by the lesson page before its first Run: %.0f", before[0])
	if before[1] != 0 {
		t.Error("the terminal's code was loaded before any Run")
	}
	if before[0] > 120_000 {
		t.Errorf("the lesson page downloaded %.0f bytes before its first Run", before[0])
	}

	el := `document.querySelector('iex-console')`
	const listen = `(window.seen = [], ['iex-ready', 'iex-result', 'iex-exit'].forEach(type =>
		document.addEventListener(type, e => window.seen.push({type, detail: e.detail}))), true)`
	eval[bool](t, ctx, listen)
	if got := eval[string](t, ctx, el+`.state`); got != "idle" {
		t.Errorf("state %q before a Run, want idle", got)
	}
	out := await[string](t, ctx, el+`.run('Enum.sum([1, 2, 3])')`)
	if out != "6" {
		t.Errorf("run() settled with %q, want 6", out)
	}
	multi := await[string](t, ctx, el+".run('1..10\\n|> Enum.filter(&(rem(&1, 2) == 0))\\n|> Enum.sum()')")
	if multi != "30" {
		t.Errorf("run() of a pipeline settled with %q, want 30", multi)
	}
	if got := eval[string](t, ctx, el+`.state`); got != "ready" {
		t.Errorf("state %q after a Run, want ready", got)
	}
	seen := eval[string](t, ctx, `JSON.stringify(window.seen)`)
	if !strings.Contains(seen, `"type":"iex-ready","detail":{"session":`) || !strings.Contains(seen, `{"type":"iex-result","detail":{"code":"Enum.sum([1, 2, 3])","output":"6"}}`) {
		t.Errorf("events: %s", seen)
	}
	waitJS(t, ctx, "the result in the live region", el+`.shadowRoot.querySelector('.announce').textContent === '30'`)
	if n := eval[float64](t, ctx, `performance.getEntriesByType('resource').filter(e => e.name.includes('embed-term')).length`); n != 1 {
		t.Errorf("the terminal's code loaded %v times, want once", n)
	}

	// The code is kept per page and console, and reset on demand.
	eval[bool](t, ctx, el+`.code = 'kept = :across_reloads', true`)
	run(t, ctx, chromedp.Reload())
	waitJS(t, ctx, "the widget defined", `!!customElements.get('iex-console') && document.readyState === 'complete'`)
	if got := eval[string](t, ctx, el+`.code`); got != "kept = :across_reloads" {
		t.Errorf("after a reload the code is %q", got)
	}
	eval[bool](t, ctx, el+`.resetCode(), true`)
	if got := eval[string](t, ctx, el+`.code`); got != "Enum.map([1, 2, 3], &(&1 * 2))" {
		t.Errorf("after resetCode() the code is %q", got)
	}

	// check() settles with the checked event.
	ex := `document.querySelector('iex-console[exercise="enum/double"]')`
	waitJS(t, ctx, "the starter code", ex+`.code.includes('defmodule')`)
	verdict := await[string](t, ctx, ex+`.check().then(r => r.status)`)
	if verdict != "fail" {
		t.Errorf("checking the starter code: %q, want fail", verdict)
	}

	// iex-exit, then restart() gives a fresh session.
	eval[bool](t, ctx, listen) // the reload forgot the listeners
	eval[bool](t, ctx, el+`.run('System.halt()').catch(() => {}), true`)
	waitJS(t, ctx, "iex-exit", `window.seen.some(e => e.type === 'iex-exit' && e.detail.reason === 'exited')`)
	eval[bool](t, ctx, el+`.restart(), true`)
	waitJS(t, ctx, "ready again", el+`.state === 'ready'`)

	// Languages: the element's lang, else the page's.
	runText := el + `.shadowRoot.querySelector('.run-text').textContent`
	words := func() string { return eval[string](t, ctx, runText) }
	if w := words(); w != "Run" {
		t.Errorf("the Run button says %q in an English page", w)
	}
	eval[bool](t, ctx, `(document.documentElement.lang = 'ko', `+el+`.setAttribute('lang', 'en'), true)`)
	if w := words(); w != "Run" {
		t.Errorf("lang=en says %q", w)
	}
	eval[bool](t, ctx, el+`.removeAttribute('lang'), true`)
	if w := words(); w != "실행" {
		t.Errorf("in a Korean page the Run button says %q, want 실행", w)
	}
	if n := sessionContainers(t, s); n > 2 {
		t.Errorf("%d containers, want at most the two consoles used", n)
	}
}

// await evaluates a JavaScript expression whose value is a Promise and
// returns what it settles with.
func await[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// TestBrowserFrame: a site that cannot load scripts frames
// /embed?code=..., drives the console over postMessage and hears its
// events; a server that does not list the site refuses to be framed.
func TestBrowserFrame(t *testing.T) {
	var iexboxURL string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>LMS</title>
<iframe id="f" title="Elixir console" src="%[1]s/embed?code=Enum.sum(%%5B1%%2C%%202%%5D)&amp;rows=6" style="width:800px;height:420px;border:0"></iframe>
<script>
window.got = [];
addEventListener('message', e => { if (e.origin === %[1]q && e.data && e.data.iexbox === 1) got.push(e.data); });
window.send = m => document.getElementById('f').contentWindow.postMessage(Object.assign({iexbox: 1}, m), %[1]q);
</script>`, iexboxURL)
	}))
	t.Cleanup(site.Close)
	s := startServer(t, "-pool", "0", "-origins", site.URL)
	iexboxURL = s.URL()

	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(site.URL+"/"))
	waitJS(t, ctx, "the frame loaded", `got.some(m => m.type === 'iex-loaded')`)
	if n := sessionContainers(t, s); n != 0 {
		t.Errorf("%d containers before a run, want none", n)
	}
	eval[bool](t, ctx, `send({type: 'run', id: 1}), true`)
	waitJS(t, ctx, "the starter code's result", `got.some(m => m.type === 'result' && m.id === 1 && m.output === '3')`)
	eval[bool](t, ctx, `send({type: 'run', id: 2, code: '6 * 7'}), true`)
	waitJS(t, ctx, "a result over postMessage", `got.some(m => m.type === 'result' && m.id === 2 && m.output === '42')`)
	for _, ev := range []string{"iex-ready", "iex-result"} {
		if !eval[bool](t, ctx, `got.some(m => m.type === '`+ev+`')`) {
			t.Errorf("no %s event through the frame", ev)
		}
	}

	other := startServer(t, "-pool", "0") // does not list the site
	iexboxURL = other.URL()
	run(t, ctx, chromedp.Navigate(site.URL+"/?refused"))
	time.Sleep(2 * time.Second)
	if eval[bool](t, ctx, `got.length > 0`) {
		t.Error("a server that does not list the site let itself be framed")
	}
}

// TestBrowserPageLanguage: without ?lang= the full page and the teacher's
// page speak the browser's language (Korean here), and ?lang=en speaks
// English whatever the browser's.
func TestBrowserPageLanguage(t *testing.T) {
	s := startServer(t, "-pool", "0")
	ctx := newBrowser(t)
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) iexbox-e2e", AcceptLanguage: "ko-KR,ko",
	}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(s.URL()+"/"))
	waitJS(t, ctx, "the page in Korean", `!!(window.iexbox && window.iexbox.state() === 'running') && document.documentElement.lang === 'ko' && `+
		`document.getElementById('status-text').textContent === '실행 중'`)
	for js, want := range map[string]string{
		`document.getElementById('new-session-text').textContent`:           "새 세션",
		`document.getElementById('new-session').getAttribute('aria-label')`: "새 세션 시작",
		`document.getElementById('terminal').getAttribute('aria-label')`:    "iex 터미널",
		`document.querySelector('#keybar .key').getAttribute('aria-label')`: "Tab (자동 완성)",
		`document.title`: "iexbox · 브라우저에서 쓰는 Elixir",
	} {
		if got := eval[string](t, ctx, js); got != want {
			t.Errorf("%s = %q, want %q", js, got, want)
		}
	}
	// The end banner words the server's code in Korean too.
	eval[bool](t, ctx, `window.iexbox.newSession(), true`)
	waitJS(t, ctx, "running again", `window.iexbox.state() === 'running'`)
	typeLine(t, ctx, "System.halt()")
	waitJS(t, ctx, "the Korean banner", `window.iexbox.state() === 'ended' && document.getElementById('banner-title').textContent === 'iex가 종료되었습니다' && `+
		`document.getElementById('banner-new').textContent === '새 세션 시작'`)

	run(t, ctx, chromedp.Navigate(s.URL()+"/teach"))
	waitJS(t, ctx, "the teacher's page in Korean", `document.readyState === 'complete' && document.documentElement.lang === 'ko' && `+
		`document.getElementById('delete-class').textContent === '수업 삭제' && document.getElementById('stream-text').textContent === '수업 없음'`)

	run(t, ctx, chromedp.Navigate(s.URL()+"/?lang=en"))
	waitJS(t, ctx, "the page in English", `!!(window.iexbox && window.iexbox.state() === 'running') && document.documentElement.lang === 'en' && `+
		`document.getElementById('new-session-text').textContent === 'New session' && document.getElementById('status-text').textContent === 'Running'`)
}
