package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"iexbox/internal/sandbox"
)

// Exec runs a program beside the terminal's, in a process group of its own
// so that Close ends it and every process it started. Apart cannot change
// the uid of an unprivileged server: the group stands in for it.
func (p *Sandbox) Exec(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Process, error) {
	if len(spec.Cmd) == 0 {
		return nil, errors.New("exec: no command")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	cmd := exec.Command(spec.Cmd[0], spec.Cmd[1:]...)
	cmd.Env = append(append([]string(nil), p.env...), spec.Env...)
	cmd.Dir = os.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	outR, outW := io.Pipe()
	cmd.Stdout, cmd.Stderr = outW, outW
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	proc := &process{cmd: cmd, stdin: stdin, out: outR, exited: make(chan struct{})}
	go func() {
		proc.waitErr = cmd.Wait()
		outW.Close()
		close(proc.exited)
	}()
	return proc, nil
}

// process is a program run by Exec.
type process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     *io.PipeReader
	exited  chan struct{}
	waitErr error
	once    sync.Once
}

func (p *process) Read(b []byte) (int, error)  { return p.out.Read(b) }
func (p *process) Write(b []byte) (int, error) { return p.stdin.Write(b) }
func (p *process) CloseWrite() error           { return p.stdin.Close() }

func (p *process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.exited:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return p.cmd.ProcessState.ExitCode(), nil
}

// Close kills the program's process group.
func (p *process) Close() error {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		p.out.CloseWithError(io.ErrClosedPipe)
		p.stdin.Close()
	})
	return nil
}
