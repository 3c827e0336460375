package session

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"iexbox/internal/sandbox"

	"golang.org/x/time/rate"
)

// ErrProtocol marks a Client.Receive error caused by the client breaking the
// protocol, as opposed to the client going away: every ProtocolError is
// one.
var ErrProtocol = errors.New("protocol violation")

// ProtocolError is a client's breach of the protocol. The session ends
// with ReasonProtocol and the client is told Message.
type ProtocolError struct {
	Message string // fit to show the client
}

func (e *ProtocolError) Error() string { return "protocol violation: " + e.Message }

// Is makes a ProtocolError an ErrProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// ProtocolMessage is what the client is told of err, a protocol
// violation: its ProtocolError's message, or a generic one.
func ProtocolMessage(err error) string {
	if pe, ok := errors.AsType[*ProtocolError](err); ok {
		return pe.Message
	}
	return ErrProtocol.Error()
}

// Timing of the end of a session.
const (
	// waitTimeout bounds how long Run waits for an exited sandbox to report
	// its status. Docker answers at once; a Pod's status comes from the
	// kubelet, seconds later under gVisor on a busy node.
	waitTimeout = 10 * time.Second
	// closeGrace is how long the client may take to answer the close
	// handshake before the connection is dropped.
	closeGrace = time.Second
)

// outputChunk is the most output read from the sandbox at once.
const outputChunk = 32 << 10

// maxInputFrame is the largest input message a client sends (the protocol's
// frame limit); the input throttle's burst is never below it.
const maxInputFrame = 64 << 10

var (
	errClientGone  = errors.New("client gone")
	errSandboxGone = errors.New("sandbox output ended")
	errReplaced    = errors.New("another connection resumed the session")
	errNotResumed  = errors.New("not resumed within the grace period")
	errEnded       = errors.New("the client ended the session")
)

// endCause carries a decided End through a context's cancel cause.
type endCause struct{ end End }

func (e endCause) Error() string { return e.end.String() }

// Tokens issues and revokes the tokens that find a session: a
// single-use resume token, and a watch token for its viewers.
type Tokens interface {
	IssueResume(s *Session, previous string) string
	IssueWatch(s *Session) string
	Revoke(tokens ...string)
}

// Options are what a session offers beyond one connection.
type Options struct {
	// Cols and Rows are the terminal size the sandbox started with.
	Cols, Rows int
	// Resumable keeps the session alive for Grace after its client's
	// connection drops, until a client resumes it with a resume token.
	Resumable bool
	Grace     time.Duration
	// MaxViewers bounds the viewers of a shared session.
	MaxViewers int
	// Tokens registers the session's resume and watch tokens; nil
	// makes the session neither resumable nor shareable.
	Tokens Tokens
	// Checker runs the checks of the session's exercise; nil when the
	// session has none, and then a check is a protocol error. The session
	// closes it when it ends.
	Checker sandbox.Checker
	// CheckTimeout bounds one check.
	CheckTimeout time.Duration
	// Exercise names the session's exercise, for the recording's markers.
	Exercise string
	// Recorder records the session; nil when it is not recorded. The
	// session closes it when it ends, however it ends.
	Recorder Recorder
	// RecordRefused, when the client asked for a recording that was
	// refused, is why ("storage", "rate", "error"): the presenter is told.
	RecordRefused string
	// Toolchain names the toolchain the sandbox runs, for the session's
	// clients (a resume keeps it).
	Toolchain string
	// Checked, when set, hears every check's result (a class keeps it).
	Checked func(sandbox.CheckResult)
}

// Session joins one sandbox to the client at its keyboard (the presenter),
// who may drop and resume the connection when the session is resumable,
// and to any number of read-only viewers. Create it with New; Run serves
// its first client and owns its end.
type Session struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	sb     sandbox.Sandbox
	limits Limits
	opts   Options
	log    *slog.Logger

	clk       *clock
	throttle  *rate.Limiter
	lastInput atomic.Int64 // UnixNano of the latest keyboard input
	resizes   chan [2]int
	warns     chan warning
	wg        sync.WaitGroup // every goroutine but the owner's
	pumpDone  chan struct{}
	ended     chan struct{} // closed once end is decided and all output fanned out
	end       End

	mu       sync.Mutex
	cur      *attachment // the presenter's connection; nil while detached
	ending   bool        // the owner is ending the session
	hist     history
	size     [2]int
	viewers  map[*viewer]struct{}
	grace    *time.Timer // runs while detached
	resumeTk string
	watchTk  string
	// recStopped: the recording reached its byte bound.
	recStopped bool

	checks checks
}

// Toolchain is the name of the toolchain the session's sandbox runs.
func (s *Session) Toolchain() string { return s.opts.Toolchain }

// New prepares a session on sb under ctx; nothing runs before Run. When
// ctx is cancelled with cause ErrShuttingDown the session ends with
// ReasonShutdown; any other cancellation ends it with ReasonError.
func New(ctx context.Context, sb sandbox.Sandbox, limits Limits, opts Options, log *slog.Logger) *Session {
	ctx, cancel := context.WithCancelCause(ctx)
	if opts.Tokens == nil {
		opts.Resumable = false
	}
	s := &Session{
		ctx: ctx, cancel: cancel, sb: sb, limits: limits, opts: opts, log: log,
		clk:      newClock(limits),
		resizes:  make(chan [2]int, 1),
		warns:    make(chan warning),
		pumpDone: make(chan struct{}),
		ended:    make(chan struct{}),
		size:     [2]int{opts.Cols, opts.Rows},
		viewers:  map[*viewer]struct{}{},
		checks:   newChecks(),
	}
	if limits.InputRate > 0 {
		s.throttle = rate.NewLimiter(rate.Limit(limits.InputRate), max(limits.InputBurst, maxInputFrame))
	}
	return s
}

// ID is the session's id.
func (s *Session) ID() string { return s.sb.ID() }

// Exercise is the exercise the session poses, "" for none.
func (s *Session) Exercise() string { return s.opts.Exercise }

// IdleFor is how long ago the presenter last typed (or the session
// started).
func (s *Session) IdleFor() time.Duration {
	if last := s.lastInput.Load(); last != 0 {
		return time.Since(time.Unix(0, last))
	}
	return time.Since(s.clk.start)
}

// EndWith ends the session from outside with reason r (a class ended);
// ending an ending session does nothing.
func (s *Session) EndWith(r Reason) { s.cancel(endCause{End{Reason: r}}) }

// Share returns the session's watch token, making one on first use; ""
// when the session cannot be shared or is ending.
func (s *Session) Share() string { return s.share() }

// Tell queues e for the presenter's connection; it is lost when none is
// attached or its queue is full (a notice, never worth blocking for).
func (s *Session) Tell(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return
	}
	select {
	case s.cur.events <- e:
	default:
	}
}

// LifetimeLeft is how long the session may still live, or 0 when it has
// no lifetime limit; a resumed page counts down from it.
func (s *Session) LifetimeLeft() time.Duration { return s.clk.lifetimeLeft() }

// Greeter tells a client its session is ready before any output, with the
// session's new resume token ("" when it is not resumable).
type Greeter func(resumeToken string) error

// Run serves the session's first client (greet, when not nil, greets it
// first) and whoever resumes or watches it, until the session ends; then it
// reports the end, destroys the sandbox and returns the End. It waits for
// every goroutine the session started. Call it once.
func (s *Session) Run(c Client, greet Greeter) End {
	defer s.cancel(nil)
	s.wg.Add(3)
	go s.applyResizes()
	go s.forwardWarnings()
	go func() { // enforces the idle and lifetime limits
		defer s.wg.Done()
		if r := s.clk.run(s.ctx, s.warns); r != "" {
			s.cancel(endCause{End{Reason: r}})
		}
	}()
	_, err := s.attach(c, greet, false)
	// The pump starts only once the first client is attached: output read
	// before would go to the history alone, and the first client gets no
	// replay, so it would never see the banner and prompt.
	s.wg.Add(1)
	go s.pump()
	if err != nil {
		s.cancel(errClientGone)
	}
	<-s.ctx.Done()
	return s.finish()
}

// finish ends the session once its context is done: the presenter, if
// attached, is told how it ended, viewers too, and the sandbox destroyed.
func (s *Session) finish() End {
	s.mu.Lock()
	s.ending = true
	a := s.cur
	s.cur = nil
	if s.grace != nil {
		s.grace.Stop()
	}
	s.mu.Unlock()
	if s.opts.Tokens != nil {
		s.opts.Tokens.Revoke(s.resumeTk, s.watchTk)
	}

	if a != nil {
		select { // a client that stopped reading must not hold the end up
		case <-a.writerDone:
		case <-time.After(closeGrace):
			a.c.Close()
			<-a.writerDone
		}
	}
	end := decideEnd(context.Cause(s.ctx), s.sb)
	if s.opts.Checker != nil { // ends a running check before the sandbox goes
		if err := s.opts.Checker.Close(); err != nil {
			s.log.Debug("close checker", "err", err)
		}
	}

	// Destroy the sandbox while the clients are told; both are bounded.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		if err := s.sb.Close(); err != nil {
			s.log.Warn("destroy sandbox", "err", err)
		}
	}()
	<-s.pumpDone
	if s.opts.Recorder != nil { // all output is in it: complete it
		s.opts.Recorder.Close()
	}
	s.mu.Lock()
	s.end = end
	close(s.ended) // viewers have all output queued: they report the end
	s.mu.Unlock()

	if a != nil {
		if end.Reason != ReasonClosed {
			if err := a.c.End(end); err != nil {
				s.log.Debug("report end", "err", err)
			}
			select { // let the client answer the close handshake
			case <-a.readerDone:
			case <-time.After(closeGrace):
			}
		}
		a.c.Close()
		<-a.readerDone
		close(a.finished)
	} else if end.Reason != ReasonClosed {
		s.log.Info("session ended while detached", "reason", end.Reason)
	}
	s.wg.Wait()
	<-closed
	return end
}

// Output batching: small chunks are gathered for at most batchDelay into
// fewer, larger frames (less work for the browser during a flood), except
// within echoWindow of keyboard input, when every chunk goes at once so
// typing feels immediate.
// outputQueue chunks may wait for the presenter's writer, so the pump
// reads on while a frame is written instead of handing over each chunk in
// lockstep (a wake-up of both goroutines per pty read). Kept small: for a
// client that stops reading the server holds the queue too.
const (
	batchDelay  = 3 * time.Millisecond
	echoWindow  = 20 * time.Millisecond
	outputQueue = 4
)

// gather appends to p the chunks that arrive on out within batchDelay, up
// to outputChunk bytes.
func gather(p []byte, out <-chan []byte, lastInput *atomic.Int64) []byte {
	if len(p) >= outputChunk || time.Since(time.Unix(0, lastInput.Load())) < echoWindow {
		return p
	}
	timer := time.NewTimer(batchDelay)
	defer timer.Stop()
	for len(p) < outputChunk {
		select {
		case q := <-out:
			p = append(p, q...)
		case <-timer.C:
			return p
		}
	}
	return p
}

// decideEnd turns the first cause that ended a session into its End.
func decideEnd(cause error, sb sandbox.Sandbox) End {
	var ec endCause
	switch {
	case errors.As(cause, &ec):
		return ec.end
	case errors.Is(cause, errSandboxGone):
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		st, err := sb.Wait(ctx)
		if err != nil {
			return End{Reason: ReasonError, Err: err}
		}
		if st.OOMKilled {
			return End{Reason: ReasonOOM, Code: st.Code}
		}
		return End{Reason: ReasonExited, Code: st.Code}
	case errors.Is(cause, errClientGone), errors.Is(cause, errEnded):
		return End{Reason: ReasonClosed}
	case errors.Is(cause, errNotResumed):
		return End{Reason: ReasonClosed, Err: errNotResumed}
	case errors.Is(cause, ErrShuttingDown):
		return End{Reason: ReasonShutdown}
	}
	return End{Reason: ReasonError, Err: cause}
}
