package server

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ClientLimits bound what one client address may open. Zero disables a limit.
type ClientLimits struct {
	Sessions int // concurrent sessions
	PerMin   int // new sessions per minute
}

// clients enforces ClientLimits per client key (an IPv4 address or an IPv6
// /64). It is safe for concurrent use.
type clients struct {
	trusted []netip.Prefix // proxies whose forwarding header is believed

	mu   sync.Mutex
	seen map[string]*clientState
}

type clientState struct {
	active int
	starts []time.Time // within the last minute
}

// key is the client's address, taken from X-Forwarded-For only when the
// connection comes from a trusted proxy (anyone can write that header).
func (c *clients) key(r *http.Request) string {
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip := addr.Addr().Unmap()
	if c.isTrusted(ip) {
		// The last address not one of our proxies is the client.
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			ip = hop.Unmap()
			if !c.isTrusted(ip) {
				break
			}
		}
	}
	return keyOf(ip)
}

// keyOf is an address's client key: an IPv4 address, or an IPv6 /64 (one
// household or host has a whole /64).
func keyOf(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// clientKeyOf is the client key of an address written as text, or "" when
// it is not one.
func clientKeyOf(s string) string {
	ip, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	return keyOf(ip)
}

// viaProxy reports whether the request's peer is a trusted proxy.
func (c *clients) viaProxy(r *http.Request) bool {
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && c.isTrusted(addr.Addr().Unmap())
}

func (c *clients) isTrusted(ip netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// admit counts a new session of key against lim. It returns a release
// func, or the seconds to wait before trying again.
func (c *clients) admit(key string, lim ClientLimits, now time.Time) (release func(), retryAfter int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]*clientState{}
	}
	if len(c.seen) > maxClients {
		c.forgetLocked(now)
	}
	st := c.seen[key]
	if st == nil {
		st = &clientState{}
		c.seen[key] = st
	}
	cut := 0
	for cut < len(st.starts) && now.Sub(st.starts[cut]) >= time.Minute {
		cut++
	}
	st.starts = st.starts[cut:]
	if lim.Sessions > 0 && st.active >= lim.Sessions {
		return nil, busyRetry, false
	}
	if lim.PerMin > 0 && len(st.starts) >= lim.PerMin {
		wait := time.Minute - now.Sub(st.starts[0])
		return nil, max(int((wait+time.Second-1)/time.Second), 1), false
	}
	st.active++
	st.starts = append(st.starts, now)
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			st.active--
			if st.active == 0 && len(st.starts) == 0 {
				delete(c.seen, key)
			}
		})
	}, 0, true
}

// maxClients is the table size past which idle clients are forgotten.
const maxClients = 4096

// busyRetry is the advice, in seconds, to a client at its concurrency limit.
const busyRetry = 10

// forgetLocked drops clients with nothing live and no start within a
// minute, so the table does not grow with every address ever seen.
func (c *clients) forgetLocked(now time.Time) {
	for k, st := range c.seen {
		if st.active == 0 && (len(st.starts) == 0 || now.Sub(st.starts[len(st.starts)-1]) >= time.Minute) {
			delete(c.seen, k)
		}
	}
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
