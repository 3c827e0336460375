package server

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"iexbox/internal/admission"
)

// proxies are the reverse proxies whose X-Forwarded-For is believed.
type proxies []netip.Prefix

// clientKey is the request's client key (see admission.Key), taken from
// X-Forwarded-For only when the connection comes from a trusted proxy
// (anyone can write that header).
func (p proxies) clientKey(r *http.Request) string {
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip := addr.Addr().Unmap()
	if p.trusted(ip) {
		// The last address not one of our proxies is the client.
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			ip = hop.Unmap()
			if !p.trusted(ip) {
				break
			}
		}
	}
	return admission.Key(ip)
}

// forwarded reports whether a proxy says it passed the request on: it
// names a client in X-Forwarded-For or Forwarded (RFC 7239).
func forwarded(r *http.Request) bool {
	_, xff := r.Header["X-Forwarded-For"]
	_, fwd := r.Header["Forwarded"]
	return xff || fwd
}

// viaProxy reports whether the request's peer is a trusted proxy.
func (p proxies) viaProxy(r *http.Request) bool {
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && p.trusted(addr.Addr().Unmap())
}

func (p proxies) trusted(ip netip.Addr) bool {
	for _, pre := range p {
		if pre.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies parses comma-separated addresses or CIDR prefixes.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
