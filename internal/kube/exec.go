package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"iexbox/internal/sandbox"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

// killTimeout bounds ending the processes of an apart program.
const killTimeout = 5 * time.Second

// Exec runs a program in the Pod beside the terminal's, through pods/exec,
// with pipes; Read gets its stdout and stderr, merged. An Apart program
// runs in the Pod's second container, as the sandbox's second uid
// (pods/exec cannot change uid; a container can have its own), sharing
// /tmp with the terminal's container.
func (s *Sandbox) Exec(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Process, error) {
	if len(spec.Cmd) == 0 {
		return nil, errors.New("exec: no command")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	cmd := append(append([]string{"env", "-C", "/tmp"}, spec.Env...), spec.Cmd...)
	container := containerName
	if spec.Apart {
		container = apartContainer
	}
	inR, in := io.Pipe()
	out, outW := io.Pipe()
	streamCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p := &process{sb: s, apart: spec.Apart, in: in, out: out, stop: stop, exited: make(chan struct{})}
	began := time.Now()
	go func() {
		defer close(p.exited)
		err := s.rt.stream.stream(streamCtx, s.pod, &corev1.PodExecOptions{
			Container: container, Command: cmd, Stdin: true, Stdout: true, Stderr: true,
		}, remotecommand.StreamOptions{Stdin: inR, Stdout: outW, Stderr: outW})
		s.rt.observe("exec", began, err)
		var code exec.CodeExitError
		switch {
		case err == nil:
		case errors.As(err, &code):
			p.code = code.ExitStatus()
		case streamCtx.Err() != nil:
			p.err = fmt.Errorf("exec: %w", io.ErrClosedPipe)
		default:
			p.err = fmt.Errorf("exec: %w", err)
		}
		outW.CloseWithError(p.err) // nil: io.EOF
		inR.CloseWithError(io.ErrClosedPipe)
	}()
	return p, nil
}

// process is a program run by Exec.
type process struct {
	sb     *Sandbox
	apart  bool
	in     *io.PipeWriter
	out    *io.PipeReader
	stop   context.CancelFunc
	exited chan struct{} // closed once the stream has ended
	code   int
	err    error

	closeOnce sync.Once
	closeErr  error
}

var _ sandbox.Process = (*process)(nil)

func (p *process) Read(b []byte) (int, error)  { return p.out.Read(b) }
func (p *process) Write(b []byte) (int, error) { return p.in.Write(b) }
func (p *process) CloseWrite() error           { return p.in.Close() }

// Wait blocks until the program has exited and returns its exit code.
func (p *process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.exited:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return p.code, p.err
}

// Close ends the stream and, for an apart program, every process of the
// second uid, forks included (closing an exec stream does not end the
// program); the terminal's uid is untouched.
func (p *process) Close() error {
	p.closeOnce.Do(func() {
		if p.apart {
			p.closeErr = p.killApart()
		}
		p.stop()
		p.in.CloseWithError(io.ErrClosedPipe)
		p.out.CloseWithError(io.ErrClosedPipe)
		<-p.exited
	})
	return p.closeErr
}

// killApart ends every process of the apart container's uid and removes
// the files it left in /tmp (shared with the terminal's container, and
// counted against the Pod's memory), from a shell of that uid
// (sandbox.EndApart). The container's own first process is pid 1 of its
// namespace, which a signal from inside does not end.
func (p *process) killApart() error {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	err := p.sb.rt.stream.stream(ctx, p.sb.pod, &corev1.PodExecOptions{
		Container: apartContainer, Command: []string{"/bin/sh", "-c", sandbox.EndApart}, Stdout: true, Stderr: true,
	}, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		return fmt.Errorf("end apart programs: %w", err)
	}
	return nil
}
