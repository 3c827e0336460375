package admission

import "sync"

// gauge counts live things per client key and in all, refusing one more
// over either cap. The per-key cap holds for an IPv6 key's wider prefixes
// too, scaled (see groupsOf). Zero disables a cap. It is safe for
// concurrent use.
type gauge struct {
	perKey, total int

	mu  sync.Mutex
	n   map[string]int // by key and by wider prefix
	all int
}

func newGauge(perKey, total int) *gauge {
	return &gauge{perKey: perKey, total: total, n: map[string]int{}}
}

// enter counts one more for key and returns its release (idempotent), or
// false when a cap is reached.
func (g *gauge) enter(key string) (release func(), ok bool) {
	return g.enterUnder(key, g.perKey)
}

// enterUnder is enter with perKey in place of the gauge's own per-key
// cap, for keys whose bound is theirs (a class's shown console).
func (g *gauge) enterUnder(key string, perKey int) (release func(), ok bool) {
	groups := groupsOf(key)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total > 0 && g.all >= g.total {
		return nil, false
	}
	if perKey > 0 {
		for _, gr := range groups {
			if g.n[gr.key] >= perKey*gr.scale {
				return nil, false
			}
		}
	}
	for _, gr := range groups {
		g.n[gr.key]++
	}
	g.all++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.all--
			for _, gr := range groups {
				if g.n[gr.key]--; g.n[gr.key] <= 0 {
					delete(g.n, gr.key)
				}
			}
		})
	}, true
}

// full reports whether the total cap is reached.
func (g *gauge) full() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total > 0 && g.all >= g.total
}
