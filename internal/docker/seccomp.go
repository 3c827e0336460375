package docker

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// deniedSyscalls are allowed by Docker's default seccomp profile (some only
// with capabilities the sandbox never has) but never needed by a REPL, and
// each has a history of kernel exploits. Removing them from the allow-list
// makes them fail with EPERM, the profile's default action.
var deniedSyscalls = []string{
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"keyctl", "add_key", "request_key",
	"userfaultfd", "bpf", "perf_event_open",
	"unshare", "setns", "mount", "umount", "umount2", "pivot_root",
	"ptrace", "process_vm_readv", "process_vm_writev",
	"personality",
	"open_by_handle_at", "name_to_handle_at",
}

// seccompProfile is the sandbox's seccomp profile as Docker takes it in a
// security option: Docker's default minus deniedSyscalls, or, with
// dockerDefault, Docker's default as it is. Under gVisor the profile
// filters the calls the sandboxed program makes to gVisor's own kernel
// (runsc --oci-seccomp), which ignores a rule's errno and refuses with
// EPERM: the default's "clone3 fails with ENOSYS, so glibc falls back to
// clone" rule would then stop every thread (the BEAM cannot boot). There
// clone3 is allowed, since it reaches gVisor, not the host; for the same
// reason Docker's own default, which the daemon sends with that rule, is
// never left to the daemon under gVisor.
func seccompProfile(gvisor, dockerDefault bool) (string, error) {
	switch {
	case gvisor && dockerDefault:
		return gvisorDefaultProfile()
	case gvisor:
		return gvisorProfile()
	}
	return runcProfile()
}

var (
	runcProfile          = sync.OnceValues(func() (string, error) { return buildProfile(deniedSyscalls, false) })
	gvisorProfile        = sync.OnceValues(func() (string, error) { return buildProfile(deniedSyscalls, true) })
	gvisorDefaultProfile = sync.OnceValues(func() (string, error) { return buildProfile(nil, true) })
)

// buildProfile is Docker's default profile without the calls in deny,
// with clone3 allowed when allowClone3.
func buildProfile(deny []string, allowClone3 bool) (string, error) {
	p := seccomp.DefaultProfile()
	kept := p.Syscalls[:0]
	for _, sc := range p.Syscalls {
		sc.Names = slices.DeleteFunc(sc.Names, func(n string) bool {
			return slices.Contains(deny, n) || allowClone3 && n == "clone3"
		})
		if len(sc.Names) > 0 {
			kept = append(kept, sc)
		}
	}
	if allowClone3 {
		kept = append(kept, &seccomp.Syscall{LinuxSyscall: specs.LinuxSyscall{
			Names: []string{"clone3"}, Action: specs.ActAllow,
		}})
	}
	p.Syscalls = kept
	data, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode seccomp profile: %w", err)
	}
	return string(data), nil
}
