package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"

	"iexbox/internal/session"
)

// killTimeout bounds ending an apart program's process group.
const killTimeout = 5 * time.Second

// Exec runs a program in the Pod beside the terminal's, through pods/exec,
// with pipes; Read gets its stdout and stderr, merged.
//
// Apart cannot change the uid here: pods/exec runs as the Pod's user, and
// nothing in a Pod without privileges (no capabilities, no privilege
// escalation, so no setuid helper) can switch to the second uid. An apart
// program runs instead as the leader of a process group of its own
// (setsid), whose id it records in /tmp; Close kills that group, forks
// included. A fork that leaves the group, or a terminal program that
// signals it, is not contained as a separate uid would contain it.
func (s *Sandbox) Exec(ctx context.Context, spec session.ExecSpec) (session.Process, error) {
	if len(spec.Cmd) == 0 {
		return nil, errors.New("exec: no command")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	cmd := append(append([]string{"env", "-C", "/tmp"}, spec.Env...), spec.Cmd...)
	var group string // the file holding an apart program's process group
	if spec.Apart {
		group = "/tmp/.iexbox-apart-" + uuid.NewString()[:8]
		cmd = append([]string{"setsid", "-w", "/bin/sh", "-c", `echo $$ > ` + group + ` && exec "$@"`, "sh"}, cmd...)
	}
	inR, in := io.Pipe()
	out, outW := io.Pipe()
	streamCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p := &process{sb: s, group: group, in: in, out: out, stop: stop, exited: make(chan struct{})}
	began := time.Now()
	go func() {
		defer close(p.exited)
		err := s.rt.stream.stream(streamCtx, s.pod, &corev1.PodExecOptions{
			Container: containerName, Command: cmd, Stdin: true, Stdout: true, Stderr: true,
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
	group  string // apart: the file with its process group id
	in     *io.PipeWriter
	out    *io.PipeReader
	stop   context.CancelFunc
	exited chan struct{} // closed once the stream has ended
	code   int
	err    error

	closeOnce sync.Once
	closeErr  error
}

var _ session.Process = (*process)(nil)

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

// Close ends the stream and, for an apart program, kills its process
// group (closing an exec stream does not end the program).
func (p *process) Close() error {
	p.closeOnce.Do(func() {
		if p.group != "" {
			p.closeErr = p.killGroup()
		}
		p.stop()
		p.in.CloseWithError(io.ErrClosedPipe)
		p.out.CloseWithError(io.ErrClosedPipe)
		<-p.exited
	})
	return p.closeErr
}

// killGroup sends SIGKILL to the apart program's process group, from a
// second exec.
func (p *process) killGroup() error {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	script := `g=$(cat ` + p.group + `) && kill -KILL -- "-$g"; rm -f ` + p.group
	err := p.sb.rt.stream.stream(ctx, p.sb.pod, &corev1.PodExecOptions{
		Container: containerName, Command: []string{"/bin/sh", "-c", script}, Stdout: true, Stderr: true,
	}, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
	var code exec.CodeExitError
	if errors.As(err, &code) { // the group had ended already
		return nil
	}
	if err != nil {
		return fmt.Errorf("end apart program: %w", err)
	}
	return nil
}
