package admission

import (
	"fmt"
	"testing"
	"time"
)

func TestClientAdmit(t *testing.T) {
	var c sessionTable
	now := time.Unix(1_800_000_000, 0)
	lim := AddressLimits{Sessions: 2, PerMin: 3}

	r1, _, ok1 := c.admit("a", lim, 0, now)
	_, _, ok2 := c.admit("a", lim, 0, now)
	if !ok1 || !ok2 {
		t.Fatal("first two sessions refused")
	}
	if _, retry, ok := c.admit("a", lim, 0, now); ok || retry <= 0 {
		t.Fatalf("third concurrent session: ok=%v retry=%d, want refused with advice", ok, retry)
	}
	if _, _, ok := c.admit("b", lim, 0, now); !ok {
		t.Fatal("another client was refused")
	}
	r1()
	r1() // idempotent
	if _, _, ok := c.admit("a", lim, 0, now.Add(time.Second)); !ok {
		t.Fatal("a released slot was not reusable")
	}
	// Three starts at once use the burst (PerMin when Burst is 0); the
	// fourth waits until a token has dripped back: 20 s at 3 a minute.
	c.admit("b", AddressLimits{PerMin: 3}, 0, now)
	c.admit("b", AddressLimits{PerMin: 3}, 0, now)
	_, retry, ok := c.admit("b", AddressLimits{PerMin: 3}, 0, now.Add(10*time.Second))
	if ok || retry != 10 {
		t.Fatalf("fourth start within 10 s: ok=%v retry=%d, want refused, retry 10", ok, retry)
	}
	if _, _, ok := c.admit("b", AddressLimits{PerMin: 3}, 0, now.Add(21*time.Second)); !ok {
		t.Fatal("no start allowed once a token dripped back")
	}
}

// TestClientRateWave: a wave of 100 from one address passes the default
// burst; a loop that keeps opening is held to the sustained rate.
func TestClientRateWave(t *testing.T) {
	var c sessionTable
	now := time.Unix(1_800_000_000, 0)
	lim := AddressLimits{PerMin: 30, Burst: 120}
	for i := range 100 {
		if _, _, ok := c.admit("school", lim, 0, now.Add(time.Duration(i)*10*time.Millisecond)); !ok {
			t.Fatalf("session %d of a wave of 100 refused", i+1)
		}
	}
	opened := 100
	for i := range 600 { // a loop, one try every 100 ms for a minute
		if _, _, ok := c.admit("school", lim, 0, now.Add(time.Second+time.Duration(i)*100*time.Millisecond)); ok {
			opened++
		}
	}
	// 120 at once, then 30 a minute: at most 151 within the 61 s.
	if opened > 151 || opened < 140 {
		t.Errorf("a loop opened %d in 61 s, want 120 of burst plus about 30", opened)
	}
}

// TestClientFairShare follows the worked example in docs/security.md.
func TestClientFairShare(t *testing.T) {
	var c sessionTable
	now := time.Unix(1_800_000_000, 0)
	lim := AddressLimits{Floor: 4, FairFrom: 0.5}
	const capacity = 100
	// Below half of capacity anyone gets in: one school takes 60.
	for i := range 60 {
		if _, _, ok := c.admit("school", lim, capacity, now); !ok {
			t.Fatalf("school session %d refused while the server had room", i+1)
		}
	}
	// 60 held, at least 50: shares apply. The school alone may hold
	// 100/1 = 100; a second address joins: each may hold 100/2 = 50.
	if _, _, ok := c.admit("home", lim, capacity, now); !ok {
		t.Fatal("a new address was refused its share")
	}
	if _, retry, ok := c.admit("school", lim, capacity, now); ok || retry <= 0 {
		t.Fatal("the school above its share (60 of 50) was not refused first")
	}
	for range 29 {
		if _, _, ok := c.admit("cafe", lim, capacity, now); !ok {
			t.Fatal("a third address below its share (33) was refused")
		}
	}
	// Three holders: shares of 33. The cafe holds 29, home 1.
	for range 4 {
		c.admit("cafe", lim, capacity, now)
	}
	if _, _, ok := c.admit("cafe", lim, capacity, now); ok {
		t.Fatal("the cafe got past its share of 33")
	}
	if _, _, ok := c.admit("home", lim, capacity, now); !ok {
		t.Fatal("home, below its share, was refused")
	}
}

// TestForgetKeepsDrainedBuckets: the table forgets an idle address only
// once its bucket is full again, so flooding the table with other
// addresses (one /48 has 65,536 keys) gives a drained address nothing
// back; refusals do not grow the table.
func TestForgetKeepsDrainedBuckets(t *testing.T) {
	var c sessionTable
	now := time.Unix(1_800_000_000, 0)
	lim := AddressLimits{PerMin: 1, Burst: 4}
	for range 4 {
		release, _, _ := c.admit("drained", lim, 0, now)
		release()
	}
	now = now.Add(2 * time.Minute) // two tokens back, two short of full
	for i := range maxAddresses + 1 {
		c.admit(fmt.Sprint("other-", i), lim, 0, now)
	}
	c.admit("trigger", lim, 0, now) // past maxAddresses: forgets what it may
	for i := range 2 {
		if _, _, ok := c.admit("drained", lim, 0, now); !ok {
			t.Fatalf("start %d refused with tokens back", i+1)
		}
	}
	if _, _, ok := c.admit("drained", lim, 0, now); ok {
		t.Fatal("a drained address was forgotten and got its whole burst back")
	}
	n := len(c.seen)
	for i := range 100 {
		c.admit("drained", AddressLimits{Sessions: 1}, 0, now)
		c.admit(fmt.Sprint("refused-", i), AddressLimits{PerMin: 1, Burst: 1, FairFrom: 1, Floor: 0}, 1, now)
	}
	if len(c.seen) > n {
		t.Errorf("refusals grew the table from %d to %d entries", n, len(c.seen))
	}
}

// TestWatchClass: viewers of a class's shown console count against the
// class, not their address, so a whole class behind one address watches;
// other viewers from that address keep the per-address bound, and all of
// them the server's total.
func TestWatchClass(t *testing.T) {
	a := NewAddresses(AddressLimits{Viewers: 2, ViewersTotal: 12}, 0)
	var releases []func()
	for i := range 5 {
		r, err := a.WatchClass("ABCDEFGH", 5)
		if err != nil {
			t.Fatalf("class viewer %d: %v", i+1, err)
		}
		releases = append(releases, r)
	}
	if _, err := a.WatchClass("ABCDEFGH", 5); err != ErrClassViewers {
		t.Fatalf("class viewer 6 of a bound of 5: %v, want ErrClassViewers", err)
	}
	// The school's address, watching another session, is still capped.
	for i := range 2 {
		if _, err := a.Watch("192.0.2.7"); err != nil {
			t.Fatalf("address viewer %d: %v", i+1, err)
		}
	}
	if _, err := a.Watch("192.0.2.7"); err != ErrAddressBusy {
		t.Fatalf("address viewer 3 of 2: %v, want ErrAddressBusy", err)
	}
	// Another class has its own bound; the total still holds.
	for i := range 5 {
		if _, err := a.WatchClass("JKLMNPQR", 10); err != nil {
			t.Fatalf("other class's viewer %d: %v", i+1, err)
		}
	}
	if _, err := a.WatchClass("JKLMNPQR", 10); err != ErrCapacity {
		t.Fatalf("a viewer beyond the total: %v, want ErrCapacity", err)
	}
	releases[0]()
	releases[0]() // idempotent
	if _, err := a.WatchClass("ABCDEFGH", 5); err != nil {
		t.Fatalf("a released class viewer made no room: %v", err)
	}
}
