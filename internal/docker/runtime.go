// Package docker runs sandboxes as hardened Docker containers. It is the only
// package that talks to the Docker Engine API, so the client library can be
// replaced without touching anything else.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"iexbox/internal/sandbox"
)

// Labels put on every container, so that a server finds its own containers
// (and only those) after a crash.
const (
	LabelInstance = "iexbox.instance"
	LabelSession  = "iexbox.session"
)

// ErrImageMissing is returned by Check when the sandbox image is absent.
var ErrImageMissing = sandbox.ErrImageMissing

// api is the part of the Docker client the adapter uses; *client.Client
// implements it and tests substitute a fake.
type api interface {
	Ping(ctx context.Context) (types.Ping, error)
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error)
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerResize(ctx context.Context, id string, opts container.ResizeOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, opts container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecStart(ctx context.Context, execID string, opts container.ExecStartOptions) error
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
}

var _ api = (*client.Client)(nil)

// Observer is told about every Docker Engine request (metrics). It must be
// safe for concurrent use.
type Observer interface {
	DockerRequest(op string, took time.Duration, err error)
}

type noObserver struct{}

func (noObserver) DockerRequest(string, time.Duration, error) {}

// observe reports one request that began at start.
func (r *Runtime) observe(op string, start time.Time, err error) {
	r.obs.DockerRequest(op, time.Since(start), err)
}

// Runtime starts sandboxes as containers of one Docker Engine. It is safe
// for concurrent use.
type Runtime struct {
	api  api
	cfg  Config
	log  *slog.Logger
	uids *sandbox.UIDs
	obs  Observer

	owners *sandbox.Owners // which containers a live Sandbox will remove (see Reap)
}

var _ sandbox.Runtime = (*Runtime)(nil)

// NewClient connects to the Docker Engine named by the environment
// (DOCKER_HOST and friends), negotiating the API version so that both old
// engines (API 1.41) and current ones work. The caller must Close it.
func NewClient() (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return cli, nil
}

// New returns a Runtime that starts containers described by cfg. obs may
// be nil.
func New(cli api, cfg Config, log *slog.Logger, obs Observer) *Runtime {
	cfg = cfg.withDefaults()
	if obs == nil {
		obs = noObserver{}
	}
	// Open replaces the uid range with one claimed on the engine.
	return &Runtime{api: cli, cfg: cfg, log: log, uids: sandbox.NewUIDs(cfg.UIDBase), obs: obs,
		owners: sandbox.NewOwners()}
}

// Name is the OCI runtime containers run under.
func (r *Runtime) Name() string { return r.cfg.Isolation }

// Check reports whether the Docker Engine answers and the sandbox image is
// present. The server never pulls: a missing image is ErrImageMissing.
func (r *Runtime) Check(ctx context.Context) error {
	if _, err := r.api.Ping(ctx); err != nil {
		return fmt.Errorf("docker engine: %w", err)
	}
	if _, err := r.api.ImageInspect(ctx, r.cfg.Image); err != nil {
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("%w: %s not found; build it with `make image`", ErrImageMissing, r.cfg.Image)
		}
		return fmt.Errorf("inspect image %s: %w", r.cfg.Image, err)
	}
	return nil
}

// Sweep force-removes every container this instance left behind (after a
// crash, say) and reports how many it removed. Containers of other
// instances sharing the engine are never touched. It is for start-up, when
// nothing of this instance is live yet; Reap is for later.
func (r *Runtime) Sweep(ctx context.Context) (int, error) {
	return r.sweep(ctx, func(list []container.Summary) []container.Summary { return list }, func(string) {})
}

// sweep lists the containers of this instance and force-removes,
// concurrently, those pick selects, telling gone the session label of each
// one removed. pick is called only once the list has succeeded.
func (r *Runtime) sweep(ctx context.Context, pick func([]container.Summary) []container.Summary, gone func(session string)) (int, error) {
	start := time.Now()
	list, err := r.api.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelInstance+"="+r.cfg.Instance)),
	})
	r.observe("list", start, err)
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		removed int
		errs    []error
	)
	for _, c := range pick(list) {
		wg.Go(func() {
			err := r.remove(ctx, c.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			removed++
			gone(c.Labels[LabelSession])
		})
	}
	wg.Wait()
	return removed, errors.Join(errs...)
}

// remove force-removes a container; one that is already gone (or being
// removed) counts as removed.
func (r *Runtime) remove(ctx context.Context, id string) error {
	start := time.Now()
	err := r.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	r.observe("remove", start, err)
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
		return fmt.Errorf("remove container %.12s: %w", id, err)
	}
	return nil
}

// closeQuietly closes c, for paths where the error has nowhere to go.
func closeQuietly(c io.Closer) { _ = c.Close() }
