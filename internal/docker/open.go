package docker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"iexbox/internal/cgroup"
	"iexbox/internal/sandbox"
)

// openTimeout bounds the engine checks, the probe and the sweep of Open;
// closeSweepTimeout the last sweep of Close.
const (
	openTimeout       = 30 * time.Second
	closeSweepTimeout = 30 * time.Second
)

// Footprints: the host memory one idle hardened iex costs, rounded up. The
// drop of MemAvailable per idle session, shim and kernel included, was
// 34.6 MiB under runc and 53.5 MiB under runsc (docs/benchmarks.md).
const (
	footprintRunc  = 48 << 20
	footprintRunsc = 64 << 20
)

// Options are what Open needs beyond the containers' Config.
type Options struct {
	// CgroupName is the parent cgroup of all sandboxes ("" for none),
	// bounded by SandboxesMemory (bytes, 0 for none) and SandboxesCPUs.
	CgroupName      string
	SandboxesMemory int64
	SandboxesCPUs   float64
	CgroupRoot      string // the cgroup file system; /sys/fs/cgroup when empty
}

// Backend is a Docker Engine opened as a sandbox.Backend: its Runtime,
// the warnings of its set-up, and the reaper removing leftovers while it
// is open. It is safe for concurrent use.
type Backend struct {
	*Runtime
	cli      interface{ Close() error }
	warnings []string
	capacity int64
	slot     *uidSlot

	stopReap context.CancelFunc
	reaped   sync.WaitGroup
}

var _ sandbox.Backend = (*Backend)(nil)

// Open connects to the Docker Engine named by the environment and makes it
// ready to serve: the parent cgroup, the engine and the image (never
// pulled), the isolation runtime (under "auto", runsc when a hardened
// probe container starts under it, else runc with a warning), a uid range
// no other instance on the engine holds, and the removal of what this
// instance left behind. The caller must Close the Backend.
func Open(ctx context.Context, cfg Config, opts Options, log *slog.Logger, obs Observer) (_ *Backend, err error) {
	cli, err := NewClient()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cli.Close()
		}
	}()
	return open(ctx, cli, cfg, opts, log, obs)
}

// open is Open on a given client, which it does not close.
func open(ctx context.Context, cli api, cfg Config, opts Options, log *slog.Logger, obs Observer) (*Backend, error) {
	b := &Backend{}
	if c, ok := cli.(interface{ Close() error }); ok {
		b.cli = c
	}
	if opts.CgroupName != "" {
		root := opts.CgroupRoot
		if root == "" {
			root = "/sys/fs/cgroup"
		}
		parent, err := cgroup.Setup(root, opts.CgroupName, opts.SandboxesMemory, opts.SandboxesCPUs)
		if err != nil {
			b.warn(log, "sandboxes are not bounded together (no parent cgroup): "+err.Error())
		} else {
			cfg.CgroupParent = parent.Path
			b.capacity = opts.SandboxesMemory
			log.Info("parent cgroup", "path", parent.Path, "memory", opts.SandboxesMemory, "cpus", opts.SandboxesCPUs)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	// The engine and the image first: a missing image would fail the probe
	// below too, and blame gVisor for it.
	if err := New(cli, cfg, log, obs).Check(ctx); err != nil {
		return nil, err
	}
	switch {
	case cfg.Isolation == "" || cfg.Isolation == "auto":
		cfg.Isolation = "runsc"
		if err := New(cli, cfg, log, obs).Probe(ctx); err != nil {
			cfg.Isolation = "runc"
			b.warn(log, "gVisor (runsc) is not usable here, sandboxes run under runc: "+err.Error())
		}
	case sandbox.GVisor(cfg.Isolation):
		// Asked for by name: a gVisor that does not work, or does not
		// enforce the profile, is refused rather than run.
		if err := New(cli, cfg, log, obs).Probe(ctx); err != nil {
			return nil, err
		}
	}
	if sandbox.GVisor(cfg.Isolation) && cfg.CgroupParent != "" && opts.SandboxesCPUs > 0 && opts.SandboxesCPUs < 1 {
		// gVisor's kernel runs inside the parent too: throttled below a
		// core, a boot was seen to take 8 to 24 s instead of about 1.5 s.
		b.warn(log, fmt.Sprintf("-sandboxes-cpus %g is under one core: gVisor sandboxes boot and answer slowly when all of them share it", opts.SandboxesCPUs))
	}
	rt := New(cli, cfg, log, obs)
	n, err := rt.Sweep(ctx)
	if err != nil {
		return nil, fmt.Errorf("remove leftover containers: %w", err)
	}
	if n > 0 {
		log.Info("removed leftover containers", "count", n)
	}
	if rt.cfg.UIDBase > 0 {
		slot, err := rt.claimUIDs(ctx)
		if err != nil {
			return nil, err
		}
		b.slot = slot
		rt.uids = sandbox.NewUIDs(slot.base)
		log.Info("sandbox uids", "from", slot.base, "to", slot.base+sandbox.UIDRange-1)
	}
	b.Runtime = rt
	reapCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	b.stopReap = stop
	b.reaped.Go(func() { reapLeftovers(reapCtx, rt.Reap, rt.Leftovers(), log) })
	return b, nil
}

func (b *Backend) warn(log *slog.Logger, w string) {
	log.Warn(w)
	b.warnings = append(b.warnings, w)
}

// Footprint is what one idle sandbox costs the host under the isolation
// runtime in use.
func (b *Backend) Footprint() int64 {
	if sandbox.GVisor(b.cfg.Isolation) {
		return footprintRunsc
	}
	return footprintRunc
}

// Capacity is the parent cgroup's memory limit, 0 without one.
func (b *Backend) Capacity() int64 { return b.capacity }

// Ready reports whether the engine answers and the image is there.
func (b *Backend) Ready(ctx context.Context) error { return b.Check(ctx) }

// Prompt is iex's first prompt: every sandbox runs the policy's iex.
func (b *Backend) Prompt() []byte { return []byte(sandbox.Prompt) }

// Warnings are the notes of Open for the operator.
func (b *Backend) Warnings() []string { return b.warnings }

// Close stops the reaper, removes whatever containers of the instance
// are still there (a removal that timed out under load while sessions
// ended, say), gives the uid range back once none is left, and closes the
// client. Sandboxes must be closed first.
func (b *Backend) Close() error {
	b.stopReap()
	b.reaped.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), closeSweepTimeout)
	defer cancel()
	n, err := b.Sweep(ctx)
	if n > 0 {
		b.log.Info("removed containers left at the end", "count", n)
	}
	switch {
	case err != nil: // they may still run under the range's uids: keep the claim
		b.log.Warn("containers may be left; the uid range stays claimed until this instance starts again", "err", err)
	case b.slot != nil:
		if err := b.remove(ctx, b.slot.container); err != nil {
			b.log.Warn("give back the uid range", "err", err)
		}
	}
	if b.cli != nil {
		return b.cli.Close()
	}
	return nil
}
