package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Hosts is the set of host names (lower case, no port) the server answers
// to. A page on any domain can rebind its DNS name to the server's address
// and so reach it from a visitor's browser with its own name in Host (and
// in Origin): checking Host stops that. IP literals and loopback names are
// always answered: a rebinding needs a name of the attacker's, and an IP
// literal in Host is the server's own address as the client dialled it.
type Hosts map[string]bool

// loopbackNames are always answered.
var loopbackNames = []string{"localhost", "localhost.localdomain", "ip6-localhost"}

// ParseHosts turns -hosts (comma-separated host names, without ports) into
// Hosts. An empty list means the listen address's host name and the hosts
// of origins; loopback names and IP literals are always in.
func ParseHosts(list, listenAddr string, origins Origins) (Hosts, error) {
	h := Hosts{}
	for _, n := range loopbackNames {
		h[n] = true
	}
	if strings.TrimSpace(list) == "" {
		if host, _, err := net.SplitHostPort(listenAddr); err == nil && host != "" {
			h[strings.ToLower(host)] = true
		}
		for o := range origins {
			if u, err := url.Parse(o); err == nil {
				h[strings.ToLower(u.Hostname())] = true
			}
		}
		return h, nil
	}
	for _, s := range strings.Split(list, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		if strings.ContainsAny(s, ":/ ") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
			return nil, fmt.Errorf("host %q: want a bare host name such as learn.example.org, without scheme or port", s)
		}
		h[s] = true
	}
	return h, nil
}

// allowed reports whether a request's Host names this server.
func (h Hosts) allowed(hostport string) bool {
	host := strings.ToLower(hostport)
	if hn, _, err := net.SplitHostPort(host); err == nil {
		host = hn
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if h == nil {
		return false
	}
	return h[host] || h[strings.TrimSuffix(host, ".")]
}

// healthPaths answer whatever the Host: load balancers and container
// health checks send bare or internal names.
var healthPaths = map[string]bool{"/healthz": true, "/readyz": true}

// checkHost refuses, with 403, a request whose Host the server does not
// answer to, before anything else looks at it.
func (s *Server) checkHost(w http.ResponseWriter, r *http.Request) bool {
	if healthPaths[r.URL.Path] || s.cfg.Hosts.allowed(r.Host) {
		return true
	}
	s.cfg.Observer.Refused("host")
	s.cfg.Log.Debug("host refused", "host", r.Host, "remote", r.RemoteAddr)
	http.Error(w, "iexbox: this server does not answer to the host name "+r.Host+" (see -hosts)", http.StatusForbidden)
	return false
}
