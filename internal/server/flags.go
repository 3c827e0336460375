package server

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"iexbox/internal/admission"
	"iexbox/internal/pool"
	"iexbox/internal/recording"
)

// StackFlags are a Stack's settings as command-line flags: admission's
// and the pool's own, the server's, and the pool's sizing (-pool auto|N,
// -pool-max, -pool-memory), which spans the pool and the backend.
type StackFlags struct {
	Admission admission.Flags
	Pool      pool.Config
	Recording recording.Flags

	PoolSize   string // "auto" or a pinned size
	PoolMax    int
	PoolMemory float64

	Origins, TrustedProxies, Hosts string // comma-separated
	TokenMaxLifetime, QueueTimeout time.Duration

	Classes ClassFlags
}

// ClassFlags are the classes' settings (docs/classes.md).
type ClassFlags struct {
	TeacherKeys     string // a file: one key per line
	TeacherClasses  int
	LearnerSessions int
	Memory          float64 // a share of the sandboxes' memory
	WarmFor         time.Duration
	Retention       time.Duration
}

// RegisterFlags binds f to its flags in fs.
func (f *ClassFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.TeacherKeys, "teacher-keys", "", "a file of teacher keys, one per line, that may open classes (without it and a token secret, only this machine may)")
	fs.IntVar(&f.TeacherClasses, "teacher-classes", 5, "classes one teacher key or token may keep open at once")
	fs.IntVar(&f.LearnerSessions, "learner-sessions", 8, "sessions one learner of a class may have open at once")
	fs.Float64Var(&f.Memory, "class-memory", 0.5, "the share of the sandboxes' memory (-sandboxes-memory) the seats of all open classes may hold warm")
	fs.DurationVar(&f.WarmFor, "class-warm-for", 2*time.Hour, "how long after its start a class's seats are kept warm")
	fs.DurationVar(&f.Retention, "class-retention", 30*24*time.Hour, "classes, their learners and results are deleted this long after the class was opened (0: kept)")
}

// RegisterFlags binds f to its flags in fs.
func (f *StackFlags) RegisterFlags(fs *flag.FlagSet) {
	f.Admission.RegisterFlags(fs)
	f.Pool.RegisterFlags(fs)
	f.Recording.RegisterFlags(fs)
	f.Classes.RegisterFlags(fs)
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
	if err := f.Recording.Validate(); err != nil {
		return err
	}
	if f.TokenMaxLifetime < 0 || f.Classes.WarmFor < 0 || f.Classes.Retention < 0 {
		return errors.New("durations must not be negative")
	}
	if f.Classes.Memory < 0 || f.Classes.Memory > 1 {
		return errors.New("-class-memory is a fraction from 0 to 1")
	}
	if f.Classes.TeacherClasses < 0 || f.Classes.LearnerSessions < 0 {
		return errors.New("-teacher-classes and -learner-sessions must not be negative")
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
		Recording: f.Recording.Config,
		Classes: ClassConfig{MaxPerOwner: f.Classes.TeacherClasses, LearnerSessions: f.Classes.LearnerSessions,
			Memory: f.Classes.Memory, WarmFor: f.Classes.WarmFor, Retention: f.Classes.Retention},
	}
	if f.Classes.TeacherKeys != "" {
		text, err := os.ReadFile(f.Classes.TeacherKeys)
		if err != nil {
			return StackConfig{}, fmt.Errorf("-teacher-keys: %w", err)
		}
		if sc.Server.TeacherKeys, err = HashTeacherKeys(string(text)); err != nil {
			return StackConfig{}, fmt.Errorf("-teacher-keys %s: %w", f.Classes.TeacherKeys, err)
		}
		if len(sc.Server.TeacherKeys) == 0 {
			return StackConfig{}, fmt.Errorf("-teacher-keys %s: no key in the file", f.Classes.TeacherKeys)
		}
	}
	if f.Pool.Size < 0 {
		sc.PoolAuto = &PoolAuto{Memory: f.PoolMemory, Max: f.PoolMax}
	}
	return sc, nil
}
