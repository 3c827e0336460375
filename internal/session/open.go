package session

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// startTimeout bounds taking or booting one sandbox for a session.
const startTimeout = 60 * time.Second

// Opener is the use case "open a session": admit it under the Manager's
// cap, take a warm sandbox from the Pool or boot one, and build the
// Session around it. It is safe for concurrent use.
type Opener struct {
	Manager *Manager
	Pool    *Pool
	Limits  Limits
	// Grace is how long a resumable session waits for its client after
	// the connection drops; 0 makes no session resumable.
	Grace      time.Duration
	MaxViewers int
	Log        *slog.Logger
}

// Request is what a client asks of a new session.
type Request struct {
	Cols, Rows int
	Resumable  bool
}

// Admission is a place held for one session under the cap. The holder
// must call Done once its session has ended.
type Admission struct {
	o    *Opener
	ctx  context.Context
	done func()
}

// Admit holds a place for one session, or returns ErrCapacity or
// ErrShuttingDown.
func (o *Opener) Admit() (*Admission, error) {
	ctx, done, err := o.Manager.Admit()
	if err != nil {
		return nil, err
	}
	return &Admission{o: o, ctx: ctx, done: done}, nil
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
	sb, warm, err := a.o.Pool.Get(ctx, Spec{ID: uuid.NewString(), Cols: req.Cols, Rows: req.Rows})
	cancel()
	if err != nil {
		return nil, Opened{}, fmt.Errorf("start sandbox: %w", err)
	}
	o := a.o
	live := New(a.ctx, sb, o.Limits, Options{
		Cols: req.Cols, Rows: req.Rows,
		Resumable:  req.Resumable && o.Grace > 0,
		Grace:      o.Grace,
		MaxViewers: o.MaxViewers,
		Directory:  o.Manager.Directory(),
	}, o.Log.With("session", sb.ID()))
	return live, Opened{Warm: warm, Startup: time.Since(started)}, nil
}
