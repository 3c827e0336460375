package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"iexbox/internal/client"
	"iexbox/internal/protocol"
)

// Classes (docs/classes.md): seats kept warm for a class and its learners
// admitted against it, not against their one address; results that
// survive a restart; one class shared by two servers through PostgreSQL.

// classes is the classes' API of s, as a lesson site's server calls it.
func (s *testServer) classes() client.Classes {
	return client.Classes{Base: s.URL(), HTTP: httpClient}
}

// openClass opens a class from this machine (no teacher key configured).
func openClass(t *testing.T, s *testServer, req client.ClassRequest) protocol.ClassCreated {
	t.Helper()
	created, err := s.classes().Open(t.Context(), "", req)
	if err != nil {
		t.Fatalf("open a class: %v", err)
	}
	return created
}

// joinClass says hello as a learner of code, by name or by learner token,
// and waits for ready.
func (c *wsClient) joinClass(t *testing.T, code, name, learner, exercise string) event {
	t.Helper()
	c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Class: code, Name: name, Learner: learner, Exercise: exercise})
	return c.waitEvent(t, "ready", readyWait)
}

// readyOf decodes a ready event's class fields.
func readyOf(t *testing.T, e event) protocol.Ready {
	t.Helper()
	var r protocol.Ready
	if err := json.Unmarshal([]byte(e.raw), &r); err != nil {
		t.Fatalf("ready %s: %v", e.raw, err)
	}
	return r
}

// TestClassSeats: a class of 8 keeps 8 sandboxes warm for its learners;
// once strangers from the school's address have spent its rate, 8
// learners from that same address still all get a prompt, and ending the
// class ends every session of it with class_ended.
func TestClassSeats(t *testing.T) {
	const seats = 8
	s := startServer(t, "-pool", "0", "-client-burst", "2", "-client-rate", "1")
	created := openClass(t, s, client.ClassRequest{Title: "Seats", Seats: seats})
	s.waitStatus(t, "the class's seats warm", settleWait, func(st serverStatus) bool {
		return st.Pool != nil && st.Pool.Ready >= seats && st.Pool.Target == seats
	})
	// Strangers from the address spend its burst of 2; the third waits.
	for range 2 {
		c := s.connect(t)
		c.hello(t, defaultCols, defaultRows)
		c.waitEvent(t, "ready", readyWait)
		defer c.closeNormally()
	}
	stranger := s.connect(t)
	stranger.hello(t, defaultCols, defaultRows)
	if e := stranger.firstEvent(t, readyWait, "ready", "error"); e.Type != "error" || e.errorCode() != protocol.CodeRateLimited {
		t.Fatalf("a third stranger from the address got %s, want rate_limited", e.raw)
	}
	learners := make([]*wsClient, seats)
	for i := range learners {
		learners[i] = s.connect(t)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range learners {
		wg.Go(func() {
			c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Class: created.Code, Name: "Learner " + string(rune('A'+i))})
		})
	}
	wg.Wait()
	var slowest time.Duration
	for i, c := range learners {
		e := c.firstEvent(t, readyWait, "ready", "error")
		if e.Type != "ready" {
			t.Fatalf("learner %d refused: %s", i, e.raw)
		}
		if r := readyOf(t, e); r.Class != created.Code || r.Learner == "" {
			t.Fatalf("learner %d's ready %s: no class or learner token", i, e.raw)
		}
		c.waitPrompt(t, readyWait)
		slowest = max(slowest, time.Since(start))
	}
	t.Logf("%d learners from one spent address: all at their prompt within %v", seats, slowest.Round(time.Millisecond))
	if got := learners[0].eval(t, "1+1"); got != "2" {
		t.Fatalf("1+1 printed %q", got)
	}
	if _, err := s.classes().End(t.Context(), created.Code, created.TeacherToken); err != nil {
		t.Fatal(err)
	}
	for i, c := range learners {
		e := c.waitEvent(t, "exit", readyWait)
		if e.Reason != protocol.ReasonClassEnded {
			t.Errorf("learner %d: exit %s, want class_ended", i, e.raw)
		}
		c.requireClose(t, protocol.CloseClassEnded, 10*time.Second)
	}
	s.waitStatus(t, "the seats released", readyWait, func(st serverStatus) bool { return st.Pool != nil && st.Pool.Target == 0 })
}

// TestClassResultsSurviveRestart: a learner's checks become the class's
// results (the latest status, attempts, the first pass), in the roster and
// the CSV; after a restart on the same data folder the class, the learner
// (by token) and the results are all there.
func TestClassResultsSurviveRestart(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, "-runtime", "runc", "-pool", "0", "-data", data)
	created := openClass(t, s, client.ClassRequest{Title: "Enum", Seats: 0, Exercises: []string{"enum/double"}})
	c := s.connect(t)
	ready := readyOf(t, c.joinClass(t, created.Code, "Ana", "", "enum/double"))
	c.waitPrompt(t, readyWait)
	if res, _ := c.checkRan(t, "wrong", doubleWrong); res.Status != "fail" {
		t.Fatalf("a wrong answer checked %q", res.Status)
	}
	if res, _ := c.checkRan(t, "right", doubleFixed); res.Status != "pass" {
		t.Fatalf("the right answer checked %q: %s", res.Status, res.Message)
	}
	requireResult := func(s *testServer) {
		t.Helper()
		r, err := s.classes().Roster(t.Context(), created.Code, created.TeacherToken)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Learners) != 1 || r.Learners[0].Name != "Ana" {
			t.Fatalf("roster %+v", r)
		}
		got := r.Learners[0].Exercises["enum/double"]
		if got.Status != "pass" || got.Attempts < 2 || got.SolvedAt == nil || got.Total == 0 || got.Passed != got.Total {
			t.Fatalf("enum/double: %+v, want pass after at least 2 attempts", got)
		}
		if sum := r.Summary["enum/double"]; sum.Solved != 1 || sum.Attempted != 1 {
			t.Fatalf("summary %+v", sum)
		}
	}
	requireResult(s)
	csv := classGet(t, s, "/classes/"+created.Code+"/results.csv", created.TeacherToken)
	if !strings.HasPrefix(csv, "learner,exercise,status,passed,total,attempts,solved_at,source\n") ||
		!strings.Contains(csv, "\nAna,enum/double,pass,") || !strings.Contains(csv, "reported by the learner's own sandbox") {
		t.Fatalf("CSV:\n%s", csv)
	}
	c.closeNormally()
	s.stop(t)

	again := startServer(t, "-runtime", "runc", "-pool", "0", "-data", data)
	requireResult(again)
	back := again.connect(t)
	if r := readyOf(t, back.joinClass(t, created.Code, "", ready.Learner, "")); r.Name != "Ana" || r.Learner != ready.Learner {
		t.Fatalf("after the restart the learner token gave %+v", r)
	}
	back.closeNormally()
}

// classGet reads path with a bearer token and returns the body.
func classGet(t *testing.T, s *testServer, path, bearer string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", path, resp.Status, body)
	}
	return string(body)
}

// TestClassSharedThroughPostgres: two servers on one PostgreSQL share a
// class: it is opened on one, a learner joins and checks on the other,
// and the teacher's event stream on the first shows the result within
// seconds.
func TestClassSharedThroughPostgres(t *testing.T) {
	database := postgresSchema(t)
	a := startServer(t, "-runtime", "runc", "-pool", "0", "-database", database)
	b := startServer(t, "-runtime", "runc", "-pool", "0", "-database", database)
	created := openClass(t, a, client.ClassRequest{Title: "Shared", Exercises: []string{"enum/double"}})

	// The teacher follows the class on a.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", a.URL()+"/classes/"+created.Code+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+created.TeacherToken)
	stream := &http.Client{Transport: &http.Transport{Proxy: nil}} // no timeout: it streams
	resp, err := stream.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("events: %s %q", resp.Status, ct)
	}
	events := make(chan [2]string, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var name string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- [2]string{name, strings.TrimPrefix(line, "data: ")}
			}
		}
	}()
	waitEvent := func(what string, cond func(name, data string) bool) time.Time {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("the event stream ended before %s", what)
				}
				if cond(ev[0], ev[1]) {
					return time.Now()
				}
			case <-deadline:
				t.Fatalf("no %s on the event stream within 15 s", what)
			}
		}
	}
	waitEvent("the roster", func(name, _ string) bool { return name == "roster" })

	c := b.connect(t)
	c.joinClass(t, created.Code, "Bo", "", "enum/double")
	waitEvent("Bo joining on the other server", func(name, data string) bool {
		return name == "learner" && strings.Contains(data, `"name":"Bo"`)
	})
	c.waitPrompt(t, readyWait)
	res, took := c.checkRan(t, "right", doubleFixed)
	if res.Status != "pass" {
		t.Fatalf("check: %q %s", res.Status, res.Message)
	}
	checked := time.Now()
	seen := waitEvent("Bo's pass", func(name, data string) bool {
		return name == "learner" && strings.Contains(data, `"status":"pass"`)
	})
	t.Logf("a check on b (%v) reached the teacher's stream on a %v after its answer", took.Round(time.Millisecond), seen.Sub(checked).Round(time.Millisecond))
	c.closeNormally()
}
