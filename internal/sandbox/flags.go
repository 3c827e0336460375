package sandbox

import "flag"

// PolicyFlags is the Policy as command-line flags: the fields a flag sets
// directly, and the text of those read once parsing is done (sizes, and
// two booleans that say what is kept rather than what is given up).
type PolicyFlags struct {
	Policy
	MemoryText, TmpfsText string // -memory and -tmpfs-size, such as 256m
	ReadOnly, Seccomp     bool   // the opposites of WritableRoot and EngineSeccomp
}

// RegisterFlags binds f to its flags in fs, with Default as their defaults.
func (f *PolicyFlags) RegisterFlags(fs *flag.FlagSet) {
	f.Policy = Default()
	p := &f.Policy
	fs.StringVar(&p.Image, "image", p.Image, "sandbox image; never pulled (build it with `make image`)")
	fs.StringVar(&p.Isolation, "runtime", p.Isolation, "isolation runtime of sandboxes: runsc (gVisor) or runc; auto picks runsc when a probe sandbox starts under it, else runc with a warning")
	fs.StringVar(&f.MemoryText, "memory", "256m", "memory limit per sandbox, swap included (Docker size: 256m, 1g)")
	fs.Float64Var(&p.CPUs, "cpus", p.CPUs, "CPU quota per sandbox, in cores")
	fs.Int64Var(&p.Pids, "pids", p.Pids, "process and thread limit per sandbox")
	fs.Int64Var(&p.NoFile, "nofile", p.NoFile, "open-file limit per sandbox")
	fs.StringVar(&f.TmpfsText, "tmpfs-size", "64m", "size of each writable tmpfs (/tmp and the home directory); mounted noexec")
	fs.BoolVar(&f.ReadOnly, "read-only", !p.WritableRoot, "read-only root file system in sandboxes")
	fs.IntVar(&p.UIDBase, "uid-base", p.UIDBase, "give every live sandbox uids of its own from a range above this one that no other server on the engine holds (0: all run as -user)")
	fs.StringVar(&p.User, "user", p.User, "uid:gid sandboxes run as when -uid-base is 0 (never root)")
	fs.BoolVar(&f.Seccomp, "seccomp", !p.EngineSeccomp, "apply iexbox's seccomp profile (Docker's default minus io_uring, keyctl, bpf, unshare, mount, ptrace, ...); false keeps Docker's default")
}

// Parse reads the sizes and the booleans into the Policy, once, and
// validates it. Call it after the flags are parsed.
func (f *PolicyFlags) Parse() (err error) {
	if f.Memory, err = ParseSize("memory", f.MemoryText, 32<<20); err != nil {
		return err
	}
	if f.TmpfsSize, err = ParseSize("tmpfs-size", f.TmpfsText, 1<<20); err != nil {
		return err
	}
	f.WritableRoot, f.EngineSeccomp = !f.ReadOnly, !f.Seccomp
	return f.Policy.Validate()
}
