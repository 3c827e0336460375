package server

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"iexbox/internal/classroom"
	"iexbox/internal/client"
	"iexbox/internal/protocol"
	"iexbox/internal/store"
)

// classServer is a test server that keeps classes in a fresh SQLite
// folder.
func classServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{Data: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o.store = db
	if o.classes == (ClassConfig{}) {
		o.classes = ClassConfig{MaxPerOwner: 3, LearnerSessions: 2, Memory: 0.5, WarmFor: time.Hour}
	}
	return newTestServer(t, o)
}

// classCall sends a request with a bearer credential and a JSON body
// ("" for none) and decodes a JSON answer into v (when not nil).
func classCall(t *testing.T, method, url, bearer, body string, v any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil && len(data) > 0 {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s %s: %s is not JSON: %v", method, url, data, err)
		}
	}
	return resp.StatusCode
}

// learner joins class code as name (or by token) and returns the peer
// and its ready.
func (ts *testServer) learner(t *testing.T, code, name, token string) (*peer, protocol.Ready) {
	t.Helper()
	p := ts.connect(t)
	p.must(p.c.Hello(client.Hello{Cols: 80, Rows: 24, Class: code, Name: name, Learner: token}))
	var r protocol.Ready
	p.event(protocol.TypeReady, &r)
	return p, r
}

// TestClassLife: a class opened from this machine, two learners (one
// with two consoles), the teacher's roster, a message, a watch, a
// removal and the end, each as the learners see it.
func TestClassLife(t *testing.T) {
	ts := classServer(t, serverOpts{max: 6, maxViewers: 2})
	var created classCreated
	if st := classCall(t, "POST", ts.url+"/classes", "", `{"title":"Enum","seats":2}`, &created); st != http.StatusCreated {
		t.Fatalf("open a class from this machine: %d", st)
	}
	if len(created.Code) != 9 || created.Code[4] != '-' || len(created.TeacherToken) != 32 ||
		!strings.Contains(created.TeacherURL, "#class="+created.Code+"&token="+created.TeacherToken) ||
		strings.Contains(created.JoinURL, created.TeacherToken) || !strings.HasSuffix(created.JoinURL, "/?classroom="+created.Code+"&instance=test-inst") ||
		!strings.Contains(created.TeacherURL, "/teach?instance=test-inst#") {
		t.Fatalf("created %+v", created)
	}
	classURL := ts.url + "/classes/" + created.Code

	// The code as a person types it: lower case, no dash.
	typed := strings.ToLower(strings.ReplaceAll(created.Code, "-", ""))
	ana, ready := ts.learner(t, typed, "  Ana  ", "")
	if ready.Class != created.Code || ready.Name != "Ana" || len(ready.Learner) != 32 {
		t.Fatalf("ready %+v", ready)
	}
	// The same learner's second console, by token; a third is over
	// -learner-sessions 2.
	ana2, again := ts.learner(t, created.Code, "", ready.Learner)
	if again.Learner != ready.Learner || again.Name != "Ana" {
		t.Fatalf("second console's ready %+v", again)
	}
	third := ts.connect(t)
	third.must(third.c.Hello(client.Hello{Cols: 80, Rows: 24, Class: created.Code, Learner: ready.Learner}))
	third.expectError(protocol.CodeRateLimited, protocol.CloseRateLimited)
	// No name is taken twice, in any case; bad names and unknown classes
	// are refused before any sandbox.
	taken := ts.connect(t)
	taken.must(taken.c.Hello(client.Hello{Cols: 80, Rows: 24, Class: created.Code, Name: "ANA"}))
	taken.expectError(protocol.CodeProtocol, protocol.CloseProtocol)
	bidi := ts.connect(t)
	bidi.must(bidi.c.Hello(client.Hello{Cols: 80, Rows: 24, Class: created.Code, Name: "Bo\u202Eb"}))
	bidi.expectError(protocol.CodeProtocol, protocol.CloseProtocol)
	unknown := ts.connect(t)
	unknown.must(unknown.c.Hello(client.Hello{Cols: 80, Rows: 24, Class: "ZZZZ-ZZZZ", Name: "Bo"}))
	unknown.expectError(protocol.CodeNotFound, protocol.CloseNotFound)
	bo, boReady := ts.learner(t, created.Code, "민준", "")

	var roster struct {
		Code     string `json:"code"`
		State    string `json:"state"`
		Learners []struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			Connected bool   `json:"connected"`
			Sessions  int    `json:"sessions"`
		} `json:"learners"`
	}
	if st := classCall(t, "GET", classURL, created.TeacherToken, "", &roster); st != http.StatusOK {
		t.Fatalf("roster: %d", st)
	}
	if roster.State != "open" || len(roster.Learners) != 2 || roster.Learners[0].Name != "Ana" || roster.Learners[0].Sessions != 2 ||
		!roster.Learners[1].Connected || roster.Learners[1].Name != "민준" {
		t.Fatalf("roster %+v", roster)
	}
	if st := classCall(t, "GET", classURL, "wrong", "", nil); st != http.StatusForbidden {
		t.Fatalf("roster with a wrong teacher token: %d, want 403", st)
	}
	if st := classCall(t, "GET", classURL, "", "", nil); st != http.StatusUnauthorized {
		t.Fatalf("roster without a token: %d, want 401", st)
	}

	var delivered map[string]int
	if st := classCall(t, "POST", classURL+"/message", created.TeacherToken, `{"text":"Try exercise 2"}`, &delivered); st != 200 || delivered["delivered"] != 3 {
		t.Fatalf("message: %d %v, want all three consoles", st, delivered)
	}
	for _, p := range []*peer{ana, ana2, bo} {
		var m protocol.Message
		p.event(protocol.TypeMessage, &m)
		if m.Text != "Try exercise 2" || m.From != "teacher" {
			t.Fatalf("message %+v", m)
		}
	}
	if st := classCall(t, "POST", classURL+"/message", created.TeacherToken, `{"text":"`+strings.Repeat("x", 281)+`"}`, nil); st != http.StatusBadRequest {
		t.Fatalf("a message of 281 characters: %d, want 400", st)
	}

	var watch struct{ Watch, URL string }
	if st := classCall(t, "POST", classURL+"/watch", created.TeacherToken, `{"learner":"`+roster.Learners[1].ID+`"}`, &watch); st != 200 || watch.Watch == "" {
		t.Fatalf("watch: %d %+v", st, watch)
	}
	var w protocol.Watched
	bo.event(protocol.TypeWatched, &w)
	viewer := ts.connect(t)
	viewer.must(viewer.c.Hello(client.Hello{Cols: 80, Rows: 24, Watch: watch.Watch}))
	var vr protocol.Ready
	viewer.event(protocol.TypeReady, &vr)
	if vr.Mode != protocol.ModeViewer || vr.Session != boReady.Session {
		t.Fatalf("the teacher's view %+v, want the learner's session", vr)
	}

	if st := classCall(t, "DELETE", classURL+"/learners/"+roster.Learners[1].ID, created.TeacherToken, "", nil); st != http.StatusNoContent {
		t.Fatalf("remove a learner: %d", st)
	}
	var viewers protocol.Viewers
	bo.event(protocol.TypeViewers, &viewers) // the teacher
	bo.expectExit(protocol.ReasonClassEnded, nil, protocol.CloseClassEnded)

	if st := classCall(t, "POST", classURL+"/end", created.TeacherToken, "", &roster); st != 200 || roster.State != "ended" {
		t.Fatalf("end: %d %+v", st, roster)
	}
	ana.expectExit(protocol.ReasonClassEnded, nil, protocol.CloseClassEnded)
	ana2.expectExit(protocol.ReasonClassEnded, nil, protocol.CloseClassEnded)
	late := ts.connect(t)
	late.must(late.c.Hello(client.Hello{Cols: 80, Rows: 24, Class: created.Code, Learner: ready.Learner}))
	late.expectError(protocol.CodeNotFound, protocol.CloseNotFound)
	ts.waitActive(t, 0)

	if st := classCall(t, "DELETE", classURL, created.TeacherToken, "", nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	if st := classCall(t, "GET", classURL, created.TeacherToken, "", nil); st != http.StatusForbidden {
		t.Fatalf("a deleted class: %d, want 403", st)
	}
}

// TestOpenClassRefusals: each bad request is a clear JSON error and
// creates nothing.
func TestOpenClassRefusals(t *testing.T) {
	keys, err := HashTeacherKeys("# the school's keys\nkey-of-the-teacher-1\n")
	if err != nil {
		t.Fatal(err)
	}
	ts := classServer(t, serverOpts{max: 4, teacherKeys: keys})
	key := "key-of-the-teacher-1"
	for _, c := range []struct {
		name, bearer, body string
		status             int
		code               string
	}{
		{"no credential", "", `{"title":"A","seats":1}`, 401, "unauthorized"},
		{"a wrong key", "key-of-the-teacher-2", `{"title":"A","seats":1}`, 403, "forbidden"},
		{"not JSON", key, `{"title":`, 400, "bad_request"},
		{"an unknown field", key, `{"title":"A","sits":1}`, 400, "bad_request"},
		{"no title", key, `{"seats":1}`, 400, "bad_request"},
		{"an unknown exercise", key, `{"title":"A","exercises":["no/such"]}`, 400, "bad_request"},
		{"a bad start", key, `{"title":"A","starts_at":"tomorrow"}`, 400, "bad_request"},
		{"an oversized body", key, `{"title":"` + strings.Repeat("a", 17<<10) + `"}`, 400, "bad_request"},
		{"more seats than fit", key, `{"title":"A","seats":900}`, 409, "no_room"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e classError
			if st := classCall(t, "POST", ts.url+"/classes", c.bearer, c.body, &e); st != c.status || e.Error != c.code || e.Message == "" {
				t.Fatalf("%d %+v, want %d %s with a message", st, e, c.status, c.code)
			}
			if c.code == "no_room" && (e.Fits == nil || *e.Fits > 4) {
				t.Fatalf("no_room without how many fit: %+v", e)
			}
		})
	}
	// Three classes per key (MaxPerOwner 3), then 429; none of the
	// refusals above made one.
	for i := range 4 {
		var created classCreated
		st := classCall(t, "POST", ts.url+"/classes", key, `{"title":"A","seats":0}`, &created)
		if want := map[bool]int{true: 201, false: 429}[i < 3]; st != want {
			t.Fatalf("class %d: %d, want %d", i+1, st, want)
		}
	}
}

// TestFailedJoinsLimited: an address that names unknown classes is
// refused for a while, so codes cannot be found by guessing.
func TestFailedJoinsLimited(t *testing.T) {
	ts := classServer(t, serverOpts{max: 2})
	refusedAt := -1
	for i := range 15 {
		p := ts.connect(t)
		p.must(p.c.Hello(client.Hello{Cols: 80, Rows: 24, Class: "ABCD-EFGH", Name: "Bo"}))
		var e protocol.Error
		p.event(protocol.TypeError, &e)
		if e.Code == protocol.CodeRateLimited {
			refusedAt = i
			break
		}
		if e.Code != protocol.CodeNotFound {
			t.Fatalf("join %d: %+v", i+1, e)
		}
	}
	if refusedAt != 10 {
		t.Fatalf("the first rate_limited came at join %d, want 11 (a burst of 10)", refusedAt+1)
	}
}

// TestLearnerKeyLeavesTheViewAlone: the key of a learner event ignores idle
// seconds without zeroing those of the event itself, whose consoles'
// idle the teacher's page counts up from.
func TestLearnerKeyLeavesTheViewAlone(t *testing.T) {
	l := classroom.LearnerView{ID: "a", IdleS: 5, Consoles: []classroom.ConsoleView{{Session: "s", Exercise: "enum/double", IdleS: 7}}}
	key := learnerKey(l)
	if l.Consoles[0].IdleS != 7 {
		t.Fatalf("learnerKey zeroed the console's idle seconds: %+v", l.Consoles[0])
	}
	l.IdleS, l.Consoles[0].IdleS = 9, 9
	if learnerKey(l) != key {
		t.Error("idle seconds change the learner's key")
	}
}
