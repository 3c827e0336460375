package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserFrameAPI drives the iframe form (/embed) over postMessage
// with every message it takes besides run (TestBrowserFrame): get, setCode,
// check, resetCode, restart and focus; and a frame of a site that is not in
// -origins, inside the allowed site's page, cannot drive it.
func TestBrowserFrameAPI(t *testing.T) {
	var iexboxURL, strangerURL string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>LMS</title>
<button id="before">before</button>
<iframe id="f" title="Elixir console" src="%[1]s/embed?exercise=enum/double&amp;rows=6" style="width:800px;height:420px;border:0"></iframe>
<iframe id="stranger" title="Someone else" src="%[2]s/" style="width:10px;height:10px;border:0"></iframe>
<script>
window.got = [];
addEventListener('message', e => { if (e.origin === %[1]q && e.data && e.data.iexbox === 1) got.push(e.data); });
addEventListener('message', e => { if (e.origin === %[2]q && e.data === 'struck') window.struck = true; });
window.send = m => document.getElementById('f').contentWindow.postMessage(Object.assign({iexbox: 1}, m), %[1]q);
window.last = (type, id) => got.filter(m => m.type === type && (id === undefined || m.id === id)).pop();
</script>`, iexboxURL, strangerURL)
	}))
	t.Cleanup(site.Close)
	// A site not in -origins, framed by the allowed one: it writes to the
	// console's frame as a script on any page could.
	stranger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>stranger</title><script>
addEventListener('message', e => {
	if (e.data !== 'strike') return;
	const f = parent.frames[0];
	f.postMessage({iexbox: 1, type: 'setCode', code: 'stolen = :yes'}, '*');
	f.postMessage({iexbox: 1, type: 'run', id: 99, code: 'System.halt()'}, '*');
	f.postMessage({iexbox: 1, type: 'get', id: 98}, '*');
	parent.postMessage('struck', '*');
});
</script>`)
	}))
	t.Cleanup(stranger.Close)
	strangerURL = stranger.URL
	s := startServer(t, "-pool", "0", "-origins", site.URL)
	iexboxURL = s.URL()

	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(site.URL+"/"))
	waitJS(t, ctx, "the frame loaded", `got.some(m => m.type === 'iex-loaded')`)

	// get: the properties, before any session.
	get := func(id int) {
		t.Helper()
		eval[bool](t, ctx, fmt.Sprintf(`send({type: 'get', id: %d}), true`, id))
		waitJS(t, ctx, fmt.Sprintf("the state answer %d", id), fmt.Sprintf(`!!last('state', %d)`, id))
	}
	deadline := time.Now().Add(browserWait)
	for id := 1; ; id++ {
		get(id)
		if strings.Contains(eval[string](t, ctx, fmt.Sprintf(`last('state', %d).code`, id)), "defmodule") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the starter code never showed through get: %s", eval[string](t, ctx, `JSON.stringify(got)`))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st := eval[string](t, ctx, `last('state').state`); st != "idle" {
		t.Errorf("state %q before any Run, want idle", st)
	}
	starter := eval[string](t, ctx, `last('state').code`)
	if n := sessionContainers(t, s); n != 0 {
		t.Errorf("%d containers before a run, want none", n)
	}

	// A stranger's messages change nothing and start nothing.
	eval[bool](t, ctx, `document.getElementById('stranger').contentWindow.postMessage('strike', '*'), true`)
	waitJS(t, ctx, "the stranger's messages sent", `window.struck === true`)
	time.Sleep(time.Second)
	get(100)
	if code := eval[string](t, ctx, `last('state', 100).code`); code != starter {
		t.Errorf("a stranger's setCode changed the code to %q", code)
	}
	if eval[bool](t, ctx, `got.some(m => m.id === 98 || m.id === 99)`) {
		t.Error("the frame answered a stranger")
	}
	if n := sessionContainers(t, s); n != 0 {
		t.Errorf("a stranger's run started %d containers", n)
	}

	// setCode, then check: the solution passes.
	eval[bool](t, ctx, `send({type: 'setCode', code: `+jsString(doubleFixed)+`}), send({type: 'check', id: 101}), true`)
	waitJS(t, ctx, "the check's answer", `!!last('checked', 101)`)
	if st := eval[string](t, ctx, `last('checked', 101).result.status`); st != "pass" {
		t.Errorf("check of the solution: %q, want pass (%s)", st, eval[string](t, ctx, `JSON.stringify(last('checked', 101))`))
	}
	if !eval[bool](t, ctx, `got.some(m => m.type === 'iex-check')`) {
		t.Error("no iex-check event through the frame")
	}
	get(102)
	if got := eval[[]string](t, ctx, `[last('state', 102).state, last('state', 102).code]`); got[0] != "ready" || got[1] != doubleFixed {
		t.Errorf("after setCode and check: state %q, code %q", got[0], got[1])
	}

	// resetCode: back to the starter code.
	eval[bool](t, ctx, `send({type: 'resetCode'}), true`)
	get(103)
	if code := eval[string](t, ctx, `last('state', 103).code`); code != starter {
		t.Errorf("after resetCode the code is %q, want the starter", code)
	}

	// restart: a fresh session, ready again.
	first := eval[string](t, ctx, `got.filter(m => m.type === 'iex-ready').pop().detail.session`)
	eval[bool](t, ctx, `send({type: 'restart'}), true`)
	waitJS(t, ctx, "a second session ready", `got.some(m => m.type === 'iex-ready' && m.detail.session !== `+jsString(first)+`)`)
	eval[bool](t, ctx, `send({type: 'run', id: 104, code: 'Double.double([4])'}), true`)
	waitJS(t, ctx, "the fresh session's answer", `!!last('result', 104) || !!last('failed', 104)`)
	if out := eval[string](t, ctx, `(last('result', 104) || {}).output || ''`); !strings.Contains(out, "UndefinedFunctionError") && !strings.Contains(out, "undefined") {
		t.Errorf("the restarted session still knew the checked module: %q", out)
	}

	// focus: the console takes the focus from the site's page.
	eval[bool](t, ctx, `document.getElementById('before').focus(), true`)
	eval[bool](t, ctx, `send({type: 'focus'}), true`)
	waitJS(t, ctx, "the focus in the frame", `document.activeElement === document.getElementById('f')`)

	if n := sessionContainers(t, s); n > 1 {
		t.Errorf("%d containers, want at most the restarted session's", n)
	}
}
