package server

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"iexbox/internal/client"
	"iexbox/internal/protocol"
	"iexbox/internal/session"
)

func TestResumeOverTheWire(t *testing.T) {
	ts := newTestServer(t, serverOpts{resumeGrace: time.Minute})
	p := ts.connect(t)
	p.must(p.c.Hello(client.Hello{Cols: 80, Rows: 24, Resumable: true}))
	var ready protocol.Ready
	p.event(protocol.TypeReady, &ready)
	if ready.Resume == "" || ready.Resume == ready.Session {
		t.Fatalf("ready %+v: want a resume token that is not the session id", ready)
	}
	p.sendBinary([]byte("before\n"))
	p.waitOutput("before\r\nbefore\r\n")
	p.c.Drop() // dropped: the session waits
	time.Sleep(100 * time.Millisecond)
	if ts.mgr.Active() != 1 {
		t.Fatalf("Active = %d after the drop, want the session kept", ts.mgr.Active())
	}

	q := ts.connect(t)
	q.must(q.c.Hello(client.Hello{Cols: 90, Rows: 30, Resume: ready.Resume}))
	var again protocol.Ready
	q.event(protocol.TypeReady, &again)
	if again.Session != ready.Session || again.Resume == "" || again.Resume == ready.Resume {
		t.Errorf("resumed ready %+v after %+v: want the same session, a fresh token", again, ready)
	}
	q.waitOutput("before\r\nbefore\r\n") // redrawn from the history
	q.sendBinary([]byte("after\n"))
	q.waitOutput("after\r\nafter\r\n")

	r := ts.connect(t)
	r.must(r.c.Hello(client.Hello{Cols: 80, Rows: 24, Resume: ready.Resume}))
	r.expectError(protocol.CodeResumeFailed, protocol.CloseResumeFailed)

	q.must(q.c.End())
	ts.waitActive(t, 0)
}

func TestResumedReadyCountsTheLifetimeLeft(t *testing.T) {
	ts := newTestServer(t, serverOpts{resumeGrace: time.Minute, limits: session.Limits{Lifetime: time.Hour}})
	p := ts.connect(t)
	p.must(p.c.Hello(client.Hello{Cols: 80, Rows: 24, Resumable: true}))
	var ready protocol.Ready
	p.event(protocol.TypeReady, &ready)
	if ready.MaxLifetime != 3600 || ready.LifetimeLeft != 3600 {
		t.Fatalf("new session's ready %+v: want max_lifetime and lifetime_left 3600", ready)
	}
	p.c.Drop()
	time.Sleep(1100 * time.Millisecond) // a second of the hour gone

	q := ts.connect(t)
	q.must(q.c.Hello(client.Hello{Cols: 80, Rows: 24, Resume: ready.Resume}))
	var again protocol.Ready
	q.event(protocol.TypeReady, &again)
	if again.MaxLifetime != 3600 || again.LifetimeLeft < 3590 || again.LifetimeLeft > 3599 {
		t.Errorf("resumed ready %+v: want max_lifetime 3600 and lifetime_left just under it", again)
	}
	q.must(q.c.End())
	ts.waitActive(t, 0)
}

func TestResumeWithoutGraceEndsAtOnce(t *testing.T) {
	ts := newTestServer(t, serverOpts{}) // -resume-grace 0
	p := ts.connect(t)
	p.must(p.c.Hello(client.Hello{Cols: 80, Rows: 24, Resumable: true}))
	var ready protocol.Ready
	p.event(protocol.TypeReady, &ready)
	if ready.Resume != "" {
		t.Errorf("resume token %q with resuming off", ready.Resume)
	}
	p.c.Drop()
	ts.waitActive(t, 0)
}

func TestWatchOverTheWire(t *testing.T) {
	ts := newTestServer(t, serverOpts{maxViewers: 1})
	p, ready := ts.start(t, 80, 24)
	p.sendBinary([]byte("early\n"))
	p.waitOutput("early\r\nearly\r\n")
	p.must(p.c.Share())
	var shared protocol.Shared
	p.event(protocol.TypeShared, &shared)
	if len(shared.Watch) < 22 || shared.URL != "/watch/"+shared.Watch {
		t.Fatalf("shared %+v", shared)
	}

	v := ts.connect(t)
	v.must(v.c.Hello(client.Hello{Cols: 10, Rows: 5, Watch: shared.Watch}))
	var vready protocol.Ready
	v.event(protocol.TypeReady, &vready)
	want := protocol.Ready{Type: "ready", Session: ready.Session, Instance: "test-inst", Runtime: "process", Mode: "viewer", Cols: 80, Rows: 24}
	if vready != want {
		t.Errorf("viewer's ready %+v, want %+v", vready, want)
	}
	v.waitOutput("early\r\nearly\r\n")
	var count protocol.Viewers
	p.event(protocol.TypeViewers, &count)
	if count.Count != 1 {
		t.Errorf("viewers %+v, want 1", count)
	}

	full := ts.connect(t)
	full.must(full.c.Hello(client.Hello{Cols: 10, Rows: 5, Watch: shared.Watch}))
	full.expectError(protocol.CodeCapacity, protocol.CloseCapacity)
	bad := ts.connect(t)
	bad.must(bad.c.Hello(client.Hello{Cols: 10, Rows: 5, Watch: "nope"}))
	bad.expectError(protocol.CodeNotFound, protocol.CloseNotFound)

	v.sendBinary([]byte("from the viewer\n")) // dropped
	p.sendBinary([]byte("live\n"))
	v.waitOutput("live\r\nlive\r\n")
	if strings.Contains(p.output()+v.output(), "from the viewer") {
		t.Error("a viewer's input reached the terminal")
	}
	p.must(p.c.Resize(100, 40))
	var size protocol.Size
	v.event(protocol.TypeSize, &size)
	if size.Cols != 100 || size.Rows != 40 {
		t.Errorf("size %+v, want 100x40", size)
	}

	p.c.Drop() // not resumable: the session ends, and viewers are told
	v.expectExit(protocol.ReasonClosed, nil, protocol.CloseEnded)
	ts.waitActive(t, 0)
}

func TestBadHelloFields(t *testing.T) {
	ts := newTestServer(t, serverOpts{})
	for _, hello := range []string{
		`{"type":"hello","cols":80,"rows":24,"mode":"viewer"}`,
		`{"type":"hello","cols":80,"rows":24,"mode":"boss"}`,
		`{"type":"hello","cols":80,"rows":24,"resumable":"yes"}`,
		`{"type":"hello","cols":80,"rows":24,"resume":42}`,
	} {
		p := ts.connect(t)
		p.sendText(hello)
		p.expectError(protocol.CodeProtocol, protocol.CloseProtocol)
	}
	ts.waitActive(t, 0)
}

func TestWatchPageAndWidgetServed(t *testing.T) {
	page := fstest.MapFS{
		"index.html":         {Data: []byte("<title>page</title>")},
		"dist/embed.js":      {Data: []byte("customElements.define('iex-console', class {})")},
		"dist/embed-term.js": {Data: []byte("window.iexboxTerminal = {}")},
	}
	ts := newTestServer(t, serverOpts{page: page})
	if resp, body := get(t, ts.url+"/watch/SOMETOKEN"); resp.StatusCode != http.StatusOK || string(body) != "<title>page</title>" {
		t.Errorf("/watch/<token>: %d %q, want the page", resp.StatusCode, body)
	}
	resp, body := get(t, ts.url+"/embed.js")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "iex-console") ||
		!strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("/embed.js: %d %s %q, want the widget script", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// Both parts of the widget load into pages on other origins.
	for _, path := range []string{"/embed.js", "/dist/embed-term.js"} {
		resp, _ := get(t, ts.url+path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
			t.Errorf("%s: %d, Cross-Origin-Resource-Policy %q, want 200 and cross-origin", path, resp.StatusCode, resp.Header.Get("Cross-Origin-Resource-Policy"))
		}
	}
}

// TestFrameServed: /embed is the iframe form of the widget, told the
// -origins that may drive it; the same origins may frame it.
func TestFrameServed(t *testing.T) {
	page := fstest.MapFS{
		"index.html": {Data: []byte("<title>page</title>")},
		"embed.html": {Data: []byte(`<meta name="iexbox-origins" content="{{.Origins}}"><iex-console id="console"></iex-console>`)},
	}
	ts := newTestServer(t, serverOpts{page: page, origins: "https://lessons.example,http://lms.example:8000"})
	resp, body := get(t, ts.url+"/embed?exercise=enum/double&code=1%2B1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/embed: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if want := `content="http://lms.example:8000 https://lessons.example"`; !strings.Contains(string(body), want) {
		t.Errorf("/embed does not name the origins (%s): %s", want, body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'self' http://lms.example:8000 https://lessons.example") {
		t.Errorf("/embed may be framed by %q", csp)
	}
}
