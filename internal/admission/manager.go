package admission

import (
	"context"
	"errors"
	"sync"
	"time"

	"iexbox/internal/pool"
	"iexbox/internal/sandbox"
	"iexbox/internal/session"
)

// Sentinel errors of admission.
var (
	// ErrCapacity: every session (or viewer) the server may hold is taken.
	ErrCapacity = errors.New("all sandboxes are busy")
)

// Manager admits sessions up to a global cap and ends them all on shutdown.
// It is safe for concurrent use.
type Manager struct {
	max    int
	base   context.Context
	cancel context.CancelCauseFunc

	drain *Drain
	dir   *Directory
	idle  chan struct{} // signalled whenever the last session ends

	closingCh   chan struct{} // closed when the Manager stops admitting
	closingOnce sync.Once

	mu       sync.Mutex
	active   int
	reserved int  // slots held by warm sandboxes of a Pool
	closing  bool // draining or shutting down: no new sessions
	wg       sync.WaitGroup
}

// NewManager returns a Manager that admits at most max concurrent sessions.
func NewManager(max int) *Manager {
	base, cancel := context.WithCancelCause(context.Background())
	return &Manager{max: max, base: base, cancel: cancel, drain: NewDrain(), dir: NewDirectory(),
		closingCh: make(chan struct{}), idle: make(chan struct{}, 1)}
}

// Closing is closed once the Manager admits no more sessions (a drain or
// a shutdown began): clients still waiting for one are turned away.
func (m *Manager) Closing() <-chan struct{} { return m.closingCh }

func (m *Manager) stopAdmitting() {
	m.mu.Lock()
	m.closing = true
	m.mu.Unlock()
	m.closingOnce.Do(func() { close(m.closingCh) })
}

// CanAdmit reports why one more session could not be admitted now, or nil.
func (m *Manager) CanAdmit() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closing:
		return session.ErrShuttingDown
	case m.active >= m.max:
		return ErrCapacity
	}
	return nil
}

// Drain is the Manager's drain announcement, for session.Limits.Drain.
func (m *Manager) Drain() *Drain { return m.drain }

// Directory finds the Manager's sessions by their resume and watch tokens,
// for session.Options.Tokens.
func (m *Manager) Directory() *Directory { return m.dir }

// BeginDrain refuses new sessions from now on and announces to live ones
// that the server stops at deadline. Shutdown ends them.
func (m *Manager) BeginDrain(deadline time.Time) {
	m.stopAdmitting()
	m.drain.Begin(deadline)
}

// DrainFor refuses new sessions and announces to live ones that the
// server stops in timeout, then waits until none is left, the timeout
// has passed or ctx ends (a second signal cuts a drain short).
func (m *Manager) DrainFor(ctx context.Context, timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	m.BeginDrain(time.Now().Add(timeout))
	for m.Active() > 0 {
		select {
		case <-m.idle: // checked again: one may have ended before another began
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// Admit reserves a place for one session. The returned context ends with
// cause ErrShuttingDown when the Manager shuts down; the session must run
// under it. The caller must call done once the session has ended and its
// sandbox is destroyed. Admit returns ErrCapacity when the cap is reached and
// ErrShuttingDown after Shutdown.
func (m *Manager) Admit() (ctx context.Context, done func(), err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closing:
		return nil, nil, session.ErrShuttingDown
	case m.active >= m.max:
		return nil, nil, ErrCapacity
	}
	m.active++
	m.wg.Add(1)
	ctx, cancel := context.WithCancel(m.base)
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			cancel()
			m.mu.Lock()
			m.active--
			if m.active == 0 {
				select {
				case m.idle <- struct{}{}:
				default:
				}
			}
			m.mu.Unlock()
			m.wg.Done()
		})
	}, nil
}

// Reserve holds a slot for a warm sandbox. Sessions come first: a slot is
// only reserved while sessions and warm sandboxes together are under the
// cap, and Admit does not count reserved slots, since an admitted session
// takes a warm sandbox over (releasing its slot) rather than adding one.
func (m *Manager) Reserve() (release func(), ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing || m.active+m.reserved >= m.max {
		return nil, false
	}
	m.reserved++
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			m.reserved--
			m.mu.Unlock()
		})
	}, true
}

var _ pool.Slots = (*Manager)(nil)

// Active is the number of admitted sessions not yet done.
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active
}

// Max is the cap on concurrent sessions.
func (m *Manager) Max() int { return m.max }

// Shutdown refuses new sessions, ends every live one with ReasonShutdown and
// waits until all are done or ctx ends.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.stopAdmitting()
	m.cancel(session.ErrShuttingDown)
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DefaultMaxSessions caps sessions by host memory: four fifths of it,
// divided by what one idle sandbox costs (footprint; 0: unknown, 50).
func DefaultMaxSessions(footprint int64) int {
	total, err := sandbox.HostMemory()
	if err != nil || total <= 0 || footprint <= 0 {
		return 50
	}
	return max(int(total*4/5/footprint), 1)
}
