package server

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ClientLimits bound what one client address may open. Zero disables a
// limit.
//
// Fair share: while fewer than FairFrom of the server's capacity C are
// held (sessions running or clients waiting in line, B in all), any
// address may open more. From then on an address holding h gets one more
// only while h < max(Floor, C / A), A being the addresses holding any
// (itself included): the address above its share is refused first, so no
// address can starve the others, while a lone classroom may still fill
// the server. docs/security.md works an example.
type ClientLimits struct {
	Sessions int     // concurrent sessions, a hard cap (a token's client_sessions)
	PerMin   int     // new sessions per minute, sustained
	Burst    int     // new sessions at once before PerMin applies (0: PerMin)
	Floor    int     // sessions any address may hold, however busy the server
	FairFrom float64 // the busy fraction of capacity from which shares apply (0: never)
}

// clients enforces ClientLimits per client key (an IPv4 address or an IPv6
// /64). It is safe for concurrent use.
type clients struct {
	trusted []netip.Prefix // proxies whose forwarding header is believed

	mu      sync.Mutex
	seen    map[string]*clientState
	held    int // sessions and places in line, all addresses
	holders int // addresses holding any
}

type clientState struct {
	active int       // sessions and places in line
	tokens float64   // new sessions it may open now (a token bucket)
	filled time.Time // when tokens was last brought up to date
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

// admit counts a new session of key against lim, on a server whose
// capacity is capacity sessions (0: unknown, no share applies). It returns
// a release func, or the seconds to wait before trying again.
func (c *clients) admit(key string, lim ClientLimits, capacity int, now time.Time) (release func(), retryAfter int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]*clientState{}
	}
	if len(c.seen) > maxClients {
		c.forgetLocked(now)
	}
	st := c.seen[key]
	burst := float64(lim.Burst)
	if lim.Burst <= 0 {
		burst = float64(lim.PerMin)
	}
	if st == nil {
		st = &clientState{tokens: burst, filled: now}
		c.seen[key] = st
	}
	if lim.PerMin > 0 {
		st.tokens = min(burst, st.tokens+now.Sub(st.filled).Minutes()*float64(lim.PerMin))
	}
	st.filled = now
	if lim.Sessions > 0 && st.active >= lim.Sessions {
		return nil, busyRetry, false
	}
	if !c.withinShareLocked(st, lim, capacity) {
		return nil, busyRetry, false
	}
	if lim.PerMin > 0 && st.tokens < 1 {
		wait := time.Duration((1 - st.tokens) / float64(lim.PerMin) * float64(time.Minute))
		return nil, max(int((wait+time.Second-1)/time.Second), 1), false
	}
	if lim.PerMin > 0 {
		st.tokens--
	}
	if st.active == 0 {
		c.holders++
	}
	st.active++
	c.held++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			st.active--
			c.held--
			if st.active == 0 {
				c.holders--
			}
		})
	}, 0, true
}

// withinShareLocked reports whether st may hold one more session under
// the fair share (see ClientLimits).
func (c *clients) withinShareLocked(st *clientState, lim ClientLimits, capacity int) bool {
	if capacity <= 0 || lim.FairFrom <= 0 || float64(c.held) < lim.FairFrom*float64(capacity) {
		return true
	}
	holders := c.holders
	if st.active == 0 {
		holders++
	}
	return st.active < max(lim.Floor, capacity/holders)
}

// maxClients is the table size past which idle clients are forgotten.
const maxClients = 4096

// busyRetry is the advice, in seconds, to a client at its concurrency limit.
const busyRetry = 10

// forgetLocked drops clients with nothing live whose rate bucket is full
// again, so the table does not grow with every address ever seen.
func (c *clients) forgetLocked(now time.Time) {
	for k, st := range c.seen {
		if st.active == 0 && now.Sub(st.filled) >= time.Minute {
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
