package pool

import (
	"testing"
	"time"
)

// TestLineOrder: first come, first served within an address, round-robin
// across addresses, and positions that match the order of service.
func TestLineOrder(t *testing.T) {
	var l line
	var places []*Place
	join := func(addr string) *Place {
		pl := &Place{addr: addr, changed: make(chan struct{}, 1)}
		l.add(pl)
		places = append(places, pl)
		return pl
	}
	a1, a2, a3 := join("a"), join("a"), join("a")
	b1 := join("b")
	a4 := join("a")
	b2 := join("b")
	c1 := join("c")
	l.reposition()
	// a's round 0, b's, c's; then a's round 1, b's; then a's rounds 2, 3.
	want := []*Place{a1, b1, c1, a2, b2, a3, a4}
	for i, pl := range want {
		if pl.ahead != i {
			t.Errorf("place %d (%s) has %d ahead, want %d", i, pl.addr, pl.ahead, i)
		}
	}
	for i, w := range want {
		got := l.pop()
		if got != w {
			t.Fatalf("pop %d: got a place of %s (ahead %d), want %s's", i, got.addr, got.ahead, w.addr)
		}
		l.reposition()
		if got.ahead != 0 && i == 0 {
			t.Errorf("first served had %d ahead", got.ahead)
		}
	}
	if l.pop() != nil || l.n != 0 || len(l.order) != 0 {
		t.Fatalf("line not empty: n=%d order=%d", l.n, len(l.order))
	}
}

// TestLineLeave: a place that leaves moves everyone behind it up and is
// never served.
func TestLineLeave(t *testing.T) {
	var l line
	mk := func(addr string) *Place { return &Place{addr: addr, changed: make(chan struct{}, 1)} }
	a1, a2, b1 := mk("a"), mk("a"), mk("b")
	l.add(a1)
	l.add(a2)
	l.add(b1)
	l.reposition()
	if a2.ahead != 2 {
		t.Fatalf("a2 ahead %d, want 2", a2.ahead)
	}
	<-a2.changed
	if !l.remove(b1) {
		t.Fatal("remove b1 failed")
	}
	l.reposition()
	if a2.ahead != 1 {
		t.Errorf("a2 ahead %d after b1 left, want 1", a2.ahead)
	}
	select {
	case <-a2.changed:
	default:
		t.Error("a2 was not told its position changed")
	}
	if l.remove(b1) {
		t.Error("b1 removed twice")
	}
	if l.pop() != a1 || l.pop() != a2 || l.pop() != nil {
		t.Error("wrong order after a leave")
	}
}

// TestAutoPoolBounds: the bound from memory, -pool-max and -max-sessions,
// the floor half of it.
func TestAutoPoolBounds(t *testing.T) {
	const gib, mib = 1 << 30, 1 << 20
	tests := []struct {
		name                string
		capacity, footprint int64
		poolMax, sessions   int
		floor, max          int
	}{
		{"runsc on 24 GiB", 18 * gib, 64 * mib, 200, 345, 43, 86},
		{"runc on 24 GiB", 18 * gib, 48 * mib, 200, 460, 58, 115},
		{"pool-max", 18 * gib, 48 * mib, 20, 460, 10, 20},
		{"max-sessions", 18 * gib, 48 * mib, 200, 6, 3, 6},
		{"unknown memory", 0, 0, 0, 0, 2, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := AutoBounds(tt.capacity, tt.footprint, 0.3, tt.poolMax, tt.sessions)
			if a.Floor != tt.floor || a.Max != tt.max || a.Bound == "" {
				t.Errorf("got %+v, want floor %d max %d", a, tt.floor, tt.max)
			}
		})
	}
}

// TestSizingFollowsWaves: the target jumps to the largest recent wave plus
// a quarter, within the bound, and gives back one a shrinkStep.
func TestSizingFollowsWaves(t *testing.T) {
	s := newSizing(Config{Auto: &AutoSize{Floor: 10, Max: 60, Bound: "test"}})
	now := time.Unix(1_800_000_000, 0)
	if s.target != 10 || s.max != 60 {
		t.Fatalf("start: target %d max %d, want 10 and 60", s.target, s.max)
	}
	for i := range 40 {
		s.arrived(now.Add(time.Duration(i) * 100 * time.Millisecond))
	}
	if s.target != 50 {
		t.Errorf("after a wave of 40: target %d (%s), want 50", s.target, s.reason)
	}
	for i := range 60 {
		s.arrived(now.Add(time.Minute + time.Duration(i)*10*time.Millisecond))
	}
	if s.target != 60 {
		t.Errorf("after a wave of 60: target %d (%s), want the bound 60", s.target, s.reason)
	}
	// The waves are forgotten after waveMemory; then one a shrinkStep.
	later := now.Add(time.Minute + waveMemory + time.Second)
	s.update(later)
	if s.target != 59 {
		t.Errorf("first shrink: target %d (%s), want 59", s.target, s.reason)
	}
	s.update(later.Add(time.Second))
	if s.target != 59 {
		t.Errorf("shrank again within a step: %d", s.target)
	}
	for i := 1; i <= 100; i++ {
		s.update(later.Add(time.Duration(i) * shrinkStep))
	}
	if s.target != 10 {
		t.Errorf("long after: target %d (%s), want the floor 10", s.target, s.reason)
	}
}

// TestSizingPinned: -pool N keeps N whatever comes.
func TestSizingPinned(t *testing.T) {
	s := newSizing(Config{Size: 3})
	for range 50 {
		s.arrived(time.Now())
	}
	if s.target != 3 || s.max != 3 {
		t.Errorf("pinned pool moved: %+v", s)
	}
}
