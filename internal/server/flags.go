package server

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"iexbox/internal/admission"
	"iexbox/internal/pool"
)

// StackFlags are a Stack's settings as command-line flags: admission's
// and the pool's own, the server's, and the pool's sizing (-pool auto|N,
// -pool-max, -pool-memory), which spans the pool and the backend.
type StackFlags struct {
	Admission admission.Flags
	Pool      pool.Config

	PoolSize   string // "auto" or a pinned size
	PoolMax    int
	PoolMemory float64

	Origins, TrustedProxies, Hosts string // comma-separated
	TokenMaxLifetime, QueueTimeout time.Duration
}

// RegisterFlags binds f to its flags in fs.
func (f *StackFlags) RegisterFlags(fs *flag.FlagSet) {
	f.Admission.RegisterFlags(fs)
	f.Pool.RegisterFlags(fs)
	fs.StringVar(&f.PoolSize, "pool", "auto", "warm sandboxes kept booted to their first prompt, each used by one session only: auto sizes the pool by the largest recent wave of arrivals within a memory bound; N pins it; 0 disables it (sandboxes boot on demand)")
	fs.IntVar(&f.PoolMax, "pool-max", 200, "most warm sandboxes -pool auto keeps")
	fs.Float64Var(&f.PoolMemory, "pool-memory", 0.3, "-pool auto: the share of the sandboxes' memory (-sandboxes-memory) idle warm sandboxes may take; it bounds the pool, and half of that bound is its floor")
	fs.DurationVar(&f.QueueTimeout, "queue-timeout", 60*time.Second, "longest a client waits in line for a sandbox before it is told capacity")
	fs.StringVar(&f.Origins, "origins", "", "comma-separated browser origins (scheme://host[:port]) allowed besides the server's own")
	fs.StringVar(&f.TrustedProxies, "trusted-proxies", "", "comma-separated proxy addresses or CIDRs whose X-Forwarded-For names the client")
	fs.StringVar(&f.Hosts, "hosts", "", "comma-separated host names the server answers to, others get 403 (default: the -addr host and the -origins hosts; loopback names and IP literals always)")
	fs.DurationVar(&f.TokenMaxLifetime, "token-max-lifetime", 24*time.Hour, "refuse access tokens whose expiry lies further ahead than this (0: no bound)")
}

// Validate refuses settings the stack cannot run with, and reads what
// flags give as text, once.
func (f *StackFlags) Validate() error {
	if err := f.Admission.Validate(); err != nil {
		return err
	}
	if f.TokenMaxLifetime < 0 {
		return errors.New("durations must not be negative")
	}
	if f.PoolSize == "auto" {
		f.Pool.Size = -1
	} else if n, err := strconv.Atoi(f.PoolSize); err != nil || n < 0 {
		return fmt.Errorf("-pool %q: want auto or a size (0 disables)", f.PoolSize)
	} else {
		f.Pool.Size = n
	}
	if f.Pool.MaxAge < 0 || f.PoolMax < 0 || f.QueueTimeout < 0 || f.Pool.QueueMax < 0 || f.Admission.Addresses.Waiting < 0 {
		return errors.New("-pool-max, -pool-max-age, -queue-timeout, -queue-max and -client-queue must not be negative")
	}
	if f.PoolMemory < 0 || f.PoolMemory > 1 || f.Admission.Addresses.FairFrom < 0 || f.Admission.Addresses.FairFrom > 1 {
		return errors.New("-pool-memory and -client-fair-from are fractions from 0 to 1")
	}
	return f.Pool.Validate()
}

// Public names the flags set that serve others than this machine.
func (f StackFlags) Public() []string {
	var public []string
	for _, p := range []struct {
		set  bool
		name string
	}{{f.Origins != "", "-origins"}, {f.Hosts != "", "-hosts"}, {f.TrustedProxies != "", "-trusted-proxies"}} {
		if p.set {
			public = append(public, p.name)
		}
	}
	return public
}

// Config is the stack's configuration from the flags, after Validate; addr
// is the listen address, whose host the server answers to by default. The
// caller fills in what no flag gives (instance, token secret, page ...).
func (f StackFlags) Config(addr string) (StackConfig, error) {
	origins, err := ParseOrigins(f.Origins)
	if err != nil {
		return StackConfig{}, err
	}
	proxies, err := ParseTrustedProxies(f.TrustedProxies)
	if err != nil {
		return StackConfig{}, err
	}
	hosts, err := ParseHosts(f.Hosts, addr, origins)
	if err != nil {
		return StackConfig{}, fmt.Errorf("-hosts: %w", err)
	}
	sc := StackConfig{
		Server: Config{Origins: origins, TrustedProxies: proxies, Hosts: hosts,
			TokenMaxLifetime: f.TokenMaxLifetime, QueueTimeout: f.QueueTimeout},
		Admission: f.Admission.Config,
		Pool:      f.Pool,
	}
	if f.Pool.Size < 0 {
		sc.PoolAuto = &PoolAuto{Memory: f.PoolMemory, Max: f.PoolMax}
	}
	return sc, nil
}
