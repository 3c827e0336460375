package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"iexbox/internal/admission"
	"iexbox/internal/classroom"
	"iexbox/internal/metrics"
	"iexbox/internal/pool"
	"iexbox/internal/recording"
	"iexbox/internal/sandbox"
	"iexbox/internal/store"
	"iexbox/internal/toolchain"
)

// StackConfig is a whole server's configuration over one backend: each
// part's own config, as its package defines it.
type StackConfig struct {
	Server    Config
	Admission admission.Config
	Pool      pool.Config
	// PoolAuto, when set, sizes the pool by demand within these bounds
	// (-pool auto); Pool.Size is then ignored.
	PoolAuto *PoolAuto
	// Store keeps what outlives the process (recordings); nil keeps
	// nothing, and then nothing is recorded. The caller opens and closes
	// it.
	Store     *store.Store
	Recording recording.Config
	// Classes are kept in Store; none without it.
	Classes ClassConfig
}

// ClassConfig is the classes' settings (see classroom.Config).
type ClassConfig struct {
	MaxPerOwner, LearnerSessions int
	// Memory is the share of the sandboxes' memory all open classes'
	// seats may hold warm.
	Memory             float64
	WarmFor, Retention time.Duration
}

// PoolAuto bounds a demand-sized pool: at most Memory (a fraction) of
// what all sandboxes may use, and at most Max sandboxes.
type PoolAuto struct {
	Memory float64
	Max    int
}

// Stack is one server, wired in the one place that wires it: the backend
// starts sandboxes (watched for failing starts), the pool keeps some
// warm, admission hands them to sessions under its caps, and the Server
// speaks HTTP and WebSocket over admission.
type Stack struct {
	Server    *Server
	Admission *admission.Service
	Pools     *pool.Pools        // one per toolchain
	Classes   *classroom.Service // nil without a store
	starts    *pool.StartWatch
	log       *slog.Logger

	stopPool context.CancelFunc
	poolDone chan struct{}
	once     sync.Once
}

// NewStack builds a server over b and starts filling its pool; Shutdown
// ends the sessions and empties the pool. The caller still owns b and
// closes it after Shutdown.
func NewStack(b sandbox.Backend, cfg StackConfig, log *slog.Logger) *Stack {
	if cfg.Admission.MaxSessions <= 0 {
		cfg.Admission.MaxSessions = admission.DefaultMaxSessions(b.Footprint())
	}
	mgr := admission.NewManager(cfg.Admission.MaxSessions)
	starts := pool.WatchStarts(b)
	cfg.Pool.Prompt = b.Prompt()
	if cfg.PoolAuto != nil {
		auto := pool.AutoBounds(b.Capacity(), b.Footprint(), cfg.PoolAuto.Memory, cfg.PoolAuto.Max, mgr.Max())
		cfg.Pool.Auto = &auto
	}
	p := pool.NewPools(starts, poolToolchains(cfg.Admission.Toolchains), cfg.Pool, mgr, log)
	var recs *recording.Service
	if cfg.Store != nil && !cfg.Recording.Off {
		obs, _ := cfg.Server.Observer.(recording.Observer)
		recs = recording.New(cfg.Recording, cfg.Store, obs, log)
		cfg.Admission.Recorders = recorders{recs}
		cfg.Admission.Addresses.RecordingsPerHour = cfg.Recording.PerHour
		cfg.Server.Recordings = recorders{recs}
	}
	adm := admission.New(cfg.Admission, mgr, p, log)
	var classes *classroom.Service
	if cfg.Store != nil {
		defaultPool, _ := p.Get(toolchain.Default)
		obs, _ := cfg.Server.Observer.(classroom.Observer)
		classes = classroom.New(classroom.Config{
			Observer:        obs,
			Store:           cfg.Store,
			Exercise:        func(name string) bool { return adm.Exercises() != nil && adm.Exercises().Has(name) },
			MaxPerOwner:     cfg.Classes.MaxPerOwner,
			LearnerSessions: cfg.Classes.LearnerSessions,
			SeatRoom:        seatRoom(b, cfg.Classes.Memory, mgr.Max()),
			WarmFor:         cfg.Classes.WarmFor,
			Retention:       cfg.Classes.Retention,
			Seats:           defaultPool,
			Shared: func(watch string) bool {
				_, ok := adm.Watched(watch)
				return ok
			},
			Log: log.With("component", "classes"),
		})
		cfg.Server.Classes = classes
	}
	cfg.Server.Runtime = b.Name()
	if cfg.Server.Ready == nil {
		cfg.Server.Ready = starts.Ready
	}
	cfg.Server.Warnings = append(cfg.Server.Warnings, b.Warnings()...)
	if cfg.Server.Log == nil {
		cfg.Server.Log = log
	}
	s := &Stack{Server: New(cfg.Server, adm), Admission: adm, Pools: p, Classes: classes, starts: starts, log: log, poolDone: make(chan struct{})}
	var poolCtx context.Context
	poolCtx, s.stopPool = context.WithCancel(context.Background())
	go func() {
		defer close(s.poolDone)
		var wg sync.WaitGroup
		if recs != nil { // the retention sweep lives as long as the pool
			wg.Go(func() { recs.Run(poolCtx) })
		}
		if classes != nil { // seats and retention too
			wg.Go(func() { classes.Run(poolCtx) })
		}
		p.Run(poolCtx)
		wg.Wait()
	}()
	return s
}

// Shutdown refuses new sessions, ends every live one and destroys the
// pool's members, beside each other, until all are gone or ctx ends;
// it returns the sessions' error (ctx's, when some outlived it).
// Idempotent.
func (s *Stack) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		var wg sync.WaitGroup
		wg.Go(func() { err = s.Admission.Manager().Shutdown(ctx) })
		wg.Go(func() { // the pool shrinks to zero beside the sessions
			s.stopPool()
			select {
			case <-s.poolDone:
			case <-ctx.Done():
			}
		})
		wg.Wait()
	})
	return err
}

// Gauges are the metrics read from admission when scraped.
func (s *Stack) Gauges() metrics.Gauges {
	adm := s.Admission
	g := metrics.Gauges{
		SessionsActive: func() int { return adm.Status().Active },
		SessionsMax:    func() int { return adm.Status().Max },
		PoolSize:       func() int { return adm.Status().Pool.Size },
		PoolReady:      func() int { return adm.Status().Pool.Ready },
		PoolStarting:   func() int { return adm.Status().Pool.Starting },
		PoolMax:        func() int { return adm.Status().Pool.Max },
		PoolReason:     func() string { return adm.Status().Pool.Reason },
		Queued:         func() int { return adm.Status().Pool.Queued },
		Toolchains: func() map[string][4]int {
			m := map[string][4]int{}
			for n, st := range adm.Status().Toolchains {
				m[n] = [4]int{st.Target, st.Ready, st.Starting, st.Queued}
			}
			return m
		},
	}
	if c := s.Classes; c != nil {
		g.ClassesOpen, g.SeatsHeld, g.LearnersConnected = c.OpenCount, c.Held, c.Connected
		g.SeatsWarm = func() int {
			st := adm.Status().Toolchains[toolchain.Default]
			return min(c.Held(), st.Ready)
		}
	}
	return g
}

// seatRoom is how many seats all open classes may hold warm: share of
// the sandboxes' memory over one idle sandbox's, within the session cap.
func seatRoom(b sandbox.Backend, share float64, maxSessions int) int {
	if b.Footprint() <= 0 || b.Capacity() <= 0 {
		return maxSessions
	}
	return min(int(share*float64(b.Capacity())/float64(b.Footprint())), maxSessions)
}

// poolToolchains lists what the pools need of each toolchain, the default
// one first (its image is the backend's own).
func poolToolchains(set *toolchain.Set) []pool.Toolchain {
	list := []pool.Toolchain{{Name: toolchain.Default}}
	if set == nil {
		return list
	}
	for _, tc := range set.Built() {
		list = append(list, pool.Toolchain{Name: tc.Name, Image: tc.Image})
	}
	return list
}
