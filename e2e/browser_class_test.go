package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"iexbox/internal/client"
	"iexbox/internal/sandbox"
)

// Wire constants of the classes, from docs/protocol.md and docs/classes.md.
const (
	closeClassEnded = 4013
	// resultWait bounds how long a check's result takes to reach the
	// teacher's page: a few seconds, as a teacher follows a class.
	resultWait = 5 * time.Second
)

// waitJSWithin is waitJS with its own bound.
func waitJSWithin(t *testing.T, ctx context.Context, what, js string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !eval[bool](t, ctx, js) {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within %v (%s)", what, d, js)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// typeInto focuses the element js evaluates to and types text into it as
// the keyboard would.
func typeInto(t *testing.T, ctx context.Context, js, text string) {
	t.Helper()
	eval[bool](t, ctx, `(`+js+`).focus(), true`)
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
		t.Fatalf("insert text: %v", err)
	}
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowserClass: a class from POST /classes to its end, as its people
// see it. A learner joins the full page by name (a name taken in another
// case is refused, and asked again with the reason), a lesson page's
// console in another tab joins by the kept learner token without asking,
// and its check reaches the teacher's page within seconds; the teacher
// watches, messages and ends the class, and both learner pages say so.
// Names and messages with markup stay text everywhere.
func TestBrowserClass(t *testing.T) {
	s := startServer(t, "-pool", "0")
	class := openClass(t, s, client.ClassRequest{Title: "Enum <i>live</i>", Exercises: []string{"enum/double"}})
	if !strings.Contains(class.TeacherURL, "/teach?instance=") || !strings.Contains(class.TeacherURL, "#class="+class.Code+"&token=") ||
		strings.Contains(class.JoinURL, class.TeacherToken) {
		t.Fatalf("opened %+v", class)
	}

	// A learner from another client first, whose name is markup.
	const markup = `Bo <img src=x onerror=window.owned=1>`
	bo := s.connect(t)
	bo.helloWith(t, client.Hello{Cols: 80, Rows: 24, Class: class.Code, Name: markup})
	bo.waitEvent(t, "ready", readyWait)

	ctx, downloads := newDownloadingBrowser(t)

	// The teacher's page: the token leaves the address bar for the tab's
	// storage, and the stream shows Bo, as text.
	teacher := ctx
	run(t, teacher, chromedp.Navigate(class.TeacherURL))
	waitJS(t, teacher, "the teacher's stream live", `!!(window.iexboxTeach && window.iexboxTeach.streaming())`)
	if href := eval[string](t, teacher, `location.href`); strings.Contains(href, class.TeacherToken) || strings.Contains(href, "#") {
		t.Errorf("the teacher token stays in the address bar: %s", href)
	}
	if !eval[bool](t, teacher, `(sessionStorage.getItem('iexbox.teach') || '').includes(`+jsString(class.TeacherToken)+`)`) {
		t.Error("the teacher token is not kept in sessionStorage")
	}
	if got := eval[string](t, teacher, `document.getElementById('join-code').textContent`); got != class.Code {
		t.Errorf("the join code shows %q, want %q", got, class.Code)
	}
	if got := eval[string](t, teacher, `document.getElementById('join-link').value`); got != class.JoinURL {
		t.Errorf("the join link shows %q, want %q", got, class.JoinURL)
	}
	waitJS(t, teacher, "Bo on the teacher's page", `window.iexboxTeach.roster().some(l => l.name === `+jsString(markup)+` && l.connected)`)
	if got := eval[string](t, teacher, `[...document.querySelectorAll('.learner-name')].map(e => e.textContent).join('|')`); got != markup {
		t.Errorf("the learner names read %q, want %q", got, markup)
	}
	if eval[bool](t, teacher, `!!document.querySelector('.teach-main img, .teach-main i') || !!window.owned`) {
		t.Error("a learner's name or the class title was read as markup")
	}

	// A dropped stream comes back by itself, with the roster.
	eval[bool](t, teacher, `window.iexboxTeach.dropStream(), true`)
	waitJS(t, teacher, "the stream back after a drop", `window.iexboxTeach.streaming() && document.getElementById('stream-text').textContent === 'Live' && `+
		`window.iexboxTeach.roster().length === 1`)

	// The learner's page: a kept learner token the class does not know is
	// forgotten and the name asked; a name another learner has, in another
	// case, is refused and asked again with the reason; then Ana joins.
	learner := newTab(t, ctx)
	run(t, learner, chromedp.Navigate(s.URL()+"/favicon.svg"))
	key := `'iexbox.learner:' + location.origin + ':' + ` + jsString(strings.ReplaceAll(class.Code, "-", ""))
	eval[bool](t, learner, `localStorage.setItem(`+key+`, JSON.stringify({token: '00000000000000000000000000000000', name: 'Ghost'})), true`)
	run(t, learner, chromedp.Navigate(class.JoinURL))
	waitJS(t, learner, "the name asked", `!!(window.iexbox && window.iexbox.askingName())`)
	if eval[bool](t, learner, `!!localStorage.getItem(`+key+`)`) {
		t.Error("the learner token the class does not know is still kept")
	}
	join := func(ctx context.Context, form, name string) {
		t.Helper()
		typeInto(t, ctx, form+`.querySelector('.join-name')`, name)
		eval[bool](t, ctx, form+`.querySelector('.join-button').click(), true`)
	}
	page := `document.getElementById('join')`
	join(learner, page, strings.ToUpper(markup))
	waitJS(t, learner, "the name asked again with the reason",
		`window.iexbox.askingName() && document.querySelector('#join .join-error').textContent.includes('name')`)
	if !eval[bool](t, learner, `document.querySelector('#join .join-name').getAttribute('aria-invalid') === 'true'`) {
		t.Error("the refused name's field is not marked invalid")
	}
	join(learner, page, "Ana")
	waitJS(t, learner, "Ana's session running", `window.iexbox.state() === 'running'`)
	waitBuffer(t, learner, "window.iexbox.term", "iex(1)>")
	if got := eval[string](t, learner, `(window.iexbox.learner() || {}).name || ''`); got != "Ana" {
		t.Errorf("the kept learner is %q, want Ana", got)
	}
	if got := eval[string](t, learner, `document.getElementById('class-info').textContent`); !strings.Contains(got, class.Code) || !strings.Contains(got, "Ana") {
		t.Errorf("the class strip reads %q", got)
	}
	waitJS(t, teacher, "Ana connected on the teacher's page", `window.iexboxTeach.roster().some(l => l.name === 'Ana' && l.connected)`)

	// A lesson page in a third tab: its exercise console joins the class by
	// the kept token (no name asked), and its check is the class's result.
	lesson := newTab(t, ctx)
	run(t, lesson, chromedp.Navigate(s.URL()+"/demo/lesson.html"))
	el := `document.querySelector('iex-console[exercise="enum/double"]')`
	waitJS(t, lesson, "the starter code shown", el+`?.shadowRoot.querySelector('.code').value.includes('def double(list)')`)
	eval[bool](t, lesson, el+`.setAttribute('classroom', `+jsString(class.Code)+`), window.checks = [], `+
		`document.addEventListener('iex-check', e => window.checks.push(e.detail)), `+el+`.code = `+jsString(doubleFixed)+`, true`)
	clickShadow(t, lesson, el, ".check")
	// The session boots and its check BEAM too (-pool 0).
	waitJSWithin(t, lesson, "the check answered", `window.checks.length >= 1`, browserWait+sandbox.CheckBootWait+checkTimeout)
	if st := eval[string](t, lesson, `window.checks[0].status`); st != "pass" {
		t.Fatalf("the check: %s", eval[string](t, lesson, `JSON.stringify(window.checks[0])`))
	}
	if !eval[bool](t, lesson, el+`.shadowRoot.querySelector('.join-slot').hidden`) {
		t.Error("the lesson's console asked for the name again")
	}
	if got := eval[string](t, lesson, el+`.shadowRoot.querySelector('.class-info').textContent`); !strings.Contains(got, "Ana") {
		t.Errorf("the console's class strip reads %q", got)
	}
	waitJSWithin(t, teacher, "the result on the teacher's page", `window.iexboxTeach.roster().some(l => l.name === 'Ana' && `+
		`l.exercises['enum/double'] && l.exercises['enum/double'].status === 'pass' && l.exercises['enum/double'].passed === 5)`, resultWait)
	card := `[...document.querySelectorAll('.learner')].find(li => li.querySelector('.learner-name').textContent === 'Ana')`
	waitJSWithin(t, teacher, "Ana's card showing the result and the console", card+`.textContent.includes('5/5 passed') && `+
		card+`.querySelector('.learner-consoles').textContent.includes('enum/double')`, resultWait)
	waitJSWithin(t, teacher, "the result announced", `window.iexboxTeach.announced().includes('Ana, enum/double: 5/5 passed')`, resultWait)
	if got := eval[string](t, teacher, `document.querySelector('#summary-body tr').textContent`); !strings.Contains(got, "enum/double") || !strings.Contains(got, "1 of 2") {
		t.Errorf("the summary row reads %q", got)
	}
	screenshot(t, teacher, "class-teacher.png")
	fits360(t, teacher, "the teacher's page", `.teach-main button, .teach-main input, .teach-main textarea, .join-code, .learner`)
	screenshot(t, teacher, "class-teacher-360.png")
	run(t, teacher, chromedp.EmulateViewport(1280, 800))

	// The results download with the token, as a file.
	eval[bool](t, teacher, `document.getElementById('download-csv').click(), true`)
	waitJS(t, teacher, "the CSV downloaded", `document.getElementById('action-status').textContent.includes('results.csv')`)
	csv := waitFile(t, filepath.Join(downloads, "class-"+class.Code+"-results.csv"))
	if !strings.Contains(csv, "Ana,enum/double,pass,5,5,1,") {
		t.Errorf("the downloaded CSV:\n%s", csv)
	}
	// Every request of the teacher's page names the server that holds the
	// class, as the teacher_url does (docs/deploy.md); a finished one shows.
	if !eval[bool](t, teacher, `performance.getEntriesByType('resource').some(e => e.name.includes('/results.csv?instance='))`) {
		t.Error("the teacher's requests do not name the class's server")
	}

	// Watching: the teacher sees Ana's console in the page, and Ana is told.
	eval[bool](t, teacher, card+`.querySelector('[data-action=watch]').click(), true`)
	waitJS(t, teacher, "the watch panel open", `!document.getElementById('watch-panel').hidden && document.getElementById('watch-frame').src.includes('/watch/')`)
	told := func() bool {
		return eval[string](t, learner, `window.iexbox.watched()`) == "Your teacher is watching" ||
			eval[string](t, lesson, el+`.shadowRoot.querySelector('.watched').textContent`) == "Your teacher is watching"
	}
	for deadline := time.Now().Add(browserWait); !told(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no learner page says the teacher is watching")
		}
	}
	eval[bool](t, teacher, `document.getElementById('watch-close').click(), true`)

	// A message reaches every console of the class, as text.
	const message = "Pens down in 5 minutes <b>please</b>"
	typeInto(t, teacher, `document.getElementById('message')`, message)
	eval[bool](t, teacher, `document.getElementById('message-send').click(), true`)
	waitJS(t, teacher, "the message sent", `document.getElementById('action-status').textContent.startsWith('Message sent to 3 consoles')`)
	waitJS(t, learner, "the message on the learner's page", `window.iexbox.classMessage().includes(`+jsString(message)+`)`)
	waitJS(t, lesson, "the message in the lesson's console", el+`.shadowRoot.querySelector('.class-message-body').textContent.includes(`+jsString(message)+`)`)
	if eval[bool](t, learner, `!!document.querySelector('#class-message b')`) || eval[bool](t, lesson, `!!`+el+`.shadowRoot.querySelector('.class-message-body b')`) {
		t.Error("the teacher's message was read as markup")
	}
	if got := bo.waitEvent(t, "message", eventWait).raw; !strings.Contains(got, `"from":"teacher"`) {
		t.Errorf("Bo's message event: %s", got)
	}
	screenshot(t, learner, "class-learner-message.png")
	screenshot(t, lesson, "class-lesson-message.png")

	// Removing Bo, confirmed: his console ends, his card goes, and the
	// focus stays in the learners' list.
	boCard := `[...document.querySelectorAll('.learner')].find(li => li.querySelector('.learner-name').textContent === ` + jsString(markup) + `)`
	eval[bool](t, teacher, boCard+`.querySelector('[data-action=remove]').focus(), true`)
	run(t, teacher, chromedp.KeyEvent("\r")) // the keyboard, as a teacher without a mouse
	waitJS(t, teacher, "the confirmation asked", `document.getElementById('confirm').open && document.activeElement.id === 'confirm-cancel'`)
	eval[bool](t, teacher, `document.getElementById('confirm-ok').click(), true`)
	if e := bo.waitEvent(t, "exit", eventWait); e.Reason != "class_ended" {
		t.Errorf("Bo's exit: %s", e.raw)
	}
	bo.requireClose(t, closeClassEnded, eventWait)
	waitJS(t, teacher, "Bo's card gone", `window.iexboxTeach.roster().length === 1 && !`+boCard)
	if got := eval[string](t, teacher, `document.activeElement.id`); got != "learners-title" {
		t.Errorf("after the removal the focus is on %q, want the learners' heading", got)
	}
	fits360(t, learner, "the learner's page", `#classbar .pill, #class-message-box, #class-message-dismiss`)
	run(t, learner, chromedp.EmulateViewport(1280, 800))

	// The end: confirmed in a dialog, then every learner page says so and
	// the learner token is forgotten.
	eval[bool](t, teacher, `document.getElementById('end-class').click(), true`)
	waitJS(t, teacher, "the confirmation asked", `document.getElementById('confirm').open`)
	eval[bool](t, teacher, `document.getElementById('confirm-ok').click(), true`)
	waitJS(t, learner, "the class ended on the learner's page",
		`window.iexbox.state() === 'ended' && document.getElementById('banner-title').textContent === 'The class has ended'`)
	waitJS(t, lesson, "the class ended in the lesson's console", el+`.shadowRoot.querySelector('.status').textContent === 'The class has ended'`)
	if eval[bool](t, learner, `!!window.iexbox.learner()`) {
		t.Error("the learner token is still kept after the class ended")
	}
	waitJS(t, teacher, "the class ended on the teacher's page",
		`window.iexboxTeach.state() === 'ended' && document.getElementById('class-state').textContent === 'Ended' && document.getElementById('end-class').disabled`)
	screenshot(t, learner, "class-learner-ended.png")
}

// fits360 narrows the page of ctx to a 360-pixel phone and fails unless
// it fits without scrolling sideways and every element that sel matches
// is inside the screen.
func fits360(t *testing.T, ctx context.Context, what, sel string) {
	t.Helper()
	run(t, ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch))
	time.Sleep(300 * time.Millisecond)
	if w := eval[[]float64](t, ctx, `[document.documentElement.scrollWidth, innerWidth]`); w[0] > w[1] {
		t.Errorf("%s is %v px wide in a %v px screen", what, w[0], w[1])
	}
	if out := eval[[]string](t, ctx, `[...document.querySelectorAll(`+jsString(sel)+`)]
		.filter(e => e.offsetParent && e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.id || e.className)`); len(out) > 0 {
		t.Errorf("%s: past the right edge of a 360 px screen: %v", what, out)
	}
}

// waitFile waits for a download to land at path and returns its text.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(browserWait)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(filepath.Dir(path))
			t.Fatalf("no %s within %v (the folder holds %v)", path, browserWait, fmt.Sprint(entries))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newDownloadingBrowser is newBrowser whose downloads land in the
// returned directory.
func newDownloadingBrowser(t *testing.T) (context.Context, string) {
	t.Helper()
	ctx := newBrowser(t)
	dir := t.TempDir()
	if _, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	return ctx, dir
}
