package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Classrooms: a wave of learners from one address, the line they wait in
// when it outruns the pool, and the fair share between addresses.

// settleWait bounds filling a demand-sized pool on a busy 2-core host:
// about 45 runsc boots, two at a time.
const settleWait = 6 * time.Minute

// TestClassroomWave: with the default flags (-pool auto, no limit flag),
// forty learners from one address who press Run at once all get a prompt,
// none refused, and a settled pool absorbs the wave without a cold boot.
func TestClassroomWave(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-pool", "auto")
		var target int
		s.waitStatus(t, "the pool settled at its floor", settleWait, func(st serverStatus) bool {
			target = st.Pool.Target
			return st.Pool.Ready >= st.Pool.Target && st.Pool.Starting == 0
		})
		st := s.status(t)
		if target < 40 || !strings.HasPrefix(st.Pool.Reason, "floor") || st.Pool.Max < target {
			t.Fatalf("pool at start: %+v, want a floor of at least 40 below its max", *st.Pool)
		}
		const class = 40
		clients := make([]*wsClient, class)
		var wg sync.WaitGroup
		for i := range clients {
			clients[i] = s.connect(t)
		}
		for _, c := range clients {
			wg.Go(func() { c.hello(t, defaultCols, defaultRows) })
		}
		wg.Wait()
		for i, c := range clients {
			if e, ok := c.nextEvent("ready", readyWait); !ok {
				t.Fatalf("learner %d got no ready: %s", i, c.eventLog())
			} else if e.Session == "" {
				t.Fatalf("learner %d: ready without a session", i)
			}
			c.waitPrompt(t, readyWait)
		}
		for i, c := range clients {
			if got := c.eval(t, "1+1"); got != "2" {
				t.Errorf("learner %d: 1+1 printed %q", i, got)
			}
			for _, e := range c.allEvents() {
				if e.Type == "queued" || e.Type == "error" {
					t.Errorf("learner %d was not served at once: %s", i, e.raw)
				}
			}
		}
		m := s.metricsText(t)
		if v, _ := metricValue(t, m, "iexbox_time_to_prompt_seconds_count", `path="cold"`); v != 0 {
			t.Errorf("%v cold boots in a wave the settled pool should absorb", v)
		}
		if v, _ := metricValue(t, m, "iexbox_sessions_refused_total", `reason="rate_limited"`); v != 0 {
			t.Errorf("%v learners refused rate_limited", v)
		}
		// The target now covers the wave plus a quarter: raised to it, or
		// already there from the floor.
		st = s.status(t)
		if st.Pool.Target < class+class/4 || (st.Pool.Target > target && !strings.HasPrefix(st.Pool.Reason, "wave")) {
			t.Errorf("pool after the wave: %+v, want a target of at least %d", *st.Pool, class+class/4)
		}
		code, _, _ := strings.Cut(st.Pool.Reason, ":")
		requireMetric(t, s.metricsText(t), "iexbox_pool_reason", `reason="`+code+`"`, "1", func(v float64) bool { return v == 1 })
		for _, c := range clients {
			c.closeNormally()
		}
	})
}

// TestQueueOrder: with no warm sandbox and one boot at a time, learners
// from one address are served in the order their hellos arrived, each told
// its position (at least every 2 s); one who leaves the line is skipped
// and those behind it move up.
func TestQueueOrder(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-pool", "0", "-boot-parallel", "1")
		if st := s.status(t); !strings.HasPrefix(st.Pool.Reason, "disabled") {
			t.Errorf("pool reason %q, want disabled", st.Pool.Reason)
		}
		const n = 5
		const leaver = 2
		clients := make([]*wsClient, n)
		for i := range clients {
			clients[i] = s.connect(t)
			clients[i].hello(t, defaultCols, defaultRows)
			e := clients[i].waitEvent(t, "queued", eventWait)
			if e.Position == nil || *e.Position > i {
				t.Fatalf("client %d: first queued event %s, want position at most %d", i, e.raw, i)
			}
			time.Sleep(50 * time.Millisecond) // a clear order of arrival
		}
		clients[leaver].conn.Drop() // leaves the line before its turn
		var readyAt []time.Time
		for i, c := range clients {
			if i == leaver {
				continue
			}
			e := c.waitEvent(t, "ready", 2*readyWait)
			readyAt = append(readyAt, e.at)
			c.waitPrompt(t, readyWait)
		}
		if !slices.IsSortedFunc(readyAt, func(a, b time.Time) int { return a.Compare(b) }) {
			t.Errorf("served out of the order of arrival: %v", readyAt)
		}
		for i, c := range clients {
			if i == leaver {
				continue
			}
			var last time.Time
			var positions []int
			for _, e := range c.allEvents() {
				if e.Type == "ready" {
					break
				}
				if e.Type != "queued" {
					continue
				}
				if !last.IsZero() && e.at.Sub(last) > 2*time.Second+500*time.Millisecond {
					t.Errorf("client %d heard nothing for %v while waiting", i, e.at.Sub(last))
				}
				last = e.at
				positions = append(positions, *e.Position)
			}
			if !slices.IsSortedFunc(positions, func(a, b int) int { return b - a }) {
				t.Errorf("client %d: positions went back: %v", i, positions)
			}
			if len(positions) == 0 || positions[len(positions)-1] != 0 {
				t.Errorf("client %d: positions %v, want them to reach 0", i, positions)
			}
		}
		s.waitStatus(t, "the line empty", eventWait, func(st serverStatus) bool { return st.Pool.Queued == 0 })
		for i, c := range clients {
			if i != leaver {
				c.closeNormally()
			}
		}
	})
}

// TestQueueTimeout: a learner still waiting at -queue-timeout is told
// capacity, with advice on when to retry, and its wait leaves nothing.
func TestQueueTimeout(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-max-sessions", "1", "-queue-timeout", "3s")
		s.waitPoolReady(t)
		first, _ := s.openSession(t, defaultCols, defaultRows)
		late := s.connect(t)
		start := time.Now()
		late.hello(t, defaultCols, defaultRows)
		late.waitEvent(t, "queued", eventWait)
		e := late.waitEvent(t, "error", 10*time.Second)
		if took := time.Since(start); took < 3*time.Second || took > 6*time.Second {
			t.Errorf("refused after %v, want about -queue-timeout 3s", took)
		}
		if e.errorCode() != "capacity" || e.RetryAfter <= 0 {
			t.Errorf("refusal %s, want capacity with retry_after", e.raw)
		}
		late.requireClose(t, closeCapacity, eventWait)
		if got := first.eval(t, "1+1"); got != "2" {
			t.Errorf("the running session: 1+1 printed %q", got)
		}
		first.closeNormally()
	})
}

// TestFairShare: two addresses share a full server. The first fills it;
// its next is refused (above its share), while the second address waits in
// line and gets each place the first gives up, until both hold half.
func TestFairShare(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "-runtime", rt, "-pool", "1", "-max-sessions", "4", "-client-floor", "1")
		open := func(local string) *wsClient {
			c := s.connectFrom(t, local, nil)
			c.hello(t, defaultCols, defaultRows)
			return c
		}
		var school []*wsClient
		for range 4 {
			c := open("127.0.0.1")
			c.waitEvent(t, "ready", 2*readyWait)
			c.waitPrompt(t, readyWait)
			school = append(school, c)
		}
		// Full, one address: its share is all 4; it holds 4.
		requireRefused(t, open("127.0.0.1"), "rate_limited", closeRateLimited)
		home := open("127.0.0.2")
		home.waitEvent(t, "queued", eventWait)
		school[0].closeNormally()
		home.waitEvent(t, "ready", 2*readyWait)
		home.waitPrompt(t, readyWait)
		// Two holders: shares of 2. The school holds 3, home 1.
		requireRefused(t, open("127.0.0.1"), "rate_limited", closeRateLimited)
		home2 := open("127.0.0.2")
		home2.waitEvent(t, "queued", eventWait)
		school[1].closeNormally()
		home2.waitEvent(t, "ready", 2*readyWait)
		home2.waitPrompt(t, readyWait)
		requireRefused(t, open("127.0.0.2"), "rate_limited", closeRateLimited)
		for _, c := range []*wsClient{home, home2, school[2], school[3]} {
			if got := c.eval(t, "1+1"); got != "2" {
				t.Errorf("1+1 printed %q", got)
			}
		}
		if st := s.status(t); st.Sessions.Active != 4 {
			t.Errorf("%d sessions, want 4", st.Sessions.Active)
		}
	})
}

// TestBrowserShowsTheLine: the page and the widget say where a learner
// stands while no sandbox is free, and start once one is.
func TestBrowserShowsTheLine(t *testing.T) {
	var iexboxURL string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>A lesson</title>
<script src="%s/embed.js"></script>
<iex-console code="1 + 1" rows="6"></iex-console>`, iexboxURL)
	}))
	t.Cleanup(site.Close)
	s := startServer(t, "-runtime", "runc", "-pool", "0", "-max-sessions", "1", "-origins", site.URL)
	iexboxURL = s.URL()
	first, _ := s.openSession(t, defaultCols, defaultRows) // holds the only place

	page := newBrowser(t)
	run(t, page, chromedp.Navigate(s.URL()+"/"))
	waitJS(t, page, "the page to say it is next in line",
		`document.getElementById('status-text').textContent.startsWith('Starting… you are next')`)

	widget := newTab(t, page)
	run(t, widget, chromedp.Navigate(site.URL+"/"))
	waitJS(t, widget, "the widget defined", `customElements.get('iex-console') !== undefined`)
	el := `document.querySelector('iex-console')`
	clickShadow(t, widget, el, ".run")
	waitJS(t, widget, "the widget to say one is ahead",
		el+`.shadowRoot.querySelector('.status').textContent.startsWith('Starting… 1 ahead of you')`)
	screenshot(t, widget, "widget-in-line.png")

	first.closeNormally()
	waitJS(t, page, "the page running once the place is free", `window.iexbox.state() === 'running'`)
	waitBuffer(t, page, "window.iexbox.term", "iex(1)>")
	waitJS(t, widget, "the widget to say the page is now ahead",
		el+`.shadowRoot.querySelector('.status').textContent.startsWith('Starting… you are next')`)
}
