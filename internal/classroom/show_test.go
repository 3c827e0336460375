package classroom

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"iexbox/internal/session"
	"iexbox/internal/store"
)

// fakeConsole is a learner's session that keeps what it is told.
type fakeConsole struct {
	mu   sync.Mutex
	told []session.Event
}

func (*fakeConsole) ID() string             { return "s" }
func (*fakeConsole) Exercise() string       { return "" }
func (*fakeConsole) IdleFor() time.Duration { return 0 }
func (*fakeConsole) EndWith(session.Reason) {}
func (*fakeConsole) Share() string          { return "" }
func (f *fakeConsole) Tell(e session.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.told = append(f.told, e)
}

func (f *fakeConsole) events() []session.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]session.Event(nil), f.told...)
}

// TestShow: a shown console is told to the class's sessions, to one
// greeted later, counted per class; it stops on Unshow, on the end of
// its sharing, and with the class; a token not shared is refused.
func TestShow(t *testing.T) {
	db, err := store.Open(t.Context(), store.Config{Data: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var mu sync.Mutex
	shared := map[string]bool{"live": true}
	s := New(Config{Store: db, SeatRoom: 10, Shared: func(w string) bool {
		mu.Lock()
		defer mu.Unlock()
		return shared[w]
	}})
	c, _, err := s.Open(t.Context(), "owner", OpenRequest{Title: "T", Seats: 3})
	if err != nil {
		t.Fatal(err)
	}
	join := func(name string) *fakeConsole {
		m, err := s.Join(t.Context(), "addr", c.Code, name, "")
		if err != nil {
			t.Fatal(err)
		}
		release, err := s.Seat(m)
		if err != nil {
			t.Fatal(err)
		}
		f := &fakeConsole{}
		t.Cleanup(s.Attach(t.Context(), m, f, release))
		return f
	}
	ana := join("Ana")

	for _, bad := range []string{"", "unknown"} {
		if _, err := s.Show(c, bad); err != ErrNotShared {
			t.Errorf("Show(%q): %v, want ErrNotShared", bad, err)
		}
	}
	if _, _, ok := s.ShownViewers("live"); ok || len(ana.events()) != 0 {
		t.Fatal("a refused show changed something")
	}
	if n, err := s.Show(c, "live"); err != nil || n != 1 {
		t.Fatalf("Show: %d, %v", n, err)
	}
	if code, bound, ok := s.ShownViewers("live"); !ok || code != c.Code || bound != 3+ShowMargin {
		t.Fatalf("ShownViewers: %q %d %v", code, bound, ok)
	}
	if _, _, ok := s.ShownViewers("other"); ok {
		t.Fatal("another token counted as the class's")
	}
	bo := join("Bo")
	s.Greeted(bo)
	stranger := &fakeConsole{}
	s.Greeted(stranger) // no class: nothing
	for name, f := range map[string]*fakeConsole{"ana": ana, "bo": bo} {
		if ev := f.events(); len(ev) != 1 || ev[0].Kind != session.TeacherConsole || ev[0].Watch != "live" {
			t.Fatalf("%s was told %+v", name, ev)
		}
	}
	if len(stranger.events()) != 0 {
		t.Fatal("a session of no class was told")
	}

	if n := s.Unshow(c); n != 2 {
		t.Fatalf("Unshow told %d, want 2", n)
	}
	if ev := ana.events(); ev[len(ev)-1].Kind != session.TeacherConsoleEnded || ev[len(ev)-1].Reason != ShowStopped {
		t.Fatalf("after Unshow ana was told %+v", ev)
	}
	if n := s.Unshow(c); n != 0 {
		t.Fatalf("a second Unshow told %d", n)
	}

	s.Show(c, "live")
	mu.Lock()
	shared["live"] = false // unshared, or its session ended
	mu.Unlock()
	s.checkShown()
	if ev := bo.events(); ev[len(ev)-1].Kind != session.TeacherConsoleEnded || ev[len(ev)-1].Reason != ShowEnded {
		t.Fatalf("after the sharing ended bo was told %+v", ev)
	}
	if _, _, ok := s.ShownViewers("live"); ok {
		t.Fatal("an unshared console is still shown")
	}

	mu.Lock()
	shared["live"] = true
	mu.Unlock()
	s.Show(c, "live")
	if err := s.End(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.ShownViewers("live"); ok {
		t.Fatal("an ended class still shows a console")
	}
	ended, _ := db.Class(t.Context(), c.Code)
	if _, err := s.Show(ended, "live"); err == nil {
		t.Fatal("an ended class showed a console")
	}
}
