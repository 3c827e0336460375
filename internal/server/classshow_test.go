package server

import (
	"net/http"
	"testing"
	"time"

	"iexbox/internal/admission"
	"iexbox/internal/classroom"
	"iexbox/internal/client"
	"iexbox/internal/protocol"
)

// TestClassShowsTeachersConsole: the teacher shares a console and shows
// it to the class; learners already there, joining later and resuming
// are told its watch link; more viewers of it than the per-address cap
// watch from one address while another session's viewers from that
// address stay capped; stopping, and unsharing, tell the learners. Bad
// requests change nothing.
func TestClassShowsTeachersConsole(t *testing.T) {
	ts := classServer(t, serverOpts{max: 8, maxViewers: 50, resumeGrace: time.Minute,
		addresses: admission.AddressLimits{Viewers: 2, ViewersTotal: 100}})
	var created classCreated
	if st := classCall(t, "POST", ts.url+"/classes", "", `{"title":"Show","seats":2}`, &created); st != http.StatusCreated {
		t.Fatalf("open a class: %d", st)
	}
	classURL := ts.url + "/classes/" + created.Code
	api := client.Classes{Base: ts.url}

	ana := ts.connect(t)
	ana.must(ana.c.Hello(client.Hello{Cols: 80, Rows: 24, Class: created.Code, Name: "Ana", Resumable: true}))
	var anaReady protocol.Ready
	ana.event(protocol.TypeReady, &anaReady)

	teacher, _ := ts.start(t, 80, 24) // the teacher's own console, outside the class
	teacher.must(teacher.c.Share())
	var shared protocol.Shared
	teacher.event(protocol.TypeShared, &shared)
	other, _ := ts.start(t, 80, 24) // someone else's shared console
	other.must(other.c.Share())
	var otherShared protocol.Shared
	other.event(protocol.TypeShared, &otherShared)

	// Bad requests: each a JSON error, and no learner is told anything.
	for _, c := range []struct {
		bearer, body string
		status       int
		code         string
	}{
		{"", `{"watch":"` + shared.Watch + `"}`, http.StatusUnauthorized, "unauthorized"},
		{"not-the-teacher", `{"watch":"` + shared.Watch + `"}`, http.StatusForbidden, "forbidden"},
		{created.TeacherToken, `{"watch":"0123456789abcdef0123456789abcdef"}`, http.StatusNotFound, "not_found"},
		{created.TeacherToken, `{"watch":""}`, http.StatusNotFound, "not_found"},
		{created.TeacherToken, `{"watch":`, http.StatusBadRequest, "bad_request"},
		{created.TeacherToken, `{"token":"x"}`, http.StatusBadRequest, "bad_request"},
	} {
		var e protocol.ClassError
		if st := classCall(t, "POST", classURL+"/show", c.bearer, c.body, &e); st != c.status || e.Error != c.code || e.Message == "" {
			t.Errorf("show %q with %q: %d %+v, want %d %s", c.body, c.bearer, st, e, c.status, c.code)
		}
	}
	if _, _, ok := ts.classes.ShownViewers(shared.Watch); ok {
		t.Fatal("a refused show shows the console")
	}

	got, err := api.Show(t.Context(), created.Code, created.TeacherToken, shared.Watch)
	if err != nil || got.Watch != shared.Watch || got.URL != "/watch/"+shared.Watch || got.Delivered != 1 {
		t.Fatalf("show: %+v, %v; want the token, its page, one learner told", got, err)
	}
	var tc protocol.TeacherConsole
	ana.event(protocol.TypeTeacherConsole, &tc)
	if tc.Watch != shared.Watch || tc.URL != "/watch/"+shared.Watch {
		t.Fatalf("ana was told %+v", tc)
	}
	// A learner joining later is told right after ready.
	bo, _ := ts.learner(t, created.Code, "Bo", "")
	bo.event(protocol.TypeTeacherConsole, &tc)
	// A learner resuming is told again: its page was reloaded.
	ana.c.Drop()
	ana = ts.connect(t)
	ana.must(ana.c.Hello(client.Hello{Cols: 80, Rows: 24, Resume: anaReady.Resume}))
	var resumed protocol.Ready
	ana.event(protocol.TypeReady, &resumed)
	ana.event(protocol.TypeTeacherConsole, &tc)
	if tc.Watch != shared.Watch {
		t.Fatalf("the resumed learner was told %+v", tc)
	}

	// The class's viewers count against the class (2 seats and the
	// margin), not against the address all of them share.
	bound := 2 + classroom.ShowMargin
	for i := range bound {
		v := ts.connect(t)
		v.must(v.c.Hello(client.Hello{Cols: 80, Rows: 24, Watch: shared.Watch}))
		var r protocol.Ready
		v.event(protocol.TypeReady, &r)
		if r.Mode != protocol.ModeViewer {
			t.Fatalf("class viewer %d: ready %+v", i+1, r)
		}
	}
	over := ts.connect(t)
	over.must(over.c.Hello(client.Hello{Cols: 80, Rows: 24, Watch: shared.Watch}))
	over.expectError(protocol.CodeCapacity, protocol.CloseCapacity)
	for range 2 { // the address's own cap, for any other session
		v := ts.connect(t)
		v.must(v.c.Hello(client.Hello{Cols: 80, Rows: 24, Watch: otherShared.Watch}))
		var r protocol.Ready
		v.event(protocol.TypeReady, &r)
	}
	capped := ts.connect(t)
	capped.must(capped.c.Hello(client.Hello{Cols: 80, Rows: 24, Watch: otherShared.Watch}))
	capped.expectError(protocol.CodeRateLimited, protocol.CloseRateLimited)

	// Stopping tells every learner; stopping again tells no one.
	if n, err := api.Unshow(t.Context(), created.Code, created.TeacherToken); err != nil || n != 2 {
		t.Fatalf("unshow: %d, %v; want both learners told", n, err)
	}
	var ended protocol.TeacherConsoleEnded
	for _, p := range []*peer{ana, bo} {
		p.event(protocol.TypeTeacherConsoleEnded, &ended)
		if ended.Reason != classroom.ShowStopped {
			t.Fatalf("stop: %+v", ended)
		}
	}
	if n, err := api.Unshow(t.Context(), created.Code, created.TeacherToken); err != nil || n != 0 {
		t.Fatalf("unshow again: %d, %v; want no one told", n, err)
	}

	// Shown again, then unshared by the teacher's console: the learners
	// are told it ended.
	if _, err := api.Show(t.Context(), created.Code, created.TeacherToken, shared.Watch); err != nil {
		t.Fatal(err)
	}
	ana.event(protocol.TypeTeacherConsole, &tc)
	bo.event(protocol.TypeTeacherConsole, &tc)
	teacher.must(teacher.c.Unshare())
	for _, p := range []*peer{ana, bo} {
		p.event(protocol.TypeTeacherConsoleEnded, &ended)
		if ended.Reason != classroom.ShowEnded {
			t.Fatalf("unshared: %+v", ended)
		}
	}
	if _, _, ok := ts.classes.ShownViewers(shared.Watch); ok {
		t.Fatal("an unshared console is still shown")
	}
}
