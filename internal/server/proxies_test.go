package server

import (
	"maps"
	"net/http"
	"net/http/httptest"
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

// TestLocalOnlyRefusesForwarded: a server over a backend that isolates
// nothing answers 403 to anything a proxy forwarded, on every path; a
// server that isolates serves it.
func TestLocalOnlyRefusesForwarded(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   int // with LocalOnly
	}{
		{"direct", nil, http.StatusOK},
		{"X-Forwarded-For", http.Header{"X-Forwarded-For": {"192.0.2.1"}}, http.StatusForbidden},
		{"X-Forwarded-For empty", http.Header{"X-Forwarded-For": {""}}, http.StatusForbidden},
		{"Forwarded", http.Header{"Forwarded": {"for=192.0.2.1;proto=https"}}, http.StatusForbidden},
		{"both", http.Header{"Forwarded": {"for=192.0.2.1"}, "X-Forwarded-For": {"192.0.2.1"}}, http.StatusForbidden},
	}
	local, isolating := bareServer(t, Config{LocalOnly: true}), bareServer(t, Config{})
	for _, tt := range tests {
		for _, path := range []string{"/healthz", "/readyz", "/status"} {
			t.Run(tt.name+path, func(t *testing.T) {
				for _, s := range []struct {
					srv  *Server
					want int
				}{{local, tt.want}, {isolating, http.StatusOK}} {
					r := httptest.NewRequest("GET", "http://127.0.0.1"+path, nil)
					r.RemoteAddr = "127.0.0.1:40000"
					maps.Copy(r.Header, tt.header)
					w := httptest.NewRecorder()
					s.srv.ServeHTTP(w, r)
					if w.Code != s.want {
						t.Errorf("LocalOnly %v: GET %s with %v: %d, want %d", s.srv.cfg.LocalOnly, path, tt.header, w.Code, s.want)
					}
				}
			})
		}
	}
}
