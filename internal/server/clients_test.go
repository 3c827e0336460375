package server

import (
	"net/http"
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	c := clients{trusted: trusted}
	tests := []struct {
		name, remote, xff, want string
	}{
		{"ipv4", "198.51.100.7:5000", "", "198.51.100.7"},
		{"untrusted header ignored", "198.51.100.7:5000", "203.0.113.9", "198.51.100.7"},
		{"trusted proxy", "10.1.2.3:5000", "203.0.113.9", "203.0.113.9"},
		{"proxy chain", "192.0.2.1:5000", "203.0.113.9, 10.9.9.9", "203.0.113.9"},
		{"spoofed first hop skipped", "10.1.2.3:5000", "1.1.1.1, 203.0.113.9", "203.0.113.9"},
		{"ipv6 /64", "[2001:db8:1:2:3:4:5:6]:5000", "", "2001:db8:1:2::/64"},
		{"ipv4-mapped", "[::ffff:198.51.100.7]:5000", "", "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := c.key(r); got != tt.want {
				t.Errorf("key = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ParseTrustedProxies("not-an-ip"); err == nil {
		t.Error("ParseTrustedProxies accepted garbage")
	}
}

func TestClientAdmit(t *testing.T) {
	var c clients
	now := time.Unix(1_800_000_000, 0)
	lim := ClientLimits{Sessions: 2, PerMin: 3}

	r1, _, ok1 := c.admit("a", lim, now)
	_, _, ok2 := c.admit("a", lim, now)
	if !ok1 || !ok2 {
		t.Fatal("first two sessions refused")
	}
	if _, retry, ok := c.admit("a", lim, now); ok || retry <= 0 {
		t.Fatalf("third concurrent session: ok=%v retry=%d, want refused with advice", ok, retry)
	}
	if _, _, ok := c.admit("b", lim, now); !ok {
		t.Fatal("another client was refused")
	}
	r1()
	r1() // idempotent
	if _, _, ok := c.admit("a", lim, now.Add(time.Second)); !ok {
		t.Fatal("a released slot was not reusable")
	}
	// Three starts within the minute: the rate limit now holds.
	r4, _, _ := c.admit("b", ClientLimits{PerMin: 3}, now)
	_ = r4
	c.admit("b", ClientLimits{PerMin: 3}, now)
	_, retry, ok := c.admit("b", ClientLimits{PerMin: 3}, now.Add(20*time.Second))
	if ok || retry != 40 {
		t.Fatalf("fourth start in a minute: ok=%v retry=%d, want refused, retry 40", ok, retry)
	}
	if _, _, ok := c.admit("b", ClientLimits{PerMin: 3}, now.Add(61*time.Second)); !ok {
		t.Fatal("rate limit did not lapse after a minute")
	}
}
