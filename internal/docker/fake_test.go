package docker

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// fakeAPI is a Docker Engine in memory. Attach hands the adapter one end of
// a net.Pipe; the test plays the container on the other (container).
type fakeAPI struct {
	// Behaviour, set before use.
	pingErr   error
	imageErr  error
	createErr error
	// taken holds the containers that exist by name (for name conflicts).
	taken      map[string]container.InspectResponse
	attachErr  error
	startErr   error
	resizeErrs []error // the n-th resize fails with resizeErrs[n]; later ones succeed
	resizeErr  error   // when set, every resize fails with it
	inspect    container.InspectResponse
	inspectErr error
	list       []container.Summary
	listErr    error
	removeErr  map[string]error // by container id
	onStart    func()

	exit chan container.WaitResponse // the container's exit, reported to the wait

	mu         sync.Mutex
	calls      []string
	createCfg  *container.Config
	createHost *container.HostConfig
	createName string
	attachOpts container.AttachOptions
	waitCond   container.WaitCondition
	waitCtx    context.Context
	resizes    []container.ResizeOptions
	removed    []string
	removeOpts []container.RemoveOptions
	listOpts   container.ListOptions
	imageRef   string
	container  net.Conn // the container's end of the attach stream
}

var _ api = (*fakeAPI)(nil)

func newFakeAPI() *fakeAPI {
	return &fakeAPI{exit: make(chan container.WaitResponse, 1)}
}

func (f *fakeAPI) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeAPI) gotCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeAPI) Ping(ctx context.Context) (types.Ping, error) {
	f.record("ping")
	return types.Ping{APIVersion: "1.41"}, f.pingErr
}

func (f *fakeAPI) ImageList(context.Context, image.ListOptions) ([]image.Summary, error) {
	return nil, nil
}

func (f *fakeAPI) ImageRemove(context.Context, string, image.RemoveOptions) ([]image.DeleteResponse, error) {
	return nil, nil
}

func (f *fakeAPI) ImageInspect(ctx context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	f.record("image")
	f.mu.Lock()
	f.imageRef = ref
	f.mu.Unlock()
	if f.imageErr != nil {
		return image.InspectResponse{}, f.imageErr
	}
	return image.InspectResponse{ID: "sha256:feed"}, nil
}

func (f *fakeAPI) ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, name string) (container.CreateResponse, error) {
	f.record("create")
	f.mu.Lock()
	f.createCfg, f.createHost, f.createName = cfg, host, name
	f.mu.Unlock()
	if f.createErr != nil {
		return container.CreateResponse{}, f.createErr
	}
	if _, ok := f.taken[name]; ok {
		return container.CreateResponse{}, errdefs.Conflict(errors.New("name in use"))
	}
	return container.CreateResponse{ID: testID, Warnings: []string{"a warning"}}, nil
}

func (f *fakeAPI) ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error) {
	f.record("attach")
	if f.attachErr != nil {
		return types.HijackedResponse{}, f.attachErr
	}
	ours, theirs := net.Pipe()
	f.mu.Lock()
	f.attachOpts, f.container = opts, theirs
	f.mu.Unlock()
	return types.HijackedResponse{Conn: ours, Reader: bufio.NewReader(ours)}, nil
}

func (f *fakeAPI) ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	f.record("wait")
	f.mu.Lock()
	f.waitCond, f.waitCtx = cond, ctx
	f.mu.Unlock()
	resp, errs := make(chan container.WaitResponse, 1), make(chan error, 1)
	go func() { // as the real client: a cancelled context ends the wait with its error
		select {
		case r := <-f.exit:
			resp <- r
		case <-ctx.Done():
			errs <- ctx.Err()
		}
	}()
	return resp, errs
}

func (f *fakeAPI) ContainerStart(ctx context.Context, id string, _ container.StartOptions) error {
	f.record("start")
	if f.onStart != nil {
		f.onStart()
	}
	return f.startErr
}

func (f *fakeAPI) ContainerResize(ctx context.Context, id string, opts container.ResizeOptions) error {
	f.record("resize")
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.resizes)
	f.resizes = append(f.resizes, opts)
	if f.resizeErr != nil {
		return f.resizeErr
	}
	if n < len(f.resizeErrs) {
		return f.resizeErrs[n]
	}
	return nil
}

func (f *fakeAPI) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	f.record("inspect")
	if c, ok := f.taken[id]; ok {
		return c, nil
	}
	return f.inspect, f.inspectErr
}

func (f *fakeAPI) ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error {
	f.record("remove")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, id)
	f.removeOpts = append(f.removeOpts, opts)
	return f.removeErr[id]
}

func (f *fakeAPI) ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error) {
	f.record("list")
	f.mu.Lock()
	f.listOpts = opts
	f.mu.Unlock()
	return f.list, f.listErr
}

func (f *fakeAPI) containerEnd() net.Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.container
}

// newTestRuntime returns a Runtime over f configured as cmd/iexbox would.
func newTestRuntime(t *testing.T, f *fakeAPI, cfg Config) *Runtime {
	t.Helper()
	if cfg.Instance == "" {
		cfg.Instance = "test-inst"
	}
	return New(f, cfg, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
}

func oomState(oom bool) container.InspectResponse {
	return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{
		State: &container.State{OOMKilled: oom},
	}}
}

func (f *fakeAPI) ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error) {
	f.record("exec_create")
	return container.ExecCreateResponse{}, errors.ErrUnsupported
}

func (f *fakeAPI) ContainerExecAttach(ctx context.Context, execID string, opts container.ExecAttachOptions) (types.HijackedResponse, error) {
	f.record("exec_attach")
	return types.HijackedResponse{}, errors.ErrUnsupported
}

func (f *fakeAPI) ContainerExecStart(ctx context.Context, execID string, opts container.ExecStartOptions) error {
	f.record("exec_start")
	return errors.ErrUnsupported
}

func (f *fakeAPI) ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error) {
	f.record("exec_inspect")
	return container.ExecInspect{}, errors.ErrUnsupported
}
