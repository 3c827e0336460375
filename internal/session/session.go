// Package session owns what an iexbox session is: one person's terminal
// connected to one fresh, single-use sandbox, its lifecycle (idle and
// lifetime limits, warnings, flow control, the reason it ended), a
// connection that may drop and resume, read-only viewers, and the registry
// that caps, finds (by token) and shuts down all live sessions. Runtimes (Docker, a
// local pty process) and transports (WebSocket) are adapters around it.
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

// Sandbox is one running terminal program, used by exactly one session.
// Read returns the terminal's output (io.EOF once the program has gone);
// Write delivers keyboard input.
type Sandbox interface {
	io.ReadWriter
	// Resize sets the terminal size; the latest call wins.
	Resize(ctx context.Context, cols, rows int) error
	// Wait blocks until the program has exited and reports how.
	Wait(ctx context.Context) (ExitStatus, error)
	// Close destroys the sandbox and everything in it. It is idempotent,
	// safe for concurrent use, and unblocks Read.
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
)

// Message is one message from the client.
type Message struct {
	Kind  MessageKind
	Input []byte
	Cols  int
	Rows  int
	Bytes int64
}

// Client is the person's end of a session, as the session needs it.
type Client interface {
	// Receive blocks until the next message. Only the session's reader
	// goroutine calls it. An error ends the session: wrap
	// protocol.ErrProtocol for a protocol violation, anything else means
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
)

// Event is a notice for a client beside its output.
type Event struct {
	Kind  EventKind
	Watch string // Shared
	Count int    // Viewers
	Cols  int    // Size
	Rows  int    // Size
}
