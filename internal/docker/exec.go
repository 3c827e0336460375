package docker

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"iexbox/internal/sandbox"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// killTimeout bounds ending every process of an apart uid.
const killTimeout = 5 * time.Second

// Exec runs a program in the container beside iex, with pipes: its output
// has no tty, so the engine multiplexes stdout and stderr, and Read gets
// both, merged.
func (s *Sandbox) Exec(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Process, error) {
	user := s.user
	if spec.Apart {
		var err error
		if user, err = apartUser(s.user); err != nil {
			return nil, err
		}
	}
	began := time.Now()
	created, err := s.rt.api.ContainerExecCreate(ctx, s.id, container.ExecOptions{
		User:         user,
		Env:          spec.Env,
		Cmd:          spec.Cmd,
		WorkingDir:   "/tmp",
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
	})
	s.rt.observe("exec", began, err)
	if err != nil {
		return nil, fmt.Errorf("create exec: %w", err)
	}
	began = time.Now()
	hijack, err := s.rt.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	s.rt.observe("exec_attach", began, err)
	if err != nil {
		return nil, fmt.Errorf("attach exec: %w", err)
	}
	outR, outW := io.Pipe()
	p := &process{sb: s, exec: created.ID, user: user, apart: spec.Apart, hijack: hijack, out: outR, copied: make(chan struct{})}
	go func() { // the one reader of the stream
		defer close(p.copied)
		_, err := stdcopy.StdCopy(outW, outW, hijack.Reader)
		outW.CloseWithError(err) // nil: io.EOF
	}()
	return p, nil
}

// process is a program run by Exec.
type process struct {
	sb     *Sandbox
	exec   string
	user   string
	apart  bool
	hijack types.HijackedResponse
	out    *io.PipeReader
	copied chan struct{} // closed once the program's output has ended

	closeOnce sync.Once
}

var _ sandbox.Process = (*process)(nil)

func (p *process) Read(b []byte) (int, error)  { return p.out.Read(b) }
func (p *process) Write(b []byte) (int, error) { return p.hijack.Conn.Write(b) }
func (p *process) CloseWrite() error           { return p.hijack.CloseWrite() }

// Wait waits for the program's output to end (it has exited, or closed
// both streams and run on, which Close ends) and reports its exit code.
func (p *process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.copied:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	for {
		info, err := p.sb.rt.api.ContainerExecInspect(ctx, p.exec)
		if err != nil {
			return 0, fmt.Errorf("inspect exec: %w", err)
		}
		if !info.Running {
			return info.ExitCode, nil
		}
		select { // output closed a moment before the exit is recorded
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Close ends the program. For an apart program that is every process of
// its uid, forks and all, killed by a process of the same uid (the engine
// cannot signal an exec); the terminal's uid is untouched.
func (p *process) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.hijack.Close()
		p.out.CloseWithError(io.ErrClosedPipe)
		if p.apart {
			err = p.sb.killUser(p.user)
		}
	})
	return err
}

// killUser sends SIGKILL to every process of user in the container, from
// a shell of that user: kill(-1) reaches all processes the caller may
// signal, that is those of its own uid, and spares the caller. Then it
// removes the files that uid left in /tmp and /dev/shm.
func (s *Sandbox) killUser(user string) error {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	created, err := s.rt.api.ContainerExecCreate(ctx, s.id, container.ExecOptions{
		User: user,
		Cmd:  []string{"sh", "-c", sandbox.EndApart},
	})
	if err == nil {
		err = s.rt.api.ContainerExecStart(ctx, created.ID, container.ExecStartOptions{Detach: true})
	}
	for err == nil {
		var info container.ExecInspect
		if info, err = s.rt.api.ContainerExecInspect(ctx, created.ID); err == nil && !info.Running {
			return nil
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	return fmt.Errorf("end processes of %s: %w", user, err)
}
