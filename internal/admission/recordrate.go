package admission

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// recordRate bounds the new recordings of each address: perHour an hour,
// all of them at once at most. Addresses idle for an hour are forgotten.
// It is safe for concurrent use.
type recordRate struct {
	perHour int
	mu      sync.Mutex
	seen    map[string]*rateState
	swept   time.Time
}

type rateState struct {
	lim  *rate.Limiter
	used time.Time
}

// allow reports whether key may begin one more recording now.
func (r *recordRate) allow(key string, now time.Time) bool {
	if r.perHour <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]*rateState{}
	}
	if now.Sub(r.swept) > time.Hour {
		for k, st := range r.seen {
			if now.Sub(st.used) > time.Hour { // its bucket is full again
				delete(r.seen, k)
			}
		}
		r.swept = now
	}
	st := r.seen[key]
	if st == nil {
		st = &rateState{lim: rate.NewLimiter(rate.Every(time.Hour/time.Duration(r.perHour)), r.perHour)}
		r.seen[key] = st
	}
	st.used = now
	return st.lim.AllowN(now, 1)
}
