package pool

import (
	"errors"
	"slices"
	"time"

	"iexbox/internal/sandbox"
)

// Errors of Join.
var (
	// ErrQueueFull: the line holds as many clients as it may, in all or
	// from the client's address.
	ErrQueueFull = errors.New("too many clients are waiting for a sandbox")
	// ErrClosed: the pool has stopped.
	ErrClosed = errors.New("the pool has stopped")
)

// line is the Pool's queue of clients waiting for a sandbox: first come,
// first served within an address, round-robin across addresses, so one
// address's wave cannot hold another address back behind all of it. The
// Pool's mutex guards it.
type line struct {
	order  []*addrLine // service order of the addresses, starting at next
	next   int
	byAddr map[string]*addrLine
	n      int // places waiting, all addresses
}

// addrLine is one address's waiting places, oldest first.
type addrLine struct {
	addr   string
	places []*Place
}

// add puts pl at the end of its address's line. A new address joins the
// ring just before the cursor: it is served last in the current round.
func (l *line) add(pl *Place) {
	if l.byAddr == nil {
		l.byAddr = map[string]*addrLine{}
	}
	a := l.byAddr[pl.addr]
	if a == nil {
		a = &addrLine{addr: pl.addr}
		l.byAddr[pl.addr] = a
		l.order = slices.Insert(l.order, l.next, a)
		l.next = (l.next + 1) % len(l.order)
	}
	a.places = append(a.places, pl)
	l.n++
}

// pop takes the next place to serve, or nil.
func (l *line) pop() *Place {
	if l.n == 0 {
		return nil
	}
	a := l.order[l.next]
	pl := a.places[0]
	a.places = a.places[1:]
	l.n--
	if len(a.places) == 0 {
		l.drop(l.next)
	} else {
		l.next = (l.next + 1) % len(l.order)
	}
	return pl
}

// popSeat takes the next class learner's place to serve (JoinSeat), in
// ring order, or nil when none waits. A learner's places share a key of
// their own, so an address's line holds seats or strangers, never both.
func (l *line) popSeat() *Place {
	for r := range len(l.order) {
		i := (l.next + r) % len(l.order)
		a := l.order[i]
		if !a.places[0].seat {
			continue
		}
		pl := a.places[0]
		a.places = a.places[1:]
		l.n--
		if len(a.places) == 0 {
			l.drop(i)
		}
		return pl
	}
	return nil
}

// remove takes pl out of the line, reporting whether it was there.
func (l *line) remove(pl *Place) bool {
	a := l.byAddr[pl.addr]
	if a == nil {
		return false
	}
	i := slices.Index(a.places, pl)
	if i < 0 {
		return false
	}
	a.places = slices.Delete(a.places, i, i+1)
	l.n--
	if len(a.places) == 0 {
		l.drop(slices.Index(l.order, a))
	}
	return true
}

// drop removes the empty address at ring index i.
func (l *line) drop(i int) {
	delete(l.byAddr, l.order[i].addr)
	l.order = slices.Delete(l.order, i, i+1)
	if i < l.next {
		l.next--
	}
	if l.next >= len(l.order) {
		l.next = 0
	}
}

// reposition recomputes how many places are ahead of each one, in the
// order pop would serve them, and tells those whose position changed.
// A place k-th in its address's line is served in round k; in that round
// the addresses before its own in the ring go first.
func (l *line) reposition() {
	ring := len(l.order)
	for r := range ring {
		a := l.order[(l.next+r)%ring]
		for k, pl := range a.places {
			ahead := k
			for r2 := range ring {
				if r2 == r {
					continue
				}
				b := l.order[(l.next+r2)%ring]
				before := k
				if r2 < r {
					before++
				}
				ahead += min(len(b.places), before)
			}
			if ahead != pl.ahead {
				pl.ahead = ahead
				pl.notify()
			}
		}
	}
}

// Place is one client's place in the line for a sandbox, from Join until
// it is served (a sandbox is granted) or it leaves. Its methods are safe
// for concurrent use.
type Place struct {
	p      *Pool
	addr   string
	joined time.Time
	seat   bool // a class learner's (JoinSeat): may take a held seat

	changed chan struct{} // the position changed or a sandbox was granted

	// Guarded by the Pool's mutex.
	ahead   int
	granted *warmSandbox
	taken   bool // the granted sandbox was handed over
	left    bool
	queued  bool  // not granted at once: the client waited
	failed  error // the boot it waited for failed
}

func (pl *Place) notify() {
	select {
	case pl.changed <- struct{}{}:
	default:
	}
}

// Changed receives whenever the position changes or a sandbox is granted.
func (pl *Place) Changed() <-chan struct{} { return pl.changed }

// PlaceStatus is where a waiting client stands.
type PlaceStatus struct {
	Ahead   int           // clients served before this one
	ETA     time.Duration // an estimate of the wait; 0 when unknown
	Granted bool          // a sandbox waits for this client: Take it
	// Failed is why the boot meant for this client failed: it is out of
	// line and must be told the sandbox could not be started.
	Failed error
}

// Status tells where the place stands.
func (pl *Place) Status() PlaceStatus {
	p := pl.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl.granted != nil {
		return PlaceStatus{Granted: true}
	}
	if pl.failed != nil {
		return PlaceStatus{Failed: pl.failed}
	}
	st := PlaceStatus{Ahead: pl.ahead}
	// Boots run Parallel at a time and each takes about bootAvg; with none
	// under way the line waits for a free slot, which nobody can foresee.
	if p.bootAvg > 0 && p.starting > 0 {
		st.ETA = p.bootAvg * time.Duration(pl.ahead/p.cfg.Parallel+1)
	}
	return st
}

// Leave gives the place up: out of the line, or a granted sandbox not yet
// taken goes to the next in line or back to the pool. Idempotent.
func (pl *Place) Leave() {
	p := pl.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl.left || pl.taken {
		return
	}
	pl.left = true
	if w := pl.granted; w != nil {
		pl.granted = nil
		p.ready = append([]*warmSandbox{w}, p.ready...)
	} else if !p.line.remove(pl) {
		return
	}
	p.dispatchLocked()
	p.line.reposition()
}

// Take hands the granted sandbox over, its boot output still to be read,
// or returns nil when none is granted. The caller must Close it.
func (pl *Place) Take() sandbox.Sandbox {
	p := pl.p
	p.mu.Lock()
	w := pl.granted
	if w != nil {
		pl.granted, pl.taken = nil, true
	}
	p.mu.Unlock()
	if w == nil {
		return nil
	}
	w.stopWatch()
	w.release() // the session's own slot now covers it
	p.poke()
	return w.handOver()
}

// Queued reports whether the client had to wait: nothing was ready for
// it when it joined.
func (pl *Place) Queued() bool {
	pl.p.mu.Lock()
	defer pl.p.mu.Unlock()
	return pl.queued
}

// Joined is when the client joined the line.
func (pl *Place) Joined() time.Time { return pl.joined }
