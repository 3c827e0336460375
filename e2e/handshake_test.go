package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestOrigin(t *testing.T) {
	const listed = "https://lessons.example"
	s := startServer(t, "-origins", listed)
	for _, tc := range []struct {
		name, origin string
		want         int
	}{
		{"foreign origin", "http://evil.example", http.StatusForbidden},
		{"same host, other port", "http://127.0.0.1:1", http.StatusForbidden},
		{"no Origin header", "", http.StatusSwitchingProtocols},
		{"same origin", s.URL(), http.StatusSwitchingProtocols},
		{"listed in -origins", listed, http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{}
			if tc.origin != "" {
				header.Set("Origin", tc.origin)
			}
			conn, resp, err := s.dial(t, header, subprotocol)
			if conn != nil {
				conn.Close()
			}
			if resp == nil {
				t.Fatalf("no HTTP response: %v", err)
			}
			if resp.StatusCode != tc.want {
				t.Errorf("Origin %q: HTTP %s, want %d", tc.origin, resp.Status, tc.want)
			}
		})
	}
}

func TestSubprotocolRequired(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		name   string
		offers []string
	}{
		{"none offered", nil},
		{"another one offered", []string{"iexbox.v0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := s.dial(t, nil, tc.offers...)
			if conn != nil {
				conn.Close()
				t.Fatal("upgraded without the iexbox.v1 subprotocol")
			}
			if resp == nil {
				t.Fatalf("no HTTP response: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), subprotocol) {
				t.Errorf("HTTP %s with body %q, want 400 and a body naming %s", resp.Status, body, subprotocol)
			}
		})
	}
}
