package pool

import (
	"fmt"
	"time"
)

// AutoSize bounds a pool sized by demand (-pool auto).
type AutoSize struct {
	// Floor is the target before any demand is seen and the least it
	// shrinks to; Max the most it grows to.
	Floor, Max int
	// Bound says where Max comes from, for the operator.
	Bound string
}

// Demand-sized pool timing. A wave is the sessions asked for within
// waveWindow; the largest in waveMemory sets the target, plus a quarter
// for the next wave being larger. When demand falls the target gives back
// one sandbox per shrinkStep, so a class that pauses finds its pool again.
const (
	waveWindow  = 10 * time.Second
	waveMemory  = 10 * time.Minute
	shrinkStep  = 30 * time.Second
	maxArrivals = 10000 // arrivals remembered, at most
)

// unknownBound bounds a pool whose backend knows no memory figures (the
// process backend): a few, as a fixed pool would hold.
const unknownBound = 4

// AutoPoolBounds derives a demand-sized pool's bounds from memory: at most
// share of capacity (what all sandboxes together may use) divided by the
// footprint of one idle sandbox, and at most poolMax and maxSessions; the
// floor is half of that. Unknown figures (0) bound it at unknownBound.
func AutoBounds(capacity, footprint int64, share float64, poolMax, maxSessions int) AutoSize {
	bound := poolMax
	why := fmt.Sprintf("-pool-max %d", poolMax)
	if capacity > 0 && footprint > 0 {
		mem := int(float64(capacity) * share / float64(footprint))
		if poolMax <= 0 || mem < bound {
			bound = mem
			why = fmt.Sprintf("%.0f%% of %d MiB for all sandboxes / %d MiB per idle sandbox",
				share*100, capacity>>20, footprint>>20)
		}
	} else if bound <= 0 || bound > unknownBound {
		bound, why = unknownBound, "memory unknown"
	}
	if maxSessions > 0 && maxSessions < bound {
		bound, why = maxSessions, fmt.Sprintf("-max-sessions %d", maxSessions)
	}
	bound = max(bound, 0)
	return AutoSize{Floor: (bound + 1) / 2, Max: bound, Bound: why}
}

// sizing is the pool's target and why. The Pool's mutex guards it.
type sizing struct {
	auto     *AutoSize
	target   int
	max      int
	reason   string
	arrivals []time.Time // sessions asked for within waveMemory, oldest first
	shrunk   time.Time   // when the target last fell
}

func newSizing(cfg Config) sizing {
	if cfg.Auto == nil {
		s := sizing{target: max(cfg.Size, 0), max: max(cfg.Size, 0)}
		s.reason = fmt.Sprintf("pinned: -pool %d", s.target)
		if s.target == 0 {
			s.reason = "disabled: -pool 0, sandboxes boot on demand"
		}
		return s
	}
	a := *cfg.Auto
	s := sizing{auto: &a, max: a.Max, target: min(a.Floor, a.Max)}
	s.reason = fmt.Sprintf("floor: half of the bound (%s)", a.Bound)
	return s
}

// arrived records a session asked for.
func (s *sizing) arrived(now time.Time) {
	if s.auto == nil {
		return
	}
	if len(s.arrivals) >= maxArrivals {
		s.arrivals = s.arrivals[1:]
	}
	s.arrivals = append(s.arrivals, now)
	s.update(now)
}

// wave is the most arrivals within any waveWindow still remembered.
func (s *sizing) wave(now time.Time) int {
	cut := 0
	for cut < len(s.arrivals) && now.Sub(s.arrivals[cut]) > waveMemory {
		cut++
	}
	s.arrivals = s.arrivals[cut:]
	most, lo := 0, 0
	for hi, t := range s.arrivals {
		for t.Sub(s.arrivals[lo]) > waveWindow {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

// update moves the target: up to what the largest recent wave asks for at
// once, down by one a shrinkStep.
func (s *sizing) update(now time.Time) {
	if s.auto == nil {
		return
	}
	a := s.auto
	wave := s.wave(now)
	want, reason := a.Floor, fmt.Sprintf("floor: half of the bound (%s)", a.Bound)
	if w := wave + (wave+3)/4; w > want {
		want, reason = w, fmt.Sprintf("wave: %d sessions within %s in the last %s, plus a quarter", wave, waveWindow, waveMemory)
	}
	if want > a.Max {
		want, reason = a.Max, fmt.Sprintf("max: %s", a.Bound)
	}
	switch {
	case want > s.target:
		s.target, s.reason, s.shrunk = want, reason, now
	case want < s.target && now.Sub(s.shrunk) >= shrinkStep:
		s.target--
		s.shrunk = now
		s.reason = "shrinking: demand fell; " + reason
		if s.target == want {
			s.reason = reason
		}
	}
}
