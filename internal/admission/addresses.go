package admission

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// AddressLimits bound what one client address may hold at once, and how
// fast it may open sessions. Zero disables a bound.
//
// Fair share: while fewer than FairFrom of the server's capacity C are
// held (sessions running or clients waiting in line, B in all), any
// address may open more. From then on an address holding h gets one more
// only while h < max(Floor, C / A), A being the addresses holding any
// (itself included): the address above its share is refused first, so no
// address can starve the others, while a lone classroom may still fill
// the server. docs/security.md works an example.
type AddressLimits struct {
	// PreHello bounds the connections that have not said hello yet, per
	// address; PreHelloTotal those of all addresses.
	PreHello, PreHelloTotal int
	Sessions                int     // sessions and places in line, a hard cap (a token's client_sessions)
	PerMin                  int     // new sessions per minute, sustained
	Burst                   int     // new sessions at once before PerMin applies (0: PerMin)
	Floor                   int     // sessions any address may hold, however busy the server
	FairFrom                float64 // the busy fraction of capacity from which shares apply (0: never)
	Waiting                 int     // places in line
	// Viewers bounds the viewers of shared sessions one address holds;
	// ViewersTotal those of all addresses.
	Viewers, ViewersTotal int
	// RecordingsPerHour bounds the new recordings one address begins an
	// hour (0: no bound).
	RecordingsPerHour int
}

// Default bounds on connections before their hello: they cost a file
// descriptor and a goroutine each before any token check or per-address
// limit has seen them, bounded in time by the server and in number here
// (a wave of a hundred from one school fits twice).
const (
	DefaultPreHello      = 256
	DefaultPreHelloTotal = 4096
	DefaultViewers       = 100
)

// Override is what an access token may change of its address's limits;
// zero keeps the configured value.
type Override struct {
	Sessions, PerMin int
}

// ErrAddressBusy is returned when a client's address holds as much as it
// may: others are unaffected.
var ErrAddressBusy = errors.New("too many from your address")

// BusyRetry is the advice, in seconds, to a client whose address holds
// as many sessions or viewers as it may.
const BusyRetry = 10

// Addresses is the one answer to "what may this address do now": its
// connections before hello, sessions, places in line, viewers, its rate
// of new sessions and its fair share of the server. A client's address is
// its Key. It is safe for concurrent use.
type Addresses struct {
	lim      AddressLimits
	capacity int // the server's sessions, for fair share; 0: unknown
	preHello *gauge
	waiting  *gauge
	viewers  *gauge
	sessions sessionTable
	records  recordRate
}

// NewAddresses bounds addresses by lim on a server of capacity sessions.
func NewAddresses(lim AddressLimits, capacity int) *Addresses {
	return &Addresses{
		lim: lim, capacity: capacity,
		preHello: newGauge(lim.PreHello, lim.PreHelloTotal),
		waiting:  newGauge(lim.Waiting, 0),
		viewers:  newGauge(lim.Viewers, lim.ViewersTotal),
		records:  recordRate{perHour: lim.RecordingsPerHour},
	}
}

// Arrive counts a connection of key that has not said hello yet. The
// caller must release it once the hello is read (or the connection
// fails).
func (a *Addresses) Arrive(key string) (release func(), ok bool) { return a.preHello.enter(key) }

// Admit counts one more session (or place in line) of key, under the
// limits as o overrides them. It returns the release, or the seconds to
// wait before trying again.
func (a *Addresses) Admit(key string, o Override, now time.Time) (release func(), retryAfter int, ok bool) {
	lim := a.lim
	if o.Sessions > 0 {
		lim.Sessions = o.Sessions
	}
	if o.PerMin > 0 {
		lim.PerMin = o.PerMin
	}
	return a.sessions.admit(key, lim, a.capacity, now)
}

// Watch counts one more viewer of key. It returns ErrAddressBusy when the
// address holds as many as it may, or ErrCapacity at the server's bound.
func (a *Addresses) Watch(key string) (release func(), err error) {
	release, ok := a.viewers.enter(key)
	switch {
	case ok:
		return release, nil
	case a.viewers.full():
		return nil, ErrCapacity
	}
	return nil, ErrAddressBusy
}

// Record reports whether key may begin one more recording now, counting
// it when so.
func (a *Addresses) Record(key string, now time.Time) bool { return a.records.allow(key, now) }

// wait counts one more place in line of key.
func (a *Addresses) wait(key string) (release func(), ok bool) { return a.waiting.enter(key) }

// Key is an address's client key: an IPv4 address, or an IPv6 /64 (one
// household or host has a whole /64).
func Key(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// KeyOfText is the client key of an address written as text, or "" when
// it is not one.
func KeyOfText(s string) string {
	ip, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	return Key(ip)
}

// sessionTable enforces the session limits per key. It is safe for
// concurrent use.
type sessionTable struct {
	mu      sync.Mutex
	seen    map[string]*addressState
	held    int // sessions and places in line, all addresses
	holders int // addresses holding any
}

type addressState struct {
	active int       // sessions and places in line
	tokens float64   // new sessions it may open now (a token bucket)
	filled time.Time // when tokens was last brought up to date
}

// admit counts a new session of key against lim, on a server whose
// capacity is capacity sessions (0: unknown, no share applies). It returns
// a release func, or the seconds to wait before trying again.
func (c *sessionTable) admit(key string, lim AddressLimits, capacity int, now time.Time) (release func(), retryAfter int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]*addressState{}
	}
	if len(c.seen) > maxAddresses {
		c.forgetLocked(now)
	}
	st := c.seen[key]
	burst := float64(lim.Burst)
	if lim.Burst <= 0 {
		burst = float64(lim.PerMin)
	}
	if st == nil {
		st = &addressState{tokens: burst, filled: now}
		c.seen[key] = st
	}
	if lim.PerMin > 0 {
		st.tokens = min(burst, st.tokens+now.Sub(st.filled).Minutes()*float64(lim.PerMin))
	}
	st.filled = now
	if lim.Sessions > 0 && st.active >= lim.Sessions {
		return nil, BusyRetry, false
	}
	if !c.withinShareLocked(st, lim, capacity) {
		return nil, BusyRetry, false
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
// the fair share (see AddressLimits).
func (c *sessionTable) withinShareLocked(st *addressState, lim AddressLimits, capacity int) bool {
	if capacity <= 0 || lim.FairFrom <= 0 || float64(c.held) < lim.FairFrom*float64(capacity) {
		return true
	}
	holders := c.holders
	if st.active == 0 {
		holders++
	}
	return st.active < max(lim.Floor, capacity/holders)
}

// maxAddresses is the table size past which idle addresses are forgotten.
const maxAddresses = 4096

// forgetLocked drops addresses with nothing live whose rate bucket is full
// again, so the table does not grow with every address ever seen.
func (c *sessionTable) forgetLocked(now time.Time) {
	for k, st := range c.seen {
		if st.active == 0 && now.Sub(st.filled) >= time.Minute {
			delete(c.seen, k)
		}
	}
}
