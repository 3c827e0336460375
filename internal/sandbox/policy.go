// Package sandbox holds the policy every sandbox runs under, whatever the
// backend runs it: the image and program, the limits, the user, the root
// file system and the isolation runtime. It is parsed and validated once;
// each backend turns it into its own engine's objects, and nothing else
// restates it.
package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
)

// Policy is what a sandbox may do and what it runs. The zero value of a
// field takes its value in Default (see WithDefaults).
type Policy struct {
	Image string // sandbox image, never pulled
	// Isolation is the isolation runtime: "runsc" (gVisor's user-space
	// kernel), "runc", or "auto" until a backend has picked one. Another
	// registration of gVisor's runsc (other flags) is named runsc-<suffix>.
	Isolation string

	Memory    int64   // bytes; no swap beyond it
	CPUs      float64 // CPU quota in cores
	Pids      int64   // processes and threads (BEAM threads count)
	NoFile    int64   // open files; a huge value makes the BEAM allocate a giant port table
	TmpfsSize int64   // bytes, for /tmp and the home directory each
	ShmSize   int64   // bytes, for /dev/shm

	// UIDBase gives every live sandbox uids of its own from UIDBase up; 0
	// runs every sandbox as User instead. A uid without a passwd entry is
	// fine.
	UIDBase int
	User    string // uid:gid when UIDBase is 0

	WritableRoot bool // a writable root file system; read-only unless set
	// EngineSeccomp keeps the engine's default seccomp profile instead of
	// the project's stricter one.
	EngineSeccomp bool

	Home        string   // tmpfs home directory
	Cmd         []string // the program, iex
	ErlangFlags string   // ERL_AFLAGS for the BEAM
}

// DefaultErlangFlags fit the BEAM to a small sandbox: Ctrl-C goes to the
// shell (+Bc); one scheduler and no busy waiting, so an idle session costs
// no CPU; a process table of 131,072 entries instead of 1,048,576 (14 MiB
// less per idle session, measured; the memory limit allows fewer live
// processes than that anyway); two dirty I/O schedulers instead of ten, so
// the BEAM's threads leave the pids limit to the user.
const DefaultErlangFlags = "+Bc +S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none +P 131072 +SDio 2"

// IExCmd starts iex's BEAM as the iex, elixir and erl scripts would (their
// ELIXIR_CLI_DRY_RUN=1 output), without running them: under gVisor their
// forks and execs cost about 0.28 of a boot's 1.15 CPU-seconds. It needs
// erlexecEnv and the image's /opt/iexbox/erts-bin (sandbox-image/build.sh).
var IExCmd = []string{"/opt/iexbox/erts-bin/erlexec", "-noshell",
	"-elixir_root", "/usr/lib/elixir/lib", "-pa", "/usr/lib/elixir/lib/elixir/ebin",
	"-user", "elixir", "-extra", "--no-halt", "-e", warmUp, "+iex"}

// warmUp is evaluated before iex's first prompt. A fresh BEAM's first
// evaluation loads and compiles the parser, the expander and the
// inspector: under gVisor that is most of a second of CPU, which a
// class pressing Enter together on warm sandboxes would otherwise wait
// for all at once. Done here, it is spent while the sandbox boots.
const warmUp = `Code.eval_string("[1 + 1] |> Enum.map(&to_string/1)") |> inspect(pretty: true, syntax_colors: [number: :yellow])`

// erlexecEnv is what the erl script exports for erlexec.
var erlexecEnv = []string{"ROOTDIR=/usr/lib/erlang", "BINDIR=/opt/iexbox/erts-bin", "EMU=beam", "PROGNAME=erl"}

// Default is the policy of a sandbox nobody configured.
func Default() Policy {
	return Policy{
		Image:       "iexbox-sandbox:latest",
		Isolation:   "auto",
		Memory:      256 << 20,
		CPUs:        0.5,
		Pids:        64,
		NoFile:      1024,
		TmpfsSize:   64 << 20,
		ShmSize:     16 << 20,
		UIDBase:     100000,
		User:        "10001:10001",
		Home:        "/home/iex",
		Cmd:         IExCmd,
		ErlangFlags: DefaultErlangFlags,
	}
}

// WithDefaults fills every zero field from Default. UIDBase stays as given:
// 0 is a choice (every sandbox runs as User).
func (p Policy) WithDefaults() Policy {
	d := Default()
	pick := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	num := func(v *int64, def int64) {
		if *v == 0 {
			*v = def
		}
	}
	pick(&p.Image, d.Image)
	pick(&p.Isolation, d.Isolation)
	pick(&p.User, d.User)
	pick(&p.Home, d.Home)
	pick(&p.ErlangFlags, d.ErlangFlags)
	num(&p.Memory, d.Memory)
	num(&p.Pids, d.Pids)
	num(&p.NoFile, d.NoFile)
	num(&p.TmpfsSize, d.TmpfsSize)
	num(&p.ShmSize, d.ShmSize)
	if p.CPUs == 0 {
		p.CPUs = d.CPUs
	}
	if len(p.Cmd) == 0 {
		p.Cmd = d.Cmd
	}
	return p
}

// GVisor reports whether an isolation runtime is gVisor's runsc: "runsc",
// or runsc-<suffix>, a second registration with other flags (such as
// runsc-kvm).
func GVisor(isolation string) bool {
	return isolation == "runsc" || strings.HasPrefix(isolation, "runsc-") && len(isolation) > len("runsc-")
}

// Validate reports the first setting no sandbox may run with. Messages
// name the flag that sets the field.
func (p Policy) Validate() error {
	switch {
	case p.Isolation == "auto", p.Isolation == "runc", GVisor(p.Isolation):
	default:
		return fmt.Errorf("-runtime %q: want auto, runsc or runc (or runsc-<suffix>, another registration of gVisor)", p.Isolation)
	}
	if p.Memory < 32<<20 {
		return errors.New("-memory: want at least 32m")
	}
	if p.CPUs <= 0 || p.Pids <= 0 || p.NoFile <= 0 {
		return errors.New("-cpus, -pids and -nofile must be positive")
	}
	if p.TmpfsSize <= 0 {
		return errors.New("-tmpfs-size must be positive")
	}
	uid, _, _ := strings.Cut(p.User, ":")
	if p.UIDBase < 0 || p.UIDBase == 0 && (uid == "0" || uid == "root" || uid == "") {
		return errors.New("sandboxes never run as root: check -uid-base and -user")
	}
	return nil
}

// Env is the environment of the sandbox's programs.
func (p Policy) Env() []string {
	return append([]string{
		"HOME=" + p.Home,
		"LANG=C.UTF-8",
		"TERM=xterm-256color",
		"ERL_AFLAGS=" + p.ErlangFlags,
	}, erlexecEnv...)
}

// ParseSize reads a size such as 256m or 1g for the flag called name,
// and refuses one below least.
func ParseSize(name, s string, least int64) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n < least {
		return 0, fmt.Errorf("-%s %q: want a size of at least %s, such as 256m", name, s, units.BytesSize(float64(least)))
	}
	return n, nil
}

// HostMemory is the host's memory (MemTotal of /proc/meminfo), which
// sizes the defaults of what all sandboxes together may use.
func HostMemory() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no MemTotal in /proc/meminfo")
}
