package admission

import (
	"errors"
	"net/netip"
	"strings"
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
//
// Every per-address bound (pre-hello connections, sessions and the fair
// share, places in line, viewers, the token bucket) also holds for the
// /56 and the /48 an IPv6 key belongs to, at 4 and 16 times the /64's
// (see groupsOf); the totals are not scaled.
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

// ErrClassViewers is returned by WatchClass when the class's shown console
// has as many viewers as the class may hold.
var ErrClassViewers = errors.New("the class's shown console has as many viewers as the class may hold")

// WatchClass counts one more viewer of the console class shows its
// learners: against the class, at most bound at once, instead of against
// the viewer's address (a class's learners usually share one school
// address), and against the server's total as every viewer. It returns
// ErrClassViewers at bound, or ErrCapacity at the server's bound.
func (a *Addresses) WatchClass(class string, bound int) (release func(), err error) {
	// The key is no address: groupsOf makes it a group of its own.
	release, ok := a.viewers.enterUnder("class "+class, max(bound, 1))
	switch {
	case ok:
		return release, nil
	case a.viewers.full():
		return nil, ErrCapacity
	}
	return nil, ErrClassViewers
}

// Record reports whether key may begin one more recording now, counting
// it when so.
func (a *Addresses) Record(key string, now time.Time) bool { return a.records.allow(key, now) }

// wait counts one more place in line of key.
func (a *Addresses) wait(key string) (release func(), ok bool) { return a.waiting.enter(key) }

// Key is an address's client key: an IPv4 address, or an IPv6 /64 (one
// household or host has a whole /64). An IPv6 key also counts toward its
// /56 and /48, whose bounds are wider (see AddressLimits).
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
