package docker

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"iexbox/internal/sandbox"

	"github.com/docker/docker/api/types/container"
)

// Sandbox is one running container attached over a hijacked connection. A
// container with a tty has a single raw output stream, so output is read as
// is (never demultiplexed). It is safe for one reader and one writer at a
// time; Resize and Close may be called concurrently with both.
type Sandbox struct {
	rt      *Runtime
	id      string // the container's
	session string // its iexbox.session label
	user    string // uid:gid of its terminal program
	log     *slog.Logger

	conn net.Conn      // stdin, and the stream's lifetime
	out  *bufio.Reader // stdout and stderr, merged by the tty

	stopWait  context.CancelFunc
	exited    chan struct{} // closed once the wait has answered
	status    container.WaitResponse
	statusErr error

	releaseUser func() // frees the sandbox's uid once it is removed

	closeOnce sync.Once
	closeErr  error
}

var _ sandbox.Sandbox = (*Sandbox)(nil)

// ID is the id of the session the container was created for.
func (s *Sandbox) ID() string { return s.session }

// ContainerID is the container's id.
func (s *Sandbox) ContainerID() string { return s.id }

// Read reads terminal output.
func (s *Sandbox) Read(p []byte) (int, error) { return s.out.Read(p) }

// Write sends keyboard input.
func (s *Sandbox) Write(p []byte) (int, error) { return s.conn.Write(p) }

// Resize sets the tty size.
func (s *Sandbox) Resize(ctx context.Context, cols, rows int) error {
	start := time.Now()
	err := s.rt.api.ContainerResize(ctx, s.id, container.ResizeOptions{Height: uint(rows), Width: uint(cols)})
	s.rt.observe("resize", start, err)
	return err
}

// watch records the container's exit, reported by the wait registered
// before start.
func (s *Sandbox) watch(waitCh <-chan container.WaitResponse, errCh <-chan error) {
	defer close(s.exited)
	select {
	case s.status = <-waitCh:
		if s.status.Error != nil {
			s.statusErr = fmt.Errorf("wait container: %s", s.status.Error.Message)
		}
	case err := <-errCh:
		s.statusErr = fmt.Errorf("wait container: %w", err)
	}
}

// Wait blocks until the container has exited and reports its status,
// including whether the kernel OOM-killed it.
func (s *Sandbox) Wait(ctx context.Context) (sandbox.ExitStatus, error) {
	select {
	case <-s.exited:
	case <-ctx.Done():
		return sandbox.ExitStatus{}, ctx.Err()
	}
	if s.statusErr != nil {
		return sandbox.ExitStatus{}, s.statusErr
	}
	code := int(s.status.StatusCode)
	st := sandbox.ExitStatus{Code: &code}
	info, err := s.rt.api.ContainerInspect(ctx, s.id)
	if err != nil {
		return st, fmt.Errorf("inspect container: %w", err)
	}
	st.OOMKilled = info.State != nil && info.State.OOMKilled
	return st, nil
}

// Close closes the stream and force-removes the container, with its own
// bounded context: the one that started the sandbox is usually gone. It is
// idempotent and safe for concurrent use.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		closeQuietly(s.conn)
		ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
		defer cancel()
		s.closeErr = s.rt.remove(ctx, s.id)
		if s.closeErr == nil {
			s.rt.owners.Disown(s.session, nil)
			s.releaseUser()
		} else { // Reap removes it once the engine answers, then frees its uid
			s.rt.owners.Disown(s.session, s.releaseUser)
		}
		s.stopWait()
		s.log.Debug("container removed")
	})
	return s.closeErr
}
