package docker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"iexbox/internal/sandbox"

	"github.com/docker/docker/api/types/container"
)

// Resize retries: below API 1.42 the create call drops ConsoleSize, and a
// resize sent before the container's tty exists is refused, so the first
// size is retried briefly until it is accepted.
const (
	resizeAttempts = 20
	resizeBackoff  = 25 * time.Millisecond
)

// removeTimeout bounds a removal, which must happen even when the context
// that asked for the sandbox is long gone.
const removeTimeout = 10 * time.Second

// createTimeout bounds a create request, which is not cancelled with the
// context of whoever asked (see create).
const createTimeout = 30 * time.Second

// create creates a container. The request does not end with ctx: a create
// cancelled in flight can still make the container on the engine, under an
// id nobody learns and so nobody removes (a pool refill cut short by a
// shutdown left one behind). The caller removes the container if ctx has
// ended meanwhile, which its next call with ctx finds out.
func (r *Runtime) create(ctx context.Context, cfg *container.Config, host *container.HostConfig, name string) (container.CreateResponse, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	start := time.Now()
	created, err := r.api.ContainerCreate(ctx, cfg, host, nil, nil, name)
	r.observe("create", start, err)
	return created, err
}

// Start creates, attaches, starts and sizes a fresh container for one
// session, in the order that loses no output: attach and wait are
// registered before start, so iex's banner and first prompt are read. On
// any failure the container is removed before Start returns.
func (r *Runtime) Start(ctx context.Context, spec sandbox.Spec) (_ sandbox.Sandbox, err error) {
	user, releaseUser, err := r.user()
	if err != nil {
		return nil, err
	}
	leftover := false // a failed start whose container could not be removed
	defer func() {
		switch {
		case err == nil:
		case leftover: // Reap removes it once the engine answers, then frees its uid
			r.owners.Disown(spec.ID, releaseUser)
		default:
			r.owners.Disown(spec.ID, nil)
			releaseUser()
		}
	}()
	cfg := r.cfg.containerConfig(spec.ID)
	cfg.User = user
	if spec.Image != "" {
		cfg.Image = spec.Image
	}
	host, err := r.hostConfig(spec.Cols, spec.Rows, user)
	if err != nil {
		return nil, err
	}
	// Owned before it exists: Reap never takes a container mid-start.
	r.owners.Own(spec.ID)
	created, err := r.create(ctx, cfg, host, "iexbox-"+spec.ID)
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	id := created.ID
	log := r.log.With("session", spec.ID, "container", id[:12])
	for _, w := range created.Warnings {
		log.Debug("create warning", "warning", w)
	}
	defer func() {
		if err != nil {
			rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
			defer cancel()
			if rmErr := r.remove(rmCtx, id); rmErr != nil {
				log.Error("remove after failed start", "err", rmErr)
				leftover = true
			}
		}
	}()

	began := time.Now()
	hijack, err := r.api.ContainerAttach(ctx, id, container.AttachOptions{
		Stream: true, Stdin: true, Stdout: true, Stderr: true, DetachKeys: detachKeys,
	})
	r.observe("attach", began, err)
	if err != nil {
		return nil, fmt.Errorf("attach container: %w", err)
	}
	// The wait outlives ctx (a start request): it ends when the sandbox closes.
	waitCtx, stopWait := context.WithCancel(context.WithoutCancel(ctx))
	waitCh, waitErr := r.api.ContainerWait(waitCtx, id, container.WaitConditionNextExit)
	sb := &Sandbox{
		rt: r, id: id, session: spec.ID, user: user, log: log, releaseUser: releaseUser,
		conn: hijack.Conn, out: hijack.Reader,
		stopWait: stopWait, exited: make(chan struct{}),
	}
	go sb.watch(waitCh, waitErr)
	defer func() {
		if err != nil {
			stopWait()
			closeQuietly(hijack.Conn)
		}
	}()

	began = time.Now()
	err = r.api.ContainerStart(ctx, id, container.StartOptions{})
	r.observe("start", began, err)
	if err != nil {
		return nil, fmt.Errorf("start container: %w", err)
	}
	if err := sb.resizeUntilAccepted(ctx, spec.Cols, spec.Rows); err != nil {
		return nil, err
	}
	log.Debug("container started")
	return sb, nil
}

// user picks the uid:gid of a new sandbox; release frees it once the
// sandbox is removed.
func (r *Runtime) user() (user string, release func(), err error) {
	if r.cfg.UIDBase == 0 {
		return r.cfg.User, func() {}, nil
	}
	uid, err := r.uids.Take()
	if err != nil {
		return "", nil, err
	}
	return userSpec(uid), func() { r.uids.Give(uid) }, nil
}

func (s *Sandbox) resizeUntilAccepted(ctx context.Context, cols, rows int) error {
	var err error
	for range resizeAttempts {
		if err = s.Resize(ctx, cols, rows); err == nil {
			return nil
		}
		select {
		case <-s.exited: // iex died at once: let the session report it
			return nil
		case <-ctx.Done():
			return fmt.Errorf("resize container: %w", errors.Join(ctx.Err(), err))
		case <-time.After(resizeBackoff):
		}
	}
	return fmt.Errorf("resize container: %w", err)
}
