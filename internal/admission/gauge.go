package admission

import "sync"

// gauge counts live things per client key and in all, refusing one more
// over either cap. Zero disables a cap. It is safe for concurrent use.
type gauge struct {
	perKey, total int

	mu  sync.Mutex
	n   map[string]int
	all int
}

func newGauge(perKey, total int) *gauge {
	return &gauge{perKey: perKey, total: total, n: map[string]int{}}
}

// enter counts one more for key and returns its release (idempotent), or
// false when a cap is reached.
func (g *gauge) enter(key string) (release func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if (g.total > 0 && g.all >= g.total) || (g.perKey > 0 && g.n[key] >= g.perKey) {
		return nil, false
	}
	g.n[key]++
	g.all++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.all--
			if g.n[key]--; g.n[key] <= 0 {
				delete(g.n, key)
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
