// Package session owns what an iexbox session is: one person's terminal
// connected to one fresh, single-use sandbox, its lifecycle (idle and
// lifetime limits, warnings, flow control, the reason it ended), a
// connection that may drop and resume, read-only viewers, and the registry
// that caps, finds (by token) and shuts down all live sessions. Runtimes (Docker, a
// local pty process) and transports (WebSocket) are adapters around it.
//
// # Goroutines of a session
//
// The goroutine that calls Session.Run owns the session: it attaches the
// first client, waits for the end, reports it and destroys the sandbox.
// Run starts, and joins (Session.wg) before it returns:
//
//   - applyResizes: applies the latest terminal size, at most every
//     resizeEvery, and tells viewers;
//   - forwardWarnings: hands the clock's warnings to the attached presenter;
//   - the clock: enforces the idle and lifetime limits;
//   - pump: the only reader of the sandbox's output, feeding the history,
//     the viewers' queues and the presenter;
//   - per presenter connection (attach, again on every resume): receive,
//     the connection's only reader; send, its only writer; and
//     watchAttachment, which closes the connection once it is done with.
//
// finish starts one more, which destroys the sandbox while the clients are
// told, and waits for it. A detached resumable session has a grace timer
// (time.AfterFunc) that only cancels the session's context.
//
// A viewer is served on the goroutine that calls Session.Watch (its only
// writer); Watch starts two more and joins them before it returns: the
// viewer's reader, which drops all it sends, and a watchdog that closes a
// connection stuck in a write once the viewer is dropped or the session
// ends. Pings are the transport's own, joined by the transport.
package session

import (
	"context"
	"errors"
	"io"
)

// Spec describes the sandbox a session asks for.
type Spec struct {
	ID   string // session id, recorded on the sandbox (a container label)
	Cols int
	Rows int
}

// Runtime starts sandboxes. Implementations must be safe for concurrent use.
type Runtime interface {
	// Start creates, attaches and starts a fresh sandbox. The caller must
	// Close the returned Sandbox.
	Start(ctx context.Context, spec Spec) (Sandbox, error)
	// Name is the isolation runtime actually in use ("runc", "runsc", ...).
	Name() string
}

// Backend is where sandboxes run: a Docker Engine, a Kubernetes cluster,
// local processes. Each backend opens itself (checks its engine, picks its
// isolation runtime, removes what its instance left behind, and keeps
// removing leftovers while it is open), so the program only chooses one.
// Implementations must be safe for concurrent use.
type Backend interface {
	Runtime
	// Footprint is the host memory one idle sandbox costs, everything
	// around it included (engine shim, user-space kernel): it sizes the
	// default session cap and the pool, not the sandbox's limit.
	Footprint() int64
	// Capacity is the memory all sandboxes together may use (a parent
	// cgroup's limit, a node's allocatable memory), 0 when unknown.
	Capacity() int64
	// Ready reports why one more sandbox could not start now, or nil.
	Ready(ctx context.Context) error
	// Warnings are notes for the operator (a fallback from gVisor, say),
	// logged once and shown in /status.
	Warnings() []string
	// Close stops the backend's own background work and releases its
	// connection to the engine. Sandboxes must be closed first.
	Close() error
}

// Sandbox is one running terminal program, used by exactly one session.
// Read returns the terminal's output (io.EOF once the program has gone);
// Write delivers keyboard input.
type Sandbox interface {
	io.ReadWriter
	// ID is the id of the session the sandbox was created for: a warm
	// sandbox is labelled before anyone knows which session takes it, so
	// the session takes its id from the sandbox.
	ID() string
	// Exec runs a second program in the live sandbox beside its terminal
	// program, with pipes instead of a terminal. The caller must Close the
	// returned Process.
	Exec(ctx context.Context, spec ExecSpec) (Process, error)
	// Resize sets the terminal size; the latest call wins.
	Resize(ctx context.Context, cols, rows int) error
	// Wait blocks until the program has exited and reports how.
	Wait(ctx context.Context) (ExitStatus, error)
	// Close destroys the sandbox and everything in it. It is idempotent,
	// safe for concurrent use, and unblocks Read.
	Close() error
}

// ExecSpec describes a program run by Sandbox.Exec.
type ExecSpec struct {
	Cmd []string
	Env []string // KEY=value, added to the sandbox's own environment
	// Apart runs the program as the sandbox's second uid, which its
	// terminal program never uses: Process.Close can then end every
	// process the program left (forks included) without touching the
	// terminal's, and per-uid kernel limits are its own.
	Apart bool
}

// Process is a program started by Sandbox.Exec. Read returns its standard
// output and standard error, merged; Write feeds its standard input.
type Process interface {
	io.ReadWriter
	// CloseWrite closes its standard input.
	CloseWrite() error
	// Wait blocks until the program has exited and returns its exit code.
	Wait(ctx context.Context) (int, error)
	// Close ends the program (and, for an Apart program, every process of
	// its uid) and releases its streams. Idempotent; unblocks Read.
	Close() error
}

// ExitStatus is how a sandbox's program ended.
type ExitStatus struct {
	Code      *int // nil when unknown
	OOMKilled bool
}

// Sentinel errors returned by the Manager.
var (
	ErrCapacity     = errors.New("all sandboxes are busy")
	ErrShuttingDown = errors.New("server is shutting down")
)

// MessageKind tells what a client message carries.
type MessageKind int

const (
	// Input is keyboard input or a paste: raw bytes for the sandbox.
	Input MessageKind = iota + 1
	// Resize asks for a new terminal size.
	Resize
	// Ack reports output bytes the client has processed.
	Ack
	// Share asks for a watch token, so that viewers can follow the session.
	Share
	// EndSession ends the session on purpose, even a resumable one.
	EndSession
	// Check asks to run the session's exercise tests against Code.
	Check
	// Unshare revokes the watch token and drops every viewer.
	Unshare
)

// Message is one message from the client.
type Message struct {
	Kind  MessageKind
	Input []byte
	Cols  int
	Rows  int
	Bytes int64
	// Check only: the code to check, and the client's id for the answer.
	Code    string
	CheckID string
}

// Client is the person's end of a session, as the session needs it.
type Client interface {
	// Receive blocks until the next message. Only the session's reader
	// goroutine calls it. An error ends the session: wrap ErrProtocol
	// for a protocol violation, anything else means
	// the client has gone.
	Receive() (Message, error)
	// SendOutput and SendWarning are called by the session's single writer
	// goroutine only. SendOutput must not keep p after it returns: the
	// writer reuses it for the next frame.
	SendOutput(p []byte) error
	SendWarning(reason Reason, secondsLeft int) error
	SendEvent(e Event) error
	// End reports the outcome to the client and starts closing the
	// connection. It is called once, after the writer has stopped.
	End(e End) error
	// Close tears the connection down, unblocking Receive. Safe to call
	// from any goroutine, more than once.
	Close() error
}

// EventKind tells what an Event reports.
type EventKind int

const (
	// Shared answers Share with the session's watch token.
	Shared EventKind = iota + 1
	// Viewers reports to the presenter how many viewers watch.
	Viewers
	// Size reports the presenter's terminal size to a viewer.
	Size
	// Checked answers a Check.
	Checked
)

// Event is a notice for a client beside its output.
type Event struct {
	Kind  EventKind
	Watch string // Shared
	Count int    // Viewers
	Cols  int    // Size
	Rows  int    // Size
	// Checked: the client's id of the check and its outcome.
	CheckID string
	Check   *CheckResult
}

// Checker runs an exercise's tests against a person's code, inside the
// session's sandbox but apart from its terminal program. A session has at
// most one, and calls Check from one goroutine at a time.
type Checker interface {
	// Check runs the tests against code and reports the outcome; a check
	// that does not compile, fails to run or outlives ctx ends as
	// CheckError. It never ends the sandbox.
	Check(ctx context.Context, code string) CheckResult
	// Close ends any check still running and whatever the checker keeps
	// ready in the sandbox. Idempotent.
	Close() error
}

// Exercises are the exercises sessions may be opened with.
type Exercises interface {
	// Has reports whether name is an exercise.
	Has(name string) bool
	// Prepare readies a fresh sandbox, at its first prompt, for the
	// exercise name: its setup is evaluated in the terminal program with
	// the output hidden. It returns the sandbox the session reads (whose
	// pending output ends with a prompt) and the session's Checker, which
	// the caller must Close. On error the caller still owns sb.
	Prepare(ctx context.Context, name string, sb Sandbox) (Sandbox, Checker, error)
}

// Check outcomes, as Exercism's results.json (version 3) names them.
const (
	CheckPass  = "pass"
	CheckFail  = "fail"
	CheckError = "error"
)

// CheckResult is the outcome of one check.
type CheckResult struct {
	Status    string       `json:"status"`
	Message   string       `json:"message,omitempty"` // why, for CheckError
	Tests     []TestResult `json:"tests"`
	Truncated bool         `json:"truncated,omitempty"` // something was cut to fit the bounds
}

// TestResult is the outcome of one test of a check.
type TestResult struct {
	Name      string `json:"name"`
	Status    string `json:"status"`            // CheckPass, CheckFail or CheckError
	Message   string `json:"message,omitempty"` // the failure, as ExUnit words it
	Output    string `json:"output,omitempty"`  // what the code printed during the test
	TaskID    *int   `json:"task_id"`           // the test's @tag task_id, if any
	Truncated bool   `json:"truncated,omitempty"`
}
