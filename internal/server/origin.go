package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Origins is the set of browser origins allowed besides the server's own.
type Origins map[string]bool

// ParseOrigins parses a comma-separated list of scheme://host[:port] origins.
func ParseOrigins(list string) (Origins, error) {
	o := Origins{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("origin %q: want scheme://host[:port]", s)
		}
		o[normalOrigin(u.Scheme, u.Host)] = true
	}
	return o, nil
}

// allowed reports whether a WebSocket upgrade may proceed. A request without
// an Origin header does not come from a browser and is accepted; a browser's
// origin must be listed, or be the server's own: the scheme and Host the
// client addressed, and that Host one the server answers to (a rebound
// name sends an Origin equal to its Host too).
func (o Origins) allowed(r *http.Request, hosts Hosts) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	got := normalOrigin(u.Scheme, u.Host)
	if o[got] {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return got == normalOrigin(scheme, r.Host) && hosts.allowed(r.Host)
}

// normalOrigin lower-cases an origin and drops the scheme's default port.
func normalOrigin(scheme, host string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	}
	return scheme + "://" + host
}
