package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
)

// TestBrowserWidgetPhone: on a phone (touch, 390×844) a lesson's
// <iex-console> has A− / A+ that change its terminal's text size, kept for
// the site (a reload, and the page's other consoles, keep it), and a key
// bar whose Tab completes as the page's does.
func TestBrowserWidgetPhone(t *testing.T) {
	s := startServer(t, "-pool", "0")
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Emulate(device.IPhone12Pro))
	run(t, ctx, chromedp.Navigate(s.URL()+"/demo/lesson.html"))
	waitJS(t, ctx, "the widget defined", `!!customElements.get('iex-console') && document.readyState === 'complete'`)
	el := `document.querySelector('iex-console')`
	part := func(sel string) string { return el + `.shadowRoot.querySelector('` + sel + `')` }
	if w := eval[[]float64](t, ctx, `[document.documentElement.scrollWidth, innerWidth]`); w[0] > w[1] {
		t.Errorf("the lesson is %v px wide in a %v px screen", w[0], w[1])
	}
	if out := eval[[]string](t, ctx, `[...`+el+`.shadowRoot.querySelectorAll('.bar button')]
		.filter(b => !b.hidden && b.getBoundingClientRect().right > innerWidth).map(b => b.className)`); len(out) > 0 {
		t.Errorf("console buttons past the right edge of the screen: %v", out)
	}
	eval[bool](t, ctx, el+`.scrollIntoView({block: 'start'}), true`)

	// A+ before the first Run: kept, and the terminal opens at that size.
	tap(t, ctx, part(".text-larger"))
	if got := eval[string](t, ctx, `localStorage.getItem('iexbox.textSize')`); got != "14" {
		t.Errorf("kept text size %q after A+, want 14", got)
	}
	if out := await[string](t, ctx, el+`.run('1 + 1')`); out != "2" {
		t.Errorf("run() settled with %q, want 2", out)
	}
	fontSize := func() float64 { return eval[float64](t, ctx, el+`.term.options.fontSize`) }
	rowsPx := func() float64 {
		return eval[float64](t, ctx, `parseFloat(getComputedStyle(`+part(".xterm-rows")+`).fontSize)`)
	}
	if got := fontSize(); got != 14 {
		t.Errorf("the terminal opened at %v px, want the kept 14", got)
	}
	before := rowsPx()
	tap(t, ctx, part(".text-larger"))
	waitJS(t, ctx, "the text larger", `parseFloat(getComputedStyle(`+part(".xterm-rows")+`).fontSize) > `+fmt.Sprint(before))
	if got := fontSize(); got != 16 {
		t.Errorf("after A+ the terminal is %v px, want 16", got)
	}
	tap(t, ctx, part(".text-smaller"))
	if got := fontSize(); got != 14 {
		t.Errorf("after A− the terminal is %v px, want 14", got)
	}
	tap(t, ctx, part(".text-larger"))

	// The key bar: Tab completes, an arrow moves the cursor.
	if !eval[bool](t, ctx, `matchMedia('(pointer: coarse)').matches && getComputedStyle(`+part(".keybar")+`).display !== 'none'`) {
		t.Fatal("no key bar in the console on a touch screen")
	}
	tap(t, ctx, part(".xterm"))
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: "String.upc"}); err != nil {
		t.Fatal(err)
	}
	term := el + `.term`
	waitBuffer(t, ctx, term, "String.upc")
	key := func(label string) string {
		return `[...` + el + `.shadowRoot.querySelectorAll('.keybar .key')].find(b => b.textContent === '` + label + `')`
	}
	tap(t, ctx, key("Tab"))
	waitBuffer(t, ctx, term, "String.upcase")
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: `("phone")`}); err != nil {
		t.Fatal(err)
	}
	tap(t, ctx, key("←"))
	typeLine(t, ctx, "")
	waitBuffer(t, ctx, term, `"PHONE"`)

	// A reload keeps the size, for every console of the page.
	run(t, ctx, chromedp.Reload())
	waitJS(t, ctx, "the widget defined", `!!customElements.get('iex-console') && document.readyState === 'complete'`)
	second := `document.querySelectorAll('iex-console')[1]`
	if out := await[string](t, ctx, second+`.run('3 * 3')`); out != "9" {
		t.Errorf("run() settled with %q, want 9", out)
	}
	if got := eval[float64](t, ctx, second+`.term.options.fontSize`); got != 16 {
		t.Errorf("after a reload another console opened at %v px, want the kept 16", got)
	}
	if n := sessionContainers(t, s); n > 2 {
		t.Errorf("%d containers, want at most the two consoles used", n)
	}
}

// TestBrowserWidgetInstance: a console with instance="NAME" asks for that
// server in its WebSocket URL (/ws?instance=NAME), as the full page's
// ?instance= does, so a load balancer routes it there; a console without
// the attribute asks for none; the iframe form takes it from its query.
func TestBrowserWidgetInstance(t *testing.T) {
	s := startServer(t, "-pool", "0")
	ctx := newBrowser(t)
	var mu sync.Mutex
	var sockets []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventWebSocketCreated); ok {
			mu.Lock()
			sockets = append(sockets, e.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	// The instance each new WebSocket asked for ("" for none), in order.
	asked := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, raw := range sockets {
			u, err := url.Parse(raw)
			if err != nil || u.Path != "/ws" {
				t.Fatalf("a WebSocket to %q", raw)
			}
			out = append(out, u.Query().Get("instance"))
		}
		return out
	}

	run(t, ctx, chromedp.Navigate(s.URL()+"/demo/lesson.html"))
	waitJS(t, ctx, "the widget defined", `!!customElements.get('iex-console') && document.readyState === 'complete'`)
	el := `document.querySelector('iex-console')`
	eval[bool](t, ctx, el+`.setAttribute('instance', `+jsString(s.Instance)+`), true`)
	ready := `new Promise(r => document.addEventListener('iex-ready', e => r(e.detail.instance), {once: true}))`
	eval[bool](t, ctx, `(window.readyOn = `+ready+`), true`)
	if out := await[string](t, ctx, el+`.run('1 + 1')`); out != "2" {
		t.Errorf("run() settled with %q, want 2", out)
	}
	if got := await[string](t, ctx, `window.readyOn`); got != s.Instance {
		t.Errorf("the session runs on %q, want %q", got, s.Instance)
	}
	if got := asked(); !slices.Equal(got, []string{s.Instance}) {
		t.Errorf("the console's WebSockets asked for instances %q, want [%q]", got, s.Instance)
	}
	second := `document.querySelectorAll('iex-console')[1]`
	if out := await[string](t, ctx, second+`.run('3 * 3')`); out != "9" {
		t.Errorf("run() settled with %q, want 9", out)
	}
	if got := asked(); !slices.Equal(got, []string{s.Instance, ""}) {
		t.Errorf("without the attribute the WebSockets asked for %q, want [%q \"\"]", got, s.Instance)
	}

	run(t, ctx, chromedp.Navigate(s.URL()+"/embed?code=6*7&instance="+url.QueryEscape(s.Instance)))
	waitJS(t, ctx, "the frame's console", `!!customElements.get('iex-console') && document.getElementById('console').code === '6*7'`)
	if out := await[string](t, ctx, `document.getElementById('console').run()`); out != "42" {
		t.Errorf("run() settled with %q, want 42", out)
	}
	if got := asked(); len(got) != 3 || got[2] != s.Instance {
		t.Errorf("the iframe form's WebSocket asked for %q, want %q last", got, s.Instance)
	}
}
