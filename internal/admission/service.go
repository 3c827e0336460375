// Package admission decides who gets a session, and when: the Manager
// caps sessions and ends them on shutdown, Addresses bounds what one
// client address may hold, and the Service puts clients in the pool's
// line, takes the sandbox granted to each and builds its session. The
// transport asks the Service; it keeps no tables of its own.
package admission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"iexbox/internal/pool"
	"iexbox/internal/sandbox"
	"iexbox/internal/session"
	"iexbox/internal/toolchain"
)

// startTimeout bounds taking or booting one sandbox for a session.
const startTimeout = 60 * time.Second

// Config is what admission needs: the caps, what one address may hold,
// and what every session gets.
type Config struct {
	// MaxSessions caps concurrent sessions.
	MaxSessions int
	Addresses   AddressLimits
	// Limits are every session's; the Service sets their Drain.
	Limits session.Limits
	// Grace is how long a resumable session waits for its client after
	// the connection drops; 0 makes no session resumable.
	Grace      time.Duration
	MaxViewers int
	// CheckTimeout bounds one check of an exercise.
	CheckTimeout time.Duration
	// Exercises are those a request may name; nil offers none.
	Exercises Exercises
	// Toolchains are those a request may name; nil offers only the
	// default one.
	Toolchains *toolchain.Set
	// Recorders record the sessions that ask; nil when recording is off.
	Recorders Recorders
}

// Recorders begin sessions' recordings.
type Recorders interface {
	// Begin begins a recording of a cols×rows session for the client
	// address addr, or says why not ("storage", "error").
	Begin(ctx context.Context, addr string, cols, rows int) (rec session.Recorder, refused string)
	// Refused counts a recording refused before Begin (reason "rate").
	Refused(reason string)
}

// Exercises are the exercises sessions may be opened with.
type Exercises interface {
	// Has reports whether name is an exercise.
	Has(name string) bool
	// Starter is the exercise's starter code.
	Starter(name string) (starter string, ok bool)
	// Prepare readies a fresh sandbox, at its first prompt, for the
	// exercise name: its setup is evaluated in the terminal program with
	// the output hidden. It returns the sandbox the session reads (whose
	// pending output ends with a prompt) and the session's Checker, which
	// the caller must Close. On error the caller still owns sb.
	Prepare(ctx context.Context, name string, sb sandbox.Sandbox) (sandbox.Sandbox, sandbox.Checker, error)
	// Toolchain is the toolchain the exercise is bound to, "" for any.
	Toolchain(name string) string
}

// Service is the use case "open a session": a place in line, a sandbox
// taken from the pool, a session built around it, all under the caps. It
// is safe for concurrent use.
type Service struct {
	cfg   Config
	mgr   *Manager
	pool  *pool.Pools
	addrs *Addresses
	log   *slog.Logger
}

// New returns a Service over mgr, whose sessions take their sandboxes
// from the pool of their toolchain in p (which counts its members against
// mgr).
func New(cfg Config, mgr *Manager, p *pool.Pools, log *slog.Logger) *Service {
	cfg.Limits.Drain = mgr.Drain()
	if cfg.Toolchains == nil {
		cfg.Toolchains = toolchain.Builtin("")
	}
	return &Service{cfg: cfg, mgr: mgr, pool: p, addrs: NewAddresses(cfg.Addresses, mgr.Max()), log: log}
}

// Manager is the Service's session cap.
func (s *Service) Manager() *Manager { return s.mgr }

// Addresses bounds what each client address may hold.
func (s *Service) Addresses() *Addresses { return s.addrs }

// Limits are every session's limits.
func (s *Service) Limits() session.Limits { return s.cfg.Limits }

// Exercises are those sessions may be opened with, nil for none.
func (s *Service) Exercises() Exercises { return s.cfg.Exercises }

// Toolchains are those sessions may run, the default one included.
func (s *Service) Toolchains() *toolchain.Set { return s.cfg.Toolchains }

// Status is a snapshot of the sessions and the pool.
type Status struct {
	Active, Max int
	Pool        pool.Status            // all toolchains' pools together
	Toolchains  map[string]pool.Status // each toolchain's pool
}

// Status reports the sessions against the cap, and the pool.
func (s *Service) Status() Status {
	return Status{Active: s.mgr.Active(), Max: s.mgr.Max(), Pool: s.pool.Status(), Toolchains: s.pool.ByToolchain()}
}

// Resume finds the session a resume token names, spending the token.
func (s *Service) Resume(token string) (*session.Session, bool) {
	return s.mgr.Directory().Resume(token)
}

// Watched finds the shared session a watch token names.
func (s *Service) Watched(token string) (*session.Session, bool) {
	return s.mgr.Directory().Watch(token)
}

// freeing wraps an admission's done so the pool hears of the free slot:
// clients may be waiting for it.
func (s *Service) freeing(done func()) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			done()
			s.pool.Poke() // any toolchain's clients may be waiting
		})
	}
}

// Place is a client's place in line for a sandbox (see pool.Place); it
// also holds one of its address's waiting places until it is left or
// taken.
type Place struct {
	*pool.Place
	release   func()
	toolchain string
}

// Leave gives the place up. Idempotent.
func (pl *Place) Leave() {
	pl.Place.Leave()
	pl.release()
}

// Join puts a client of addr (its Key, or whatever groups one party's
// clients) in line for a sandbox; see pool.Pool.Join. It returns
// session.ErrShuttingDown once the server drains or stops, and
// pool.ErrQueueFull when the line, or the address's part of it, is full.
// The line is the toolchain's (the caller has checked that it exists).
// The caller must Leave the place, and Take it once its status is
// Granted.
func (s *Service) Join(addr, toolchain string) (*Place, error) {
	return s.join(addr, toolchain, false)
}

// JoinSeat is Join for a class's learner: the class's held seats, not
// the pool's own demand, provide the sandbox.
func (s *Service) JoinSeat(addr, toolchain string) (*Place, error) {
	return s.join(addr, toolchain, true)
}

func (s *Service) join(addr, toolchain string, seat bool) (*Place, error) {
	p, ok := s.pool.Get(toolchain)
	if !ok {
		return nil, fmt.Errorf("no toolchain is called %q", toolchain)
	}
	if err := s.mgr.CanAdmit(); errors.Is(err, session.ErrShuttingDown) {
		return nil, err
	}
	release, ok := s.addrs.wait(addr)
	if !ok {
		return nil, pool.ErrQueueFull
	}
	join := p.Join
	if seat {
		join = p.JoinSeat
	}
	pl, err := join(addr)
	if err != nil {
		release()
		if errors.Is(err, pool.ErrClosed) {
			return nil, session.ErrShuttingDown
		}
		return nil, err
	}
	return &Place{Place: pl, release: release, toolchain: toolchain}, nil
}

// Take admits the client whose place was granted a sandbox. It returns
// session.ErrShuttingDown when the server stopped meanwhile (the sandbox
// goes back to the pool), or an error when nothing was granted.
func (s *Service) Take(pl *Place) (*Admission, error) {
	ctx, done, err := s.mgr.Admit()
	if err != nil {
		pl.Leave()
		return nil, err
	}
	sb := pl.Place.Take()
	pl.release()
	if sb == nil {
		done()
		return nil, errors.New("no sandbox was granted")
	}
	a := &Admission{s: s, ctx: ctx, granted: sb, queued: pl.Queued(), wait: time.Since(pl.Joined()), toolchain: pl.toolchain}
	a.done = s.freeing(func() {
		if a.granted != nil { // never opened
			a.granted.Close()
		}
		done()
	})
	return a, nil
}

// Request is what a client asks of a new session.
type Request struct {
	Cols, Rows int
	Resumable  bool
	// Exercise names the session's exercise, "" for none. The caller has
	// checked that it exists.
	Exercise string
	// Record asks for the session to be recorded, for the client address
	// Addr (its Key): refused beyond the address's rate or the storage
	// bound, and the session goes on unrecorded.
	Record bool
	Addr   string
	// Checked, when set, hears every check's result (a class keeps it).
	Checked func(sandbox.CheckResult)
}

// Admission is a place held for one session under the cap. The holder
// must call Done once its session has ended.
type Admission struct {
	s       *Service
	ctx     context.Context
	done    func()
	granted sandbox.Sandbox // granted in line, or nil: Open takes one from the pool
	queued  bool            // the client waited in line for it
	wait    time.Duration
	// toolchain is the one whose line granted the place.
	toolchain string
}

// Context ends when the server shuts down (cause session.ErrShuttingDown)
// or the admission is done: the session and whatever serves its client
// run under it.
func (a *Admission) Context() context.Context { return a.ctx }

// Done gives the place back. Idempotent.
func (a *Admission) Done() { a.done() }

// Opened tells how a session got its sandbox.
type Opened struct {
	Warm    bool          // taken from the pool, booted before it was asked for
	Startup time.Duration // from the request to a sandbox at its prompt
}

// Open takes a sandbox for the admitted session and builds the session,
// which the caller runs. The session's id is its sandbox's.
func (a *Admission) Open(req Request) (*session.Session, Opened, error) {
	started := time.Now()
	ctx, cancel := context.WithTimeout(a.ctx, startTimeout)
	defer cancel()
	sb, warm, err := a.sandbox(ctx, req)
	if err != nil {
		return nil, Opened{}, fmt.Errorf("start sandbox: %w", err)
	}
	cfg := a.s.cfg
	var checker sandbox.Checker
	if req.Exercise != "" {
		if cfg.Exercises == nil {
			sb.Close()
			return nil, Opened{}, fmt.Errorf("exercise %q: no exercises are loaded", req.Exercise)
		}
		prepared, c, err := cfg.Exercises.Prepare(ctx, req.Exercise, sb)
		if err != nil {
			sb.Close()
			return nil, Opened{}, fmt.Errorf("prepare exercise %q: %w", req.Exercise, err)
		}
		sb, checker = prepared, c
	}
	rec, refused := a.record(ctx, req)
	live := session.New(a.ctx, sb, cfg.Limits, session.Options{
		Cols: req.Cols, Rows: req.Rows,
		Resumable:     req.Resumable && cfg.Grace > 0,
		Grace:         cfg.Grace,
		MaxViewers:    cfg.MaxViewers,
		Tokens:        a.s.mgr.Directory(),
		Checker:       checker,
		CheckTimeout:  cfg.CheckTimeout,
		Exercise:      req.Exercise,
		Recorder:      rec,
		RecordRefused: refused,
		Toolchain:     a.toolchain,
		Checked:       req.Checked,
	}, a.s.log.With("session", sb.ID()))
	return live, Opened{Warm: warm, Startup: time.Since(started) + a.wait}, nil
}

// record begins the session's recording when asked and allowed.
func (a *Admission) record(ctx context.Context, req Request) (session.Recorder, string) {
	r := a.s.cfg.Recorders
	if !req.Record || r == nil {
		return nil, ""
	}
	if !a.s.addrs.Record(req.Addr, time.Now()) {
		r.Refused(RecordRefusedRate)
		return nil, RecordRefusedRate
	}
	return r.Begin(ctx, req.Addr, req.Cols, req.Rows)
}

// RecordRefusedRate is why a recording was refused when its address
// began too many this hour.
const RecordRefusedRate = "rate"

// sandbox is the one granted in line, resized to the client's terminal,
// or one from the pool.
func (a *Admission) sandbox(ctx context.Context, req Request) (sandbox.Sandbox, bool, error) {
	sb := a.granted
	if sb == nil {
		p, ok := a.s.pool.Get(a.toolchain)
		if !ok {
			return nil, false, fmt.Errorf("no toolchain is called %q", a.toolchain)
		}
		return p.Get(ctx, sandbox.Spec{ID: uuid.NewString(), Cols: req.Cols, Rows: req.Rows})
	}
	a.granted = nil
	if err := sb.Resize(ctx, req.Cols, req.Rows); err != nil {
		sb.Close() // it died while waiting
		return nil, false, fmt.Errorf("resize granted sandbox: %w", err)
	}
	return sb, !a.queued, nil
}
