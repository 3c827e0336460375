package sandbox

import (
	"context"
	"errors"
	"io"
	"time"
)

// The contracts every backend implements: a Backend starts Sandboxes, a
// Sandbox runs one terminal program and may Exec more beside it, and a
// Checker (built by the exercises on a Sandbox) reports a CheckResult.
// They live here, beside the policy, so that backends depend on what a
// sandbox is rather than on the session that uses one.

// ErrNoRoom is wrapped by a Backend's Start when the engine has no room
// for one more sandbox now (a full cluster): the client may retry later.
var ErrNoRoom = errors.New("no room for a sandbox")

// Spec describes the sandbox a session asks for.
type Spec struct {
	ID   string // session id, recorded on the sandbox (a container label)
	Cols int
	Rows int
	// Image is the image of the session's toolchain; "" runs the
	// policy's own (the default toolchain). Only Image differs between
	// toolchains: the hardening and the limits are the policy's.
	Image string
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
	// Prompt is the output that tells its sandboxes' program is ready
	// for input (iex's Prompt); nil means ready once started.
	Prompt() []byte
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

// EndApart is the shell command, run as the apart uid inside the sandbox,
// that Process.Close of an Apart program runs on every backend: SIGKILL to
// every process of that uid (kill(-1) reaches all the caller may signal,
// spares the caller, and never ends a namespace's pid 1), then the files
// the uid left in the shared tmpfs mounts, which count against the
// sandbox's memory. It always exits 0.
const EndApart = `kill -KILL -1; find /tmp /dev/shm -xdev -user "$(id -u)" -delete 2>/dev/null; true`

// Process is a program started by Sandbox.Exec. Read returns its standard
// output and standard error, merged; Write feeds its standard input.
type Process interface {
	io.ReadWriter
	// CloseWrite closes its standard input.
	CloseWrite() error
	// Wait blocks until the program has exited and returns its exit code.
	Wait(ctx context.Context) (int, error)
	// Close ends the program (and, for an Apart program, every process of
	// its uid and the files it left in /tmp: EndApart) and releases its
	// streams. Idempotent; unblocks Read.
	Close() error
}

// ExitStatus is how a sandbox's program ended.
type ExitStatus struct {
	Code      *int // nil when unknown
	OOMKilled bool
}

// Checker runs an exercise's tests against a person's code, inside the
// session's sandbox but apart from its terminal program. A session has at
// most one, and calls Check from one goroutine at a time.
type Checker interface {
	// Check runs the tests against code and reports the outcome; a check
	// that does not compile, fails to run or outlives its time ends as
	// CheckError. It bounds itself: it waits at most CheckBootWait for
	// its runner to be ready, then gives the code its configured time, so
	// a runner still booting (a busy host) does not eat the code's time.
	// ctx only cuts it short. It never ends the sandbox.
	Check(ctx context.Context, code string) CheckResult
	// Close ends any check still running and whatever the checker keeps
	// ready in the sandbox. Idempotent.
	Close() error
}

// CheckBootWait is the longest a Check waits for its runner to be ready
// (the one before it ended and the next booted) before it answers that the
// checker is still starting; the code's own time starts after that.
const CheckBootWait = 30 * time.Second

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
