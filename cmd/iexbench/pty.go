package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"

	"iexbox/internal/docker"
	"iexbox/internal/sandbox"
)

// ptySession is a program on a real pty, read as fast as it writes: the
// baseline a terminal attached to `docker run -it` sees.
type ptySession struct {
	*terminal
	cmd      *exec.Cmd
	tty      *os.File
	name     string // container name, "" for a local program
	exited   chan struct{}
	readDone chan struct{}
}

// startPty runs argv on a fresh pty of cols x rows. name is the container
// it creates, if any, removed by close.
func startPty(argv []string, cols, rows int, name string) (*ptySession, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &ptySession{terminal: newTerminal(), cmd: cmd, tty: tty, name: name,
		exited: make(chan struct{}), readDone: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	go p.read()
	return p, nil
}

func (p *ptySession) read() {
	defer close(p.readDone)
	buf := make([]byte, 64<<10)
	for {
		n, err := p.tty.Read(buf)
		if n > 0 {
			p.feed(buf[:n], time.Now())
		}
		if err != nil {
			p.end(err)
			return
		}
	}
}

// send types p.
func (p *ptySession) send(s string) error {
	_, err := p.tty.WriteString(s)
	return err
}

// close asks iex (or sh) to end with halt, waits up to grace for the
// program to exit, then kills it and force-removes its container.
func (p *ptySession) close(halt string, grace time.Duration) {
	if halt != "" {
		p.send(halt)
	}
	select {
	case <-p.exited:
	case <-time.After(grace):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
	p.tty.Close()
	<-p.readDone
	if p.name != "" {
		exec.Command("docker", "rm", "-f", p.name).Run()
	}
}

// sandboxFlags are the docker run flags of what the server gives every
// sandbox, read off the Docker adapter's own create request
// (docker.RunArgs): same runtime, network, read-only root, tmpfs, limits,
// environment and seccomp profile. Two differences remain: the baseline
// runs as uid 10001 where the server gives each sandbox its own uid, and it
// is not under the server's parent cgroup.
type sandboxFlags struct {
	policy  sandbox.Policy
	label   string // iexbench.run label value, to find leftovers
	seccomp string // the server's seccomp profile file, "" for Docker's default
}

// args is the docker run command line for cmd in image; mode is "-it" for
// a terminal, "-d" or "-dit" for a detached container, "" for a plain run.
func (f sandboxFlags) args(mode, name, image string, cmd ...string) []string {
	a := []string{"docker", "run", "--rm"}
	if mode != "" {
		a = append(a, mode)
	}
	if name != "" {
		a = append(a, "--name", name)
	}
	run, err := docker.RunArgs(docker.Config{Policy: f.policy, Network: "none", DNS: []string{"127.0.0.1"}}, f.policy.User, f.seccomp)
	if err != nil { // the policy was validated: only a broken build gets here
		panic(fmt.Sprintf("docker run flags: %v", err))
	}
	a = append(a, "--label", "iexbench.run="+f.label)
	a = append(a, run...)
	a = append(a, image)
	return append(a, cmd...)
}

var containerSeq atomic.Int64

// containerName is a unique name for a baseline container of this run.
func (f sandboxFlags) containerName() string {
	return fmt.Sprintf("%s-%d", f.label, containerSeq.Add(1))
}

// dockerRunIex starts `docker run -it ... iex` on a pty.
func (b *bench) dockerRunIex() (*ptySession, error) {
	name := b.sandbox.containerName()
	return startPty(b.sandbox.args("-it", name, b.cfg.image, "iex"), b.cfg.cols, b.cfg.rows, name)
}

// removeLeftovers force-removes every container this run's baselines
// created and reports how many there were.
func removeLeftovers(ctx context.Context, label string) (int, error) {
	ids, err := containersWithLabel(ctx, "iexbench.run="+label)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, "docker", append([]string{"rm", "-f"}, ids...)...).CombinedOutput()
	if err != nil {
		return len(ids), errors.Join(err, errors.New(string(out)))
	}
	return len(ids), nil
}
