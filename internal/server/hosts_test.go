package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHostsAllowed(t *testing.T) {
	origins, err := ParseOrigins("https://lessons.example")
	if err != nil {
		t.Fatal(err)
	}
	byDefault, err := ParseHosts("", "iexbox.internal:8080", origins)
	if err != nil {
		t.Fatal(err)
	}
	listed, err := ParseHosts("learn.example.org, Other.Example", "127.0.0.1:8080", origins)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		hosts Hosts
		host  string
		want  bool
	}{
		{byDefault, "localhost:8080", true},
		{byDefault, "LOCALHOST", true},
		{byDefault, "127.0.0.1:8080", true},
		{byDefault, "[::1]:8080", true},
		{byDefault, "10.1.2.3", true}, // an IP literal cannot be rebound
		{byDefault, "iexbox.internal:8080", true},
		{byDefault, "lessons.example", true},
		{byDefault, "rebind.example:8080", false},
		{byDefault, "", false},
		{listed, "learn.example.org", true},
		{listed, "learn.example.org.:443", true},
		{listed, "other.example", true},
		{listed, "localhost", true},
		{listed, "lessons.example", false}, // -hosts replaces the default
		{listed, "evil.learn.example.org", false},
	} {
		if got := tt.hosts.allowed(tt.host); got != tt.want {
			t.Errorf("Host %q: allowed %v, want %v", tt.host, got, tt.want)
		}
	}
	for _, bad := range []string{"https://learn.example.org", "learn.example.org:443", ".example"} {
		if _, err := ParseHosts(bad, "", nil); err == nil {
			t.Errorf("ParseHosts(%q): no error", bad)
		}
	}
}

// A request naming a host the server does not answer to is refused before
// routing, except the health checks.
func TestHostChecked(t *testing.T) {
	hosts, _ := ParseHosts("", "127.0.0.1:0", nil)
	s := bareServer(t, Config{Hosts: hosts, Log: slog.New(slog.DiscardHandler)})
	for _, tt := range []struct {
		path, host string
		want       int
	}{
		{"/healthz", "rebind.example", http.StatusOK},
		{"/ws", "rebind.example", http.StatusForbidden},
		{"/status", "rebind.example", http.StatusForbidden},
		{"/healthz", "localhost", http.StatusOK},
	} {
		r := httptest.NewRequest("GET", tt.path, nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("GET %s Host %s: %d, want %d", tt.path, tt.host, w.Code, tt.want)
		}
		if w.Code == http.StatusOK && w.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: Referrer-Policy %q", tt.path, w.Header().Get("Referrer-Policy"))
		}
	}
}

// /metrics is refused through a trusted proxy, however the path is spelt;
// Go's router serves it only under the decoded path /metrics and redirects
// unclean spellings to it, which is what the deploy examples block.
func TestMetricsPrivate(t *testing.T) {
	proxies, _ := ParseTrustedProxies("127.0.0.2")
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("iexbox_up 1\n")) })
	s := bareServer(t, Config{TrustedProxies: proxies, Metrics: metrics, Log: slog.New(slog.DiscardHandler)})
	for _, tt := range []struct {
		remote, target string
		want           int
	}{
		{"127.0.0.1:5000", "/metrics", http.StatusOK},
		{"127.0.0.1:5000", "/%6Detrics", http.StatusOK},
		{"127.0.0.1:5000", "//metrics", http.StatusTemporaryRedirect},
		{"127.0.0.1:5000", "/./metrics", http.StatusTemporaryRedirect},
		{"127.0.0.2:5000", "/metrics", http.StatusNotFound},
		{"127.0.0.2:5000", "/%6Detrics", http.StatusNotFound},
	} {
		r := httptest.NewRequest("GET", tt.target, nil)
		r.RemoteAddr = tt.remote
		r.Host = "127.0.0.1:8080"
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("GET %s from %s: %d, want %d", tt.target, tt.remote, w.Code, tt.want)
		}
	}
}
