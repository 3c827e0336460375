package server

import (
	"net/http"
	"testing"
)

func TestClientKey(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	c := proxies(trusted)
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
			if got := c.clientKey(r); got != tt.want {
				t.Errorf("key = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ParseTrustedProxies("not-an-ip"); err == nil {
		t.Error("ParseTrustedProxies accepted garbage")
	}
}
