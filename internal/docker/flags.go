package docker

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"strings"

	"iexbox/internal/flagenv"
	"iexbox/internal/sandbox"
)

// Flags are the Docker backend's own settings as command-line flags; the
// sandbox policy has flags of its own (sandbox.PolicyFlags).
type Flags struct {
	Network         string
	UnsafeNetwork   bool
	DNS             string // comma-separated
	CgroupParent    string
	SandboxesMemory string // a size; "" for three quarters of the host's
	SandboxesCPUs   float64
}

// RegisterFlags binds f to its flags in fs.
func (f *Flags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.Network, "network", "none", "Docker network mode of sandboxes; host and container:<name> (the host's or another container's network) are refused without -unsafe-network")
	fs.BoolVar(&f.UnsafeNetwork, "unsafe-network", false, "allow -network host and container:<name>: every sandbox then reaches what the host (or that container) reaches")
	fs.StringVar(&f.DNS, "dns", "127.0.0.1", "comma-separated resolvers for sandboxes; loopback means no query can leave")
	fs.StringVar(&f.CgroupParent, "cgroup-parent", "iexbox", "parent cgroup of all sandboxes, whose limits bound them together (\"\": Docker's default, no shared bound)")
	fs.StringVar(&f.SandboxesMemory, "sandboxes-memory", "", "memory of all sandboxes together (default: three quarters of the host's)")
	fs.Float64Var(&f.SandboxesCPUs, "sandboxes-cpus", 0, "CPU cores of all sandboxes together (default: all but half a core, kept for dockerd and the server)")
}

// CheckNetwork refuses a network that shares the host's or another
// container's unless -unsafe-network asks for it.
func (f Flags) CheckNetwork() error {
	if (f.Network == "host" || strings.HasPrefix(f.Network, "container:")) && !f.UnsafeNetwork {
		return fmt.Errorf("-network %q gives every sandbox the network of the host or of another container (its loopback services included): refused without -unsafe-network", f.Network)
	}
	return nil
}

// Options reads the bounds of all sandboxes together, once, filling in
// the defaults from the host.
func (f Flags) Options() (opts Options, err error) {
	if f.SandboxesMemory != "" {
		if opts.SandboxesMemory, err = sandbox.ParseSize("sandboxes-memory", f.SandboxesMemory, 64<<20); err != nil {
			return opts, err
		}
	} else if total, err := sandbox.HostMemory(); err == nil {
		opts.SandboxesMemory = total / 4 * 3
	}
	if f.SandboxesCPUs < 0 {
		return opts, errors.New("-sandboxes-cpus must not be negative")
	}
	opts.SandboxesCPUs = f.SandboxesCPUs
	if opts.SandboxesCPUs == 0 {
		opts.SandboxesCPUs = max(float64(runtime.NumCPU())-0.5, 0.5)
	}
	opts.CgroupName = f.CgroupParent
	return opts, nil
}

// Config is the backend's configuration from the flags, over policy p.
func (f Flags) Config(p sandbox.Policy, instance string) Config {
	return Config{Policy: p, Instance: instance, Network: f.Network, DNS: flagenv.List(f.DNS)}
}
