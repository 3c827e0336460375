// Package protocol defines the iexbox.v1 wire protocol spoken between the
// browser and the server: the JSON control messages carried in text frames,
// their validation, and the WebSocket close codes. Terminal bytes travel in
// binary frames and never pass through this package.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Subprotocol is the WebSocket subprotocol name a client must offer.
const Subprotocol = "iexbox.v1"

// MaxInputFrame is the largest binary frame a client may send, in bytes.
const MaxInputFrame = 64 << 10

// Terminal size bounds. Sizes outside them are clamped, not refused: a hidden
// element reports 0 columns and that must not end a session.
const (
	MinCols, MaxCols = 1, 500
	MinRows, MaxRows = 1, 200
)

// Client message types.
const (
	TypeHello  = "hello"
	TypeResize = "resize"
	TypeAck    = "ack"
	TypeShare  = "share" // the presenter asks for a watch link
	TypeEnd    = "end"   // the client ends its session on purpose
	TypeCheck  = "check" // run the session's exercise tests against code
	// TypeUnshare revokes the watch link: its viewers get exit unshared.
	TypeUnshare = "unshare"
)

// Check bounds.
const (
	MaxCheckCode = 32 << 10 // bytes of code in a check
	MaxCheckID   = 128      // bytes of a check's id
	// MaxExerciseName bounds the exercise a hello names.
	MaxExerciseName = 256
	// MaxToolchainName bounds the toolchain a hello names.
	MaxToolchainName = 128
	// MaxClassField bounds a hello's class, name and learner, in bytes
	// (a name is further bounded in characters by its class).
	MaxClassField = 256
)

// Hello modes.
const (
	ModePresenter = "presenter" // the default: the person at the keyboard
	ModeViewer    = "viewer"    // a read-only watcher of a shared session
)

// Server message types.
const (
	TypeReady   = "ready"
	TypeWarning = "warning"
	TypeExit    = "exit"
	TypeError   = "error"
	TypeShared  = "shared"  // answers share: the watch token and its page
	TypeViewers = "viewers" // to the presenter: how many are watching
	TypeSize    = "size"    // to viewers: the presenter's terminal size
	TypeQueued  = "queued"  // before ready: the client waits in line
	TypeChecked = "checked" // answers check
	// TypeRecording tells that the session is recorded, and where.
	TypeRecording = "recording"
	// TypeRecordingStopped tells that the recording stopped; the session
	// goes on.
	TypeRecordingStopped = "recording_stopped"
	// TypeWatched tells a learner that the class's teacher watches the
	// console.
	TypeWatched = "watched"
	// TypeMessage carries a message from the class's teacher.
	TypeMessage = "message"
	// TypeTeacherConsole tells a learner that the class shows the
	// teacher's console, and how to watch it.
	TypeTeacherConsole = "teacher_console"
	// TypeTeacherConsoleEnded tells a learner that the class no longer
	// shows the teacher's console.
	TypeTeacherConsoleEnded = "teacher_console_ended"
)

// Warning reasons beside the limits' (which are end reasons).
const (
	// WarnRecordingRefused: the hello asked for a recording, and none is
	// made (see Warning.Refused); the session goes on.
	WarnRecordingRefused = "recording_refused"
)

// Error codes carried by an error message.
const (
	CodeCapacity     = "capacity"
	CodeProtocol     = "protocol"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
	CodeForbidden    = "forbidden"     // a token is required and was missing or bad
	CodeRateLimited  = "rate_limited"  // this client opened too many sessions
	CodeResumeFailed = "resume_failed" // the resume token is bad, used or expired
	CodeNotFound     = "not_found"     // the watch token names no shared session, or the hello no exercise or no toolchain
	CodeLagging      = "lagging"       // a viewer fell too far behind and was dropped
)

// ClientMessage is a decoded client control message. Cols and Rows are set
// for hello and resize (already clamped); Bytes for ack.
type ClientMessage struct {
	Type  string
	Cols  int
	Rows  int
	Bytes int64
	Token string // hello only: an access token, where the server requires one
	// Hello only.
	Mode      string // "" or ModePresenter for the presenter, ModeViewer
	Watch     string // viewer: the watch token of the shared session
	Resume    string // a resume token from an earlier ready
	Resumable bool   // the session survives a dropped connection for a while
	Exercise  string // the exercise the session poses, "" for none
	Record    bool   // the presenter asks for the session to be recorded
	Toolchain string // the toolchain the session runs, "" for the exercise's or the default
	// Class is the code of the class the session belongs to, "" for
	// none; Name is the learner's name on first joining, Learner the
	// learner token from an earlier ready of the class.
	Class   string
	Name    string
	Learner string
	// Check only.
	Code    string
	CheckID string
}

// wireClient mirrors the JSON of every client message. Numbers are decoded as
// json.Number so that "80" (a string) or true is a protocol error while 80.0 is
// accepted; unknown fields are ignored to leave room to grow.
type wireClient struct {
	Type  *string         `json:"type"`
	Cols  json.RawMessage `json:"cols"`
	Rows  json.RawMessage `json:"rows"`
	Bytes json.RawMessage `json:"bytes"`
	Token json.RawMessage `json:"token"`

	Mode      json.RawMessage `json:"mode"`
	Watch     json.RawMessage `json:"watch"`
	Resume    json.RawMessage `json:"resume"`
	Resumable json.RawMessage `json:"resumable"`
	Exercise  json.RawMessage `json:"exercise"`
	Record    json.RawMessage `json:"record"`
	Toolchain json.RawMessage `json:"toolchain"`
	Class     json.RawMessage `json:"class"`
	Name      json.RawMessage `json:"name"`
	Learner   json.RawMessage `json:"learner"`

	ID   json.RawMessage `json:"id"`
	Code json.RawMessage `json:"code"`
}

// DecodeClient parses one text frame from a client. Every error it returns
// is a protocol violation, with a message fit to show the client; the
// caller marks it as such for the session (session.ErrProtocol).
func DecodeClient(data []byte) (ClientMessage, error) {
	var w wireClient
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&w); err != nil {
		return ClientMessage{}, errors.New("text frame is not a JSON object")
	}
	// Only JSON whitespace may follow the value: dec.More alone would
	// accept a stray ']' or '}'.
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return ClientMessage{}, errors.New("text frame holds more than one JSON value")
	}
	if w.Type == nil {
		return ClientMessage{}, errors.New("message has no \"type\"")
	}
	m := ClientMessage{Type: *w.Type}
	switch m.Type {
	case TypeHello, TypeResize:
		cols, err := number("cols", w.Cols)
		if err != nil {
			return ClientMessage{}, err
		}
		rows, err := number("rows", w.Rows)
		if err != nil {
			return ClientMessage{}, err
		}
		m.Cols = int(clamp(cols, MinCols, MaxCols))
		m.Rows = int(clamp(rows, MinRows, MaxRows))
		if m.Type == TypeHello {
			if err := decodeHello(&w, &m); err != nil {
				return ClientMessage{}, err
			}
		}
	case TypeAck:
		n, err := number("bytes", w.Bytes)
		if err != nil {
			return ClientMessage{}, err
		}
		if n < 0 {
			return ClientMessage{}, errors.New("\"bytes\" must not be negative")
		}
		// float64(math.MaxInt64) is 2^63, which int64 cannot hold.
		m.Bytes = math.MaxInt64
		if n < math.MaxInt64 {
			m.Bytes = int64(n)
		}
	case TypeShare, TypeEnd, TypeUnshare:
	case TypeCheck:
		if err := decodeCheck(&w, &m); err != nil {
			return ClientMessage{}, err
		}
	default:
		return ClientMessage{}, fmt.Errorf("unknown message type %q", m.Type)
	}
	return m, nil
}

// decodeHello decodes the optional fields of a hello.
func decodeHello(w *wireClient, m *ClientMessage) error {
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{{"token", w.Token, &m.Token}, {"mode", w.Mode, &m.Mode}, {"watch", w.Watch, &m.Watch}, {"resume", w.Resume, &m.Resume},
		{"exercise", w.Exercise, &m.Exercise}, {"toolchain", w.Toolchain, &m.Toolchain},
		{"class", w.Class, &m.Class}, {"name", w.Name, &m.Name}, {"learner", w.Learner, &m.Learner}} {
		if len(f.raw) > 0 && string(f.raw) != "null" {
			if err := json.Unmarshal(f.raw, f.dst); err != nil {
				return fmt.Errorf("%q must be a string", f.name)
			}
		}
	}
	if len(w.Resumable) > 0 && string(w.Resumable) != "null" {
		if err := json.Unmarshal(w.Resumable, &m.Resumable); err != nil {
			return errors.New("\"resumable\" must be true or false")
		}
	}
	if len(w.Record) > 0 && string(w.Record) != "null" {
		if err := json.Unmarshal(w.Record, &m.Record); err != nil {
			return errors.New("\"record\" must be true or false")
		}
	}
	if len(m.Exercise) > MaxExerciseName {
		return fmt.Errorf("\"exercise\" is longer than %d bytes", MaxExerciseName)
	}
	if len(m.Toolchain) > MaxToolchainName {
		return fmt.Errorf("\"toolchain\" is longer than %d bytes", MaxToolchainName)
	}
	for _, f := range []struct{ name, v string }{{"class", m.Class}, {"name", m.Name}, {"learner", m.Learner}} {
		if len(f.v) > MaxClassField {
			return fmt.Errorf("%q is longer than %d bytes", f.name, MaxClassField)
		}
	}
	if m.Class == "" && (m.Name != "" || m.Learner != "") {
		return errors.New("\"name\" and \"learner\" need \"class\"")
	}
	switch m.Mode {
	case "", ModePresenter:
	case ModeViewer:
		if m.Watch == "" {
			return errors.New("a viewer's hello needs \"watch\"")
		}
	default:
		return fmt.Errorf("unknown mode %q", m.Mode)
	}
	return nil
}

// decodeCheck decodes a check: code is required, id optional.
func decodeCheck(w *wireClient, m *ClientMessage) error {
	if len(w.Code) == 0 || json.Unmarshal(w.Code, &m.Code) != nil || string(w.Code) == "null" {
		return errors.New("a check needs \"code\", a string")
	}
	if len(m.Code) > MaxCheckCode {
		return fmt.Errorf("\"code\" is longer than %d bytes", MaxCheckCode)
	}
	if len(w.ID) > 0 && string(w.ID) != "null" {
		if json.Unmarshal(w.ID, &m.CheckID) != nil {
			return errors.New("\"id\" must be a string")
		}
		if len(m.CheckID) > MaxCheckID {
			return fmt.Errorf("\"id\" is longer than %d bytes", MaxCheckID)
		}
	}
	return nil
}

// number decodes a required JSON number field, truncating any fraction.
func number(field string, raw json.RawMessage) (float64, error) {
	if len(raw) == 0 {
		return 0, fmt.Errorf("%q is missing", field)
	}
	// A JSON number starts with '-' or a digit; this refuses "80", true
	// and null, which json.Unmarshal would turn into 0.
	var f float64
	if c := raw[0]; (c != '-' && (c < '0' || c > '9')) || json.Unmarshal(raw, &f) != nil {
		return 0, fmt.Errorf("%q must be a number", field)
	}
	return f, nil
}

func clamp(v, lo, hi float64) float64 {
	switch {
	case v != v || v < lo: // NaN cannot come from JSON, but never trust it
		return lo
	case v > hi:
		return hi
	}
	return v
}

// Queued tells a client that waits for a sandbox where it stands: sent
// before ready, when the position changes (at most twice a second) and
// at least every two seconds.
type Queued struct {
	Type     string `json:"type"`
	Position int    `json:"position"` // clients served before this one
	// ETA is the expected wait in whole seconds; absent when unknown.
	ETA int `json:"eta,omitempty"`
}

// Ready tells the client its sandbox is running and attached. It is sent once,
// before any terminal output.
type Ready struct {
	Type        string `json:"type"`
	Session     string `json:"session"`
	Instance    string `json:"instance"`
	IdleTimeout int    `json:"idle_timeout"`
	MaxLifetime int    `json:"max_lifetime"`
	// LifetimeLeft is how many of MaxLifetime's seconds remain: all of
	// them in a new session's ready, fewer after a resume. Absent when
	// there is no lifetime limit.
	LifetimeLeft int    `json:"lifetime_left,omitempty"`
	Runtime      string `json:"runtime"`
	// Toolchain is the session's toolchain, and Elixir and OTP the
	// versions its image holds (absent when unknown, as on a process
	// backend); none of them for viewers.
	Toolchain string `json:"toolchain,omitempty"`
	Elixir    string `json:"elixir,omitempty"`
	OTP       string `json:"otp,omitempty"`
	// Resume is a fresh single-use token for resuming this session after a
	// dropped connection; only when the hello asked for a resumable session.
	Resume string `json:"resume,omitempty"`
	// Recordings is "off" when the server records nothing (a hello's
	// record is then ignored); absent otherwise.
	Recordings string `json:"recordings,omitempty"`
	// Mode is "viewer" for a viewer, absent for the presenter.
	Mode string `json:"mode,omitempty"`
	// Class and Learner, in a class: the class's code and the learner's
	// token, which a later hello of the same person carries; Name is the
	// learner's name as the class knows it.
	Class   string `json:"class,omitempty"`
	Learner string `json:"learner,omitempty"`
	Name    string `json:"name,omitempty"`
	// Cols and Rows are the presenter's terminal size, for viewers only.
	Cols int `json:"cols,omitempty"`
	Rows int `json:"rows,omitempty"`
}

// Toolchain is one entry of GET /toolchains: a toolchain a hello may name.
type Toolchain struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Elixir      string `json:"elixir"` // versions its image holds; "" when unknown
	OTP         string `json:"otp"`
	// Packages maps each of its Debian packages to its version.
	Packages map[string]string `json:"packages"`
}

// Shared answers a share request.
type Shared struct {
	Type  string `json:"type"`
	Watch string `json:"watch"`
	URL   string `json:"url"`
}

// Viewers tells the presenter how many viewers watch.
type Viewers struct {
	Type  string `json:"type"`
	Count int    `json:"count"`
}

// Size tells a viewer the presenter's terminal size.
type Size struct {
	Type string `json:"type"`
	Cols int    `json:"cols"`
	Rows int    `json:"rows"`
}

// Checked answers a check, shaped like Exercism's results.json (version
// 3): Status is pass, fail or error; Message says why for error; Tests
// hold each test's name, status, message, output and task id. Messages
// and outputs are at most MaxCheckText bytes, Tests at most MaxCheckTests,
// and the whole event at most MaxCheckedEvent bytes; Truncated marks a cut.
type Checked struct {
	Type      string        `json:"type"`
	ID        string        `json:"id,omitempty"`
	Status    string        `json:"status"`
	Message   string        `json:"message,omitempty"`
	Tests     []CheckedTest `json:"tests"`
	Truncated bool          `json:"truncated,omitempty"`
}

// CheckedTest is one test of a Checked.
type CheckedTest struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message,omitempty"`
	Output    string `json:"output,omitempty"`
	TaskID    *int   `json:"task_id"`
	Truncated bool   `json:"truncated,omitempty"`
}

// Bounds of a checked event.
const (
	MaxCheckText    = 4 << 10
	MaxCheckTests   = 100
	MaxCheckedEvent = 64 << 10
)

// Warning announces that a limit will end the session soon.
type Warning struct {
	Type        string `json:"type"`
	Reason      string `json:"reason"`
	SecondsLeft int    `json:"seconds_left"`
}

// RecordingRefusedWarning is the warning a presenter whose recording was
// refused gets right after ready: Refused is "storage", "rate" or "error".
type RecordingRefusedWarning struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"` // WarnRecordingRefused
	Refused string `json:"refused"`
}

// Recording tells a client the session is recorded: its id, the cast and
// the replay page. DeleteToken goes to the presenter only.
type Recording struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	CastURL     string `json:"cast_url"`
	ReplayURL   string `json:"replay_url"`
	DeleteToken string `json:"delete_token,omitempty"`
}

// RecordingPaths are the paths of recording id's cast and replay page.
func RecordingPaths(id string) (cast, replay string) {
	return "/recordings/" + id + ".cast", "/replay/" + id
}

// RecordingStopped tells that the recording stopped while the session
// goes on; Reason is "size" (the byte bound).
type RecordingStopped struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// Exit reports why a session ended. Code is the sandbox's exit status, nil
// when none is known.
type Exit struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
	Code   *int   `json:"code"`
}

// Error refuses a connection before ready, or reports a protocol violation.
type Error struct {
	Type       string `json:"type"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

// WebSocket close codes, one per outcome. 1009 (frame too big) is sent by the
// WebSocket library itself.
const (
	CloseExited       = 1000
	CloseShutdown     = 1001
	CloseTooBig       = 1009
	CloseError        = 1011
	CloseIdleTimeout  = 4000
	CloseMaxLifetime  = 4001
	CloseCapacity     = 4002
	CloseProtocol     = 4004
	CloseUnavailable  = 4005
	CloseOOM          = 4006
	CloseForbidden    = 4003
	CloseRateLimited  = 4029
	CloseResumeFailed = 4010
	CloseNotFound     = 4011
	CloseLagging      = 4012
	CloseClassEnded   = 4013
	CloseEnded        = 1000 // the presenter ended the session, or revoked the link (viewers)
)

// Exit reasons.
const (
	ReasonExited      = "exited"
	ReasonIdleTimeout = "idle_timeout"
	ReasonMaxLifetime = "max_lifetime"
	ReasonOOM         = "oom"
	ReasonShutdown    = "shutdown"
	ReasonError       = "error"
	ReasonClosed      = "closed"   // viewers only: the presenter ended or left the session
	ReasonUnshared    = "unshared" // viewers only: the presenter revoked the watch link
	// ReasonClassEnded: the teacher ended the class, or removed the
	// learner, and with it every session of it.
	ReasonClassEnded = "class_ended"
)

// Watched tells a learner that the class's teacher watches the console.
type Watched struct {
	Type string `json:"type"`
	By   string `json:"by"` // "teacher"
}

// Message is a message from the class's teacher, shown on the page.
type Message struct {
	Type string `json:"type"`
	From string `json:"from"` // "teacher"
	Text string `json:"text"`
}

// TeacherConsole tells a learner that the class shows the teacher's
// console: a shared session, watched read-only with Watch (a viewer's
// hello) or at URL.
type TeacherConsole struct {
	Type  string `json:"type"`
	Watch string `json:"watch"`
	URL   string `json:"url"` // "/watch/<watch>"
}

// TeacherConsoleEnded tells a learner that the class no longer shows the
// teacher's console: Reason is "stopped" (the teacher stopped showing it)
// or "ended" (the teacher's console was unshared or ended).
type TeacherConsoleEnded struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// MaxMessage bounds a teacher's message, in characters.
const MaxMessage = 280

// ErrorCloseCode maps an error code to its close code.
func ErrorCloseCode(code string) int {
	switch code {
	case CodeCapacity:
		return CloseCapacity
	case CodeProtocol:
		return CloseProtocol
	case CodeUnavailable:
		return CloseUnavailable
	case CodeForbidden:
		return CloseForbidden
	case CodeRateLimited:
		return CloseRateLimited
	case CodeResumeFailed:
		return CloseResumeFailed
	case CodeNotFound:
		return CloseNotFound
	case CodeLagging:
		return CloseLagging
	}
	return CloseError
}
