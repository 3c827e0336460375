package admission

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestGroupsOf(t *testing.T) {
	tests := []struct {
		key  string
		want []group
	}{
		{"192.0.2.1", []group{{"192.0.2.1", 1}}},
		{"school", []group{{"school", 1}}},
		{Key(netip.MustParseAddr("2001:db8:7:1234:5::6")), []group{
			{"2001:db8:7:1234::/64", 1}, {"2001:db8:7:1200::/56", 4}, {"2001:db8:7::/48", 16}}},
		{Key(netip.MustParseAddr("::ffff:192.0.2.1")), []group{{"192.0.2.1", 1}}},
	}
	for _, tt := range tests {
		if got := groupsOf(tt.key); !slices.Equal(got, tt.want) {
			t.Errorf("groupsOf(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

// sixtyFour is the client key of the j-th /64 of the i-th /56 of the /48
// 2001:db8:0::/48 (or of 2001:db8:<site>::/48).
func sixtyFour(site, i, j int) string {
	return Key(netip.MustParseAddr(fmt.Sprintf("2001:db8:%x:%02x%02x::1", site, i, j)))
}

// TestPrefixBounds: each per-address bound, set to one per /64, admits at
// most 4 from one /56 and 16 from one /48 however many /64s they come
// from, with the same answer as over a /64's bound; other /48s and IPv4
// addresses are not affected.
func TestPrefixBounds(t *testing.T) {
	type refusal struct {
		retry int   // seconds advised, when the bound advises any
		err   error // the error, when the bound returns one
	}
	type bound struct {
		name     string
		lim      AddressLimits
		capacity int
		// enter asks a for one more of key at now.
		enter func(a *Addresses, key string, now time.Time) (release func(), r refusal, ok bool)
		// refill is how long until a released place may be taken again
		// (a token bucket drips back); 0: at once.
		refill time.Duration
	}
	admit := func(a *Addresses, key string, now time.Time) (func(), refusal, bool) {
		release, retry, ok := a.Admit(key, Override{}, now)
		return release, refusal{retry: retry}, ok
	}
	gauge := func(enter func(a *Addresses, key string) (func(), bool)) func(*Addresses, string, time.Time) (func(), refusal, bool) {
		return func(a *Addresses, key string, _ time.Time) (func(), refusal, bool) {
			release, ok := enter(a, key)
			return release, refusal{}, ok
		}
	}
	bounds := []bound{
		{name: "pre-hello connections", lim: AddressLimits{PreHello: 1},
			enter: gauge(func(a *Addresses, key string) (func(), bool) { return a.Arrive(key) })},
		{name: "waiting places", lim: AddressLimits{Waiting: 1},
			enter: gauge(func(a *Addresses, key string) (func(), bool) { return a.wait(key) })},
		{name: "viewers", lim: AddressLimits{Viewers: 1},
			enter: func(a *Addresses, key string, _ time.Time) (func(), refusal, bool) {
				release, err := a.Watch(key)
				return release, refusal{err: err}, err == nil
			}},
		{name: "sessions", lim: AddressLimits{Sessions: 1}, enter: admit},
		// The fair share of a server of one session is the floor, one, as
		// soon as anything is held.
		{name: "fair share", lim: AddressLimits{Floor: 1, FairFrom: 0.5}, capacity: 1, enter: admit},
		// One at once, then one a minute; a /48's bucket holds 16 and
		// gets one back every 60/16 s.
		{name: "token bucket", lim: AddressLimits{PerMin: 1, Burst: 1}, enter: admit, refill: 4 * time.Second},
	}
	for _, b := range bounds {
		t.Run(b.name, func(t *testing.T) {
			a := NewAddresses(b.lim, b.capacity)
			now := time.Unix(1_800_000_000, 0)
			in := func(key string) func() {
				t.Helper()
				release, r, ok := b.enter(a, key, now)
				if !ok {
					t.Fatalf("%s refused (%+v), want it in", key, r)
				}
				return release
			}
			// out requires key refused with the answer over a /64's bound.
			var overSixtyFour refusal
			out := func(key, why string) {
				t.Helper()
				_, r, ok := b.enter(a, key, now)
				switch {
				case ok:
					t.Fatalf("%s admitted, want it refused: %s", key, why)
				case (r.retry > 0) != (overSixtyFour.retry > 0) || !errors.Is(r.err, overSixtyFour.err):
					t.Errorf("%s refused with %+v (%s), want the answer over a /64's bound, %+v", key, r, why, overSixtyFour)
				}
			}

			first := in(sixtyFour(0, 1, 0))
			_, overSixtyFour, ok := b.enter(a, sixtyFour(0, 1, 0), now)
			if ok {
				t.Fatal("a /64 got past its own bound of one")
			}
			if overSixtyFour.err != nil && !errors.Is(overSixtyFour.err, ErrAddressBusy) {
				t.Fatalf("over a /64's bound: %v, want ErrAddressBusy", overSixtyFour.err)
			}
			for j := 1; j < 4; j++ {
				in(sixtyFour(0, 1, j))
			}
			out(sixtyFour(0, 1, 4), "its /56 holds 4, the most a /56 may")
			for i := 2; i <= 4; i++ { // three more /56s of the /48, full
				for j := range 4 {
					in(sixtyFour(0, i, j))
				}
			}
			out(sixtyFour(0, 5, 0), "its /48 holds 16, the most a /48 may")
			in(sixtyFour(1, 1, 0)) // another /48
			in("192.0.2.1")        // IPv4 addresses are their own
			in("192.0.2.2")

			first()
			first() // idempotent
			now = now.Add(b.refill)
			in(sixtyFour(0, 5, 0)) // the /48 has room again
			out(sixtyFour(0, 5, 1), "its /48 is full again")
		})
	}
}
