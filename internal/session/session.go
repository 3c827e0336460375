// Package session owns one iexbox session's life: one person's terminal
// connected to one fresh, single-use sandbox, its lifecycle (idle and
// lifetime limits, warnings, flow control, the reason it ended), a
// connection that may drop and resume, read-only viewers and checks. What
// all sessions share (the cap, the tokens that find them, a drain) is
// admission's; sandboxes come through internal/sandbox's contracts and
// clients through this package's Client.
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
//     the recording, the viewers' queues and the presenter;
//   - per presenter connection (attach, again on every resume): receive,
//     the connection's only reader; send, its only writer; and
//     watchAttachment, which closes the connection once it is done with.
//
// A recorded session's Recorder may run a goroutine of its own (the
// recording's flusher), which finish joins by closing it.
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
	"errors"

	"iexbox/internal/sandbox"
)

// ErrShuttingDown is the cause with which a session's context is
// cancelled when the server shuts down: the session then ends with
// ReasonShutdown.
var ErrShuttingDown = errors.New("server is shutting down")

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
	// Recording tells that the session is recorded (RecordingID; the
	// presenter also gets DeleteToken).
	Recording
	// RecordingStopped tells that the recording stopped (Reason "size")
	// while the session goes on.
	RecordingStopped
	// RecordingRefused tells the presenter its recording was refused
	// (Reason "storage", "rate" or "error"); the session goes on.
	RecordingRefused
	// Watched tells the presenter that its class's teacher watches.
	Watched
	// TeacherMessage is a message (Text) from the presenter's class's
	// teacher.
	TeacherMessage
	// TeacherConsole tells the presenter that its class shows the
	// teacher's console, watched with the watch token Watch.
	TeacherConsole
	// TeacherConsoleEnded tells the presenter that its class no longer
	// shows the teacher's console, and why (Reason "stopped" or "ended").
	TeacherConsoleEnded
)

// Event is a notice for a client beside its output.
type Event struct {
	Kind  EventKind
	Watch string // Shared, TeacherConsole
	Count int    // Viewers
	Cols  int    // Size
	Rows  int    // Size
	// Checked: the client's id of the check and its outcome.
	CheckID string
	Check   *sandbox.CheckResult
	// Recording, RecordingStopped, RecordingRefused; Reason also
	// TeacherConsoleEnded.
	RecordingID string
	DeleteToken string
	Reason      string
	// TeacherMessage.
	Text string
}
