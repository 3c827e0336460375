package server

import (
	"crypto/tls"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestParseOrigins(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"https://lessons.example", []string{"https://lessons.example"}},
		{"https://lessons.example/", []string{"https://lessons.example"}},
		{"HTTPS://Lessons.Example", []string{"https://lessons.example"}},
		{"https://lessons.example:443", []string{"https://lessons.example"}},
		{"http://lessons.example:80", []string{"http://lessons.example"}},
		{"http://lessons.example:443", []string{"http://lessons.example:443"}},
		{"http://localhost:3000, https://a.example ,http://[::1]:8080", []string{"http://[::1]:8080", "http://localhost:3000", "https://a.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o, err := ParseOrigins(tt.in)
			if err != nil {
				t.Fatalf("ParseOrigins(%q): %v", tt.in, err)
			}
			var got []string
			for k := range o {
				got = append(got, k)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseOrigins(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseOriginsRejects(t *testing.T) {
	for _, in := range []string{
		"lessons.example",
		"ftp://lessons.example",
		"https://",
		"https://lessons.example/path",
		"https://lessons.example?x=1",
		"https://user@lessons.example",
		"https://ok.example,bad",
		"://x",
		"*",
	} {
		t.Run(in, func(t *testing.T) {
			if o, err := ParseOrigins(in); err == nil {
				t.Errorf("ParseOrigins(%q) = %v, want an error", in, o)
			}
		})
	}
}

func TestOriginsAllowed(t *testing.T) {
	listed, err := ParseOrigins("https://lessons.example")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		host   string // as the client addressed the server
		tls    bool
		origin string
		want   bool
	}{
		{"no origin", "iexbox.example", false, "", true},
		{"own origin", "iexbox.example:8080", false, "http://iexbox.example:8080", true},
		{"own origin, default port", "iexbox.example", false, "http://iexbox.example:80", true},
		{"own origin over TLS", "iexbox.example", true, "https://iexbox.example", true},
		{"own host, wrong scheme", "iexbox.example", true, "http://iexbox.example", false},
		{"own host, wrong port", "iexbox.example:8080", false, "http://iexbox.example:8081", false},
		{"listed", "iexbox.example", false, "https://lessons.example", true},
		{"listed, other case", "iexbox.example", false, "https://LESSONS.example", true},
		{"foreign", "iexbox.example", false, "https://evil.example", false},
		{"opaque", "iexbox.example", false, "null", false},
		{"garbage", "iexbox.example", false, "%zz", false},
		// DNS rebinding: a foreign name pointed at the server sends an
		// Origin equal to its Host; that alone is not the server's own.
		{"rebound name", "rebind.example:8080", false, "http://rebind.example:8080", false},
		{"own IP literal", "127.0.0.1:8080", false, "http://127.0.0.1:8080", true},
	}
	hosts, err := ParseHosts("iexbox.example", "", listed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ws", nil)
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if got := listed.allowed(r, hosts); got != tt.want {
				t.Errorf("allowed(Origin %q, Host %q) = %v, want %v", tt.origin, tt.host, got, tt.want)
			}
		})
	}
}
