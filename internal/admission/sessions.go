package admission

import (
	"sync"
	"time"
)

// sessionTable enforces the session limits per key and, scaled, per wider
// prefix of the key (see groupsOf). It is safe for concurrent use.
type sessionTable struct {
	mu      sync.Mutex
	seen    map[string]*addressState // by key and by wider prefix
	held    int                      // sessions and places in line, all addresses
	holders int                      // keys holding any (prefixes are not counted)
}

type addressState struct {
	active int       // sessions and places in line
	tokens float64   // new sessions it may open now (a token bucket)
	filled time.Time // when tokens was last brought up to date
	full   time.Time // when the bucket is full again at the rate last applied
}

// admit counts a new session of key against lim, on a server whose
// capacity is capacity sessions (0: unknown, no share applies). Each bound
// holds for the key and, scaled, for its wider prefixes; a refusal by any
// of them is the same refusal. It returns a release func, or the seconds
// to wait before trying again.
func (c *sessionTable) admit(key string, lim AddressLimits, capacity int, now time.Time) (release func(), retryAfter int, ok bool) {
	groups := groupsOf(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]*addressState{}
	}
	if len(c.seen) > maxAddresses {
		c.forgetLocked(now)
	}
	// A key or prefix seen for the first time is stored only once
	// admitted: refusals do not grow the table.
	states := make([]*addressState, len(groups))
	for i, g := range groups {
		st := c.seen[g.key]
		if st == nil {
			st = &addressState{tokens: lim.burst() * float64(g.scale), filled: now}
		}
		st.refill(lim, g.scale, now)
		states[i] = st
	}
	share, shared := c.shareLocked(states[0], lim, capacity)
	for i, g := range groups {
		if lim.Sessions > 0 && states[i].active >= lim.Sessions*g.scale {
			return nil, BusyRetry, false
		}
		if shared && states[i].active >= share*g.scale {
			return nil, BusyRetry, false
		}
	}
	if lim.PerMin > 0 {
		var wait time.Duration
		for i, g := range groups {
			if st := states[i]; st.tokens < 1 {
				wait = max(wait, time.Duration((1-st.tokens)/float64(lim.PerMin*g.scale)*float64(time.Minute)))
			}
		}
		if wait > 0 {
			return nil, max(int((wait+time.Second-1)/time.Second), 1), false
		}
	}
	for i, g := range groups {
		st := states[i]
		if lim.PerMin > 0 {
			st.tokens--
			st.refill(lim, g.scale, now) // brings full up to date
		}
		st.active++
		c.seen[g.key] = st
	}
	if states[0].active == 1 {
		c.holders++
	}
	c.held++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, st := range states {
				st.active--
			}
			c.held--
			if states[0].active == 0 {
				c.holders--
			}
		})
	}, 0, true
}

// burst is the bucket of one address: Burst, or PerMin when Burst is 0.
func (lim AddressLimits) burst() float64 {
	if lim.Burst <= 0 {
		return float64(lim.PerMin)
	}
	return float64(lim.Burst)
}

// refill brings st's bucket up to now at scale times lim's rate.
func (st *addressState) refill(lim AddressLimits, scale int, now time.Time) {
	st.full = now
	if lim.PerMin <= 0 {
		st.filled = now
		return
	}
	burst, perMin := lim.burst()*float64(scale), float64(lim.PerMin*scale)
	st.tokens = min(burst, st.tokens+now.Sub(st.filled).Minutes()*perMin)
	st.filled = now
	st.full = now.Add(time.Duration((burst - st.tokens) / perMin * float64(time.Minute)))
}

// shareLocked is the fair share of one key, in sessions, for a key whose
// state is st (see AddressLimits), and whether shares apply now. A wider
// prefix's share is its scale times the key's.
func (c *sessionTable) shareLocked(st *addressState, lim AddressLimits, capacity int) (share int, applies bool) {
	if capacity <= 0 || lim.FairFrom <= 0 || float64(c.held) < lim.FairFrom*float64(capacity) {
		return 0, false
	}
	holders := c.holders
	if st.active == 0 {
		holders++
	}
	return max(lim.Floor, capacity/holders), true
}

// maxAddresses is the table size past which idle addresses are forgotten.
const maxAddresses = 4096

// forgetLocked drops keys and prefixes with nothing live whose rate
// bucket is full again, so the table does not grow with every address ever
// seen, and forgetting one gives it nothing it would not have had.
func (c *sessionTable) forgetLocked(now time.Time) {
	for k, st := range c.seen {
		if st.active == 0 && !now.Before(st.full) {
			delete(c.seen, k)
		}
	}
}
