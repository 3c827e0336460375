package pool

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"iexbox/internal/sandbox"
)

// Pools keeps one Pool per toolchain, all starting sandboxes on one
// runtime and all counting against one Slots. With more than one
// toolchain, the warm sandboxes of all of them together stay within the
// one bound the configuration gives (-pool N, or -pool auto's memory
// bound): each toolchain's pool is sized by its own demand, and one
// nobody asked for lately keeps at most one warm. It is safe for
// concurrent use.
type Pools struct {
	byName map[string]*Pool
	names  []string // sorted
	bound  int      // warm sandboxes of all pools together, at most
}

// Toolchain is what the pools need of a toolchain: its name and its
// image ("" for the backend's own).
type Toolchain struct {
	Name  string
	Image string
}

// NewPools returns one Pool per toolchain over rt, configured from cfg.
// A single toolchain gets cfg as it is; several share its bound (see
// Pools). Run must be called to fill them.
func NewPools(rt sandbox.Runtime, toolchains []Toolchain, cfg Config, slots Slots, log *slog.Logger) *Pools {
	ps := &Pools{byName: map[string]*Pool{}}
	if slots == nil {
		slots = unbounded{}
	}
	if len(toolchains) == 1 {
		tc := toolchains[0]
		ps.byName[tc.Name] = New(imageRuntime{rt, tc.Image}, cfg, slots, log.With("toolchain", tc.Name))
		ps.names = []string{tc.Name}
		ps.bound = newSizing(cfg).max
		return ps
	}
	shared := &budget{slots: slots}
	if cfg.Auto != nil {
		shared.max = cfg.Auto.Max
	} else {
		shared.max = max(cfg.Size, 0)
	}
	ps.bound = shared.max
	for i, tc := range toolchains {
		c := cfg
		if cfg.Auto != nil {
			a := *cfg.Auto
			a.Floor = min(1, a.Max)
			c.Auto = &a
		} else {
			// A pinned total: one warm for each toolchain while it lasts,
			// the rest for the first (the default).
			rest := shared.max - (len(toolchains) - 1)
			c.Size = min(1, max(shared.max-i, 0))
			if i == 0 {
				c.Size = max(rest, min(1, shared.max))
			}
		}
		bs := &budgetSlots{budget: shared}
		p := New(imageRuntime{rt, tc.Image}, c, bs, log.With("toolchain", tc.Name))
		bs.pool = p
		ps.byName[tc.Name] = p
		ps.names = append(ps.names, tc.Name)
	}
	shared.poke = ps.Poke
	slices.Sort(ps.names)
	return ps
}

// Get returns the pool of the toolchain called name.
func (ps *Pools) Get(name string) (*Pool, bool) {
	p, ok := ps.byName[name]
	return p, ok
}

// Names lists the toolchains, sorted.
func (ps *Pools) Names() []string { return ps.names }

// Poke tells every pool that capacity came free.
func (ps *Pools) Poke() {
	for _, p := range ps.byName {
		p.Poke()
	}
}

// Run fills every pool until ctx ends, then empties them all, and
// returns once each has.
func (ps *Pools) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range ps.byName {
		wg.Go(func() { p.Run(ctx) })
	}
	wg.Wait()
}

// Status sums the pools' status: the warm sandboxes of every toolchain
// together, and the one bound they share.
func (ps *Pools) Status() Status {
	var st Status
	for _, n := range ps.names {
		s := ps.byName[n].Status()
		st.Size += s.Size
		st.Ready += s.Ready
		st.Starting += s.Starting
		st.Target += s.Target
		st.Queued += s.Queued
		st.Held += s.Held
		st.Reason = s.Reason
	}
	st.Max = ps.bound
	if len(ps.names) > 1 {
		st.Reason = fmt.Sprintf("the sum of %d toolchains' pools, each sized by its own demand", len(ps.names))
	}
	return st
}

// ByToolchain is each toolchain's pool status.
func (ps *Pools) ByToolchain() map[string]Status {
	m := make(map[string]Status, len(ps.names))
	for n, p := range ps.byName {
		m[n] = p.Status()
	}
	return m
}

// imageRuntime starts every sandbox of one toolchain's image.
type imageRuntime struct {
	sandbox.Runtime
	image string
}

func (r imageRuntime) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	if spec.Image == "" {
		spec.Image = r.image
	}
	return r.Runtime.Start(ctx, spec)
}

// budget bounds the warm sandboxes of several pools together, within
// slots: a slot given back wakes every pool, as any may be short.
type budget struct {
	slots Slots
	max   int
	poke  func()

	mu   sync.Mutex
	warm int
}

// budgetSlots is one pool's view of the budget: a pool with clients
// waiting in line may boot for them beyond the bound (the session cap in
// slots still holds), as a single pool may.
type budgetSlots struct {
	*budget
	pool *Pool
}

func (b *budgetSlots) Reserve() (func(), bool) {
	st := b.pool.Status()
	return b.budget.reserve(st.Queued > 0 || st.Held > 0)
}

func (b *budget) reserve(waiting bool) (func(), bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.warm >= b.max && !waiting {
		return nil, false
	}
	release, ok := b.slots.Reserve()
	if !ok {
		return nil, false
	}
	b.warm++
	var once sync.Once
	return func() {
		once.Do(func() {
			release()
			b.mu.Lock()
			b.warm--
			b.mu.Unlock()
			if b.poke != nil {
				b.poke()
			}
		})
	}, true
}
