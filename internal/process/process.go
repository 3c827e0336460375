// Package process runs a sandbox's program as a local process on a real
// pty. It isolates nothing: it exists for fast tests and for development
// (`-backend process -unsafe-no-sandbox`), and the server serves it on
// loopback only, never through a proxy nor to other sites.
package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"iexbox/internal/sandbox"

	"github.com/creack/pty"
)

// Runtime starts a command on a fresh pty for every session. It is also
// the process backend: there is no engine to check and nothing to sweep.
type Runtime struct {
	argv []string
	env  []string
}

var _ sandbox.Backend = (*Runtime)(nil)

// New returns a Runtime that runs argv with a minimal environment (see
// childEnv) plus env (KEY=value entries). The server's own environment,
// which may hold its token secret, never reaches the child.
func New(argv []string, env []string) *Runtime {
	return &Runtime{argv: argv, env: env}
}

// Name reports "process".
func (r *Runtime) Name() string { return "process" }

// Footprint is 0: a local process is not what the session cap is for.
func (r *Runtime) Footprint() int64 { return 0 }

// Capacity is unknown.
func (r *Runtime) Capacity() int64 { return 0 }

// Ready is always nil.
func (r *Runtime) Ready(context.Context) error { return nil }

// Prompt is nil: the program may be anything, ready once started.
func (r *Runtime) Prompt() []byte { return nil }

// Warnings says that nothing is isolated.
func (r *Runtime) Warnings() []string {
	return []string{"the process backend isolates nothing: development only"}
}

// Close has nothing to release.
func (r *Runtime) Close() error { return nil }

// childEnv is all of the server's environment a child gets: where to find
// programs, a home, a UTF-8 locale and the terminal type.
func childEnv(getenv func(string) string) []string {
	path := getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	home := getenv("HOME")
	if home == "" {
		home = os.TempDir()
	}
	return []string{"PATH=" + path, "HOME=" + home, "LANG=C.UTF-8", "TERM=xterm-256color"}
}

// Start runs the command in its own process group on a pty of the asked size.
func (r *Runtime) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	if len(r.argv) == 0 {
		return nil, errors.New("start process: no command")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start process: %w", err)
	}
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Env = append(childEnv(os.Getenv), r.env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(spec.Cols), Rows: uint16(spec.Rows)})
	if err != nil {
		return nil, fmt.Errorf("start process: %w", err)
	}
	p := &Sandbox{id: spec.ID, env: cmd.Env, cmd: cmd, tty: tty, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Sandbox is one process on a pty.
type Sandbox struct {
	id      string
	env     []string
	cmd     *exec.Cmd
	tty     *os.File
	exited  chan struct{}
	waitErr error

	closeOnce sync.Once

	// mu keeps Resize off a closed pty: its descriptor number may already
	// belong to another session's file.
	mu     sync.Mutex
	closed bool
}

var _ sandbox.Sandbox = (*Sandbox)(nil)

// ID is the session id it was started for.
func (p *Sandbox) ID() string { return p.id }

// Read reads terminal output. The pty reports EIO once the program and all
// its children have closed it; that is the end of output.
func (p *Sandbox) Read(b []byte) (int, error) {
	n, err := p.tty.Read(b)
	if errors.Is(err, syscall.EIO) {
		err = os.ErrClosed
	}
	return n, err
}

// Write sends keyboard input.
func (p *Sandbox) Write(b []byte) (int, error) { return p.tty.Write(b) }

// Resize sets the pty size.
func (p *Sandbox) Resize(_ context.Context, cols, rows int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return os.ErrClosed
	}
	return pty.Setsize(p.tty, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
}

// Wait blocks until the process has exited.
func (p *Sandbox) Wait(ctx context.Context) (sandbox.ExitStatus, error) {
	select {
	case <-p.exited:
	case <-ctx.Done():
		return sandbox.ExitStatus{}, ctx.Err()
	}
	code := p.cmd.ProcessState.ExitCode()
	if code < 0 { // killed by a signal
		return sandbox.ExitStatus{}, nil
	}
	return sandbox.ExitStatus{Code: &code}, nil
}

// Close kills the process group and closes the pty. It is idempotent.
func (p *Sandbox) Close() error {
	p.closeOnce.Do(func() {
		// pty.Start makes the child a session leader, so its pid is its
		// process group: kill children it left too.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.tty.Close()
	})
	return nil
}
