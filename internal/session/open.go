package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"iexbox/internal/pool"
	"iexbox/internal/sandbox"

	"github.com/google/uuid"
)

// startTimeout bounds taking or booting one sandbox for a session.
const startTimeout = 60 * time.Second

// Opener is the use case "open a session": admit it under the Manager's
// cap, take a warm sandbox from the Pool or boot one, and build the
// Session around it. It is safe for concurrent use.
type Opener struct {
	Manager *Manager
	Pool    *pool.Pool
	Limits  Limits
	// Grace is how long a resumable session waits for its client after
	// the connection drops; 0 makes no session resumable.
	Grace      time.Duration
	MaxViewers int
	// Exercises are those a request may name; nil offers none.
	Exercises Exercises
	// CheckTimeout bounds one check of an exercise.
	CheckTimeout time.Duration
	Log          *slog.Logger
}

// Request is what a client asks of a new session.
type Request struct {
	Cols, Rows int
	Resumable  bool
	// Exercise names the session's exercise, "" for none. The caller has
	// checked that it exists.
	Exercise string
}

// Admission is a place held for one session under the cap. The holder
// must call Done once its session has ended.
type Admission struct {
	o       *Opener
	ctx     context.Context
	done    func()
	granted sandbox.Sandbox // granted in line, or nil: Open takes one from the pool
	queued  bool            // the client waited in line for it
	wait    time.Duration
}

// Admit holds a place for one session, or returns ErrCapacity or
// ErrShuttingDown.
func (o *Opener) Admit() (*Admission, error) {
	ctx, done, err := o.Manager.Admit()
	if err != nil {
		return nil, err
	}
	return &Admission{o: o, ctx: ctx, done: o.freeing(done)}, nil
}

// freeing wraps an admission's done so the pool hears of the free slot:
// clients may be waiting for it.
func (o *Opener) freeing(done func()) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			done()
			o.Pool.Poke()
		})
	}
}

// Join puts a client of addr (its network address, or whatever groups
// one party's clients) in line for a sandbox; see Pool.Join. It returns
// ErrShuttingDown once the server drains or stops, and ErrQueueFull. The
// caller must Leave the place, and Take it once its status is Granted.
func (o *Opener) Join(addr string) (*pool.Place, error) {
	if err := o.Manager.CanAdmit(); errors.Is(err, ErrShuttingDown) {
		return nil, err
	}
	pl, err := o.Pool.Join(addr)
	if errors.Is(err, pool.ErrClosed) {
		return nil, ErrShuttingDown
	}
	return pl, err
}

// Take admits the client whose place was granted a sandbox. It returns
// ErrShuttingDown when the server stopped meanwhile (the sandbox goes back
// to the pool), or an error when nothing was granted.
func (o *Opener) Take(pl *pool.Place) (*Admission, error) {
	ctx, done, err := o.Manager.Admit()
	if err != nil {
		pl.Leave()
		return nil, err
	}
	sb := pl.Take()
	if sb == nil {
		done()
		return nil, errors.New("no sandbox was granted")
	}
	a := &Admission{o: o, ctx: ctx, granted: sb, queued: pl.Queued(), wait: time.Since(pl.Joined())}
	a.done = o.freeing(func() {
		if a.granted != nil { // never opened
			a.granted.Close()
		}
		done()
	})
	return a, nil
}

// Context ends when the server shuts down (cause ErrShuttingDown) or the
// admission is done: the session and whatever serves its client run
// under it.
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
func (a *Admission) Open(req Request) (*Session, Opened, error) {
	started := time.Now()
	ctx, cancel := context.WithTimeout(a.ctx, startTimeout)
	defer cancel()
	sb, warm, err := a.sandbox(ctx, req)
	if err != nil {
		return nil, Opened{}, fmt.Errorf("start sandbox: %w", err)
	}
	o := a.o
	var checker sandbox.Checker
	if req.Exercise != "" {
		if o.Exercises == nil {
			sb.Close()
			return nil, Opened{}, fmt.Errorf("exercise %q: no exercises are loaded", req.Exercise)
		}
		prepared, c, err := o.Exercises.Prepare(ctx, req.Exercise, sb)
		if err != nil {
			sb.Close()
			return nil, Opened{}, fmt.Errorf("prepare exercise %q: %w", req.Exercise, err)
		}
		sb, checker = prepared, c
	}
	live := New(a.ctx, sb, o.Limits, Options{
		Cols: req.Cols, Rows: req.Rows,
		Resumable:    req.Resumable && o.Grace > 0,
		Grace:        o.Grace,
		MaxViewers:   o.MaxViewers,
		Directory:    o.Manager.Directory(),
		Checker:      checker,
		CheckTimeout: o.CheckTimeout,
	}, o.Log.With("session", sb.ID()))
	return live, Opened{Warm: warm, Startup: time.Since(started) + a.wait}, nil
}

// sandbox is the one granted in line, resized to the client's terminal,
// or one from the pool.
func (a *Admission) sandbox(ctx context.Context, req Request) (sandbox.Sandbox, bool, error) {
	sb := a.granted
	if sb == nil {
		return a.o.Pool.Get(ctx, sandbox.Spec{ID: uuid.NewString(), Cols: req.Cols, Rows: req.Rows})
	}
	a.granted = nil
	if err := sb.Resize(ctx, req.Cols, req.Rows); err != nil {
		sb.Close() // it died while waiting
		return nil, false, fmt.Errorf("resize granted sandbox: %w", err)
	}
	return sb, !a.queued, nil
}
