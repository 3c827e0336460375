// Command sysprobe makes the system calls iexbox's seccomp profile removes,
// each with arguments that would succeed (or fail for a reason other than
// the filter) if the call were allowed, and prints one line per call:
// its name and the errno it got, or "ok". The e2e suite copies it into a
// test-only copy of the sandbox image, so that the calls come from inside a
// real session as any native code there would make them.
//
// It is built for linux/amd64 only, with CGO_ENABLED=0 (a static binary).
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// Numbers from the x86_64 system call table.
const (
	sysPtrace          = 101
	sysPersonality     = 135
	sysPivotRoot       = 155
	sysMount           = 165
	sysUmount2         = 166
	sysAddKey          = 248
	sysRequestKey      = 249
	sysKeyctl          = 250
	sysUnshare         = 272
	sysPerfEventOpen   = 298
	sysNameToHandleAt  = 303
	sysOpenByHandleAt  = 304
	sysSetns           = 308
	sysProcessVMReadv  = 310
	sysBPF             = 321
	sysUserfaultfd     = 323
	sysIOURingSetup    = 425
	sysIOURingEnter    = 426
	sysIOURingRegister = 427
	sysClone3          = 435
)

func cstr(s string) uintptr {
	b := append([]byte(s), 0)
	return uintptr(unsafe.Pointer(&b[0]))
}

// probes are in the order they are printed.
var probes = []struct {
	name string
	call func() (uintptr, syscall.Errno)
}{
	{"io_uring_setup", func() (uintptr, syscall.Errno) {
		var params [120]byte
		r, _, e := syscall.RawSyscall(sysIOURingSetup, 1, uintptr(unsafe.Pointer(&params[0])), 0)
		return r, e
	}},
	{"io_uring_enter", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall6(sysIOURingEnter, ^uintptr(0), 0, 0, 0, 0, 0) // fd -1: EBADF if allowed
		return r, e
	}},
	{"io_uring_register", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall6(sysIOURingRegister, ^uintptr(0), 0, 0, 0, 0, 0)
		return r, e
	}},
	{"keyctl", func() (uintptr, syscall.Errno) {
		// KEYCTL_GET_KEYRING_ID of the session keyring.
		r, _, e := syscall.RawSyscall(sysKeyctl, 0, ^uintptr(2), 1)
		return r, e
	}},
	{"add_key", func() (uintptr, syscall.Errno) {
		payload := []byte("x")
		r, _, e := syscall.RawSyscall6(sysAddKey, cstr("user"), cstr("iexbox"),
			uintptr(unsafe.Pointer(&payload[0])), 1, ^uintptr(2), 0)
		return r, e
	}},
	{"request_key", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall6(sysRequestKey, cstr("user"), cstr("iexbox"), 0, 0, 0, 0)
		return r, e
	}},
	{"userfaultfd", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall(sysUserfaultfd, 1 /* UFFD_USER_MODE_ONLY */, 0, 0)
		return r, e
	}},
	{"bpf", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall(sysBPF, 0, 0, 0) // BPF_MAP_CREATE with no attributes
		return r, e
	}},
	{"perf_event_open", func() (uintptr, syscall.Errno) {
		var attr [128]byte
		attr[4] = 128 // size; type 0 (hardware), config 0 (cycles) of this process
		r, _, e := syscall.RawSyscall6(sysPerfEventOpen, uintptr(unsafe.Pointer(&attr[0])), 0, ^uintptr(0), ^uintptr(0), 0, 0)
		return r, e
	}},
	{"unshare", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall(sysUnshare, syscall.CLONE_NEWUSER, 0, 0)
		return r, e
	}},
	{"setns", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall(sysSetns, ^uintptr(0), 0, 0) // fd -1: EBADF if allowed
		return r, e
	}},
	{"mount", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall6(sysMount, cstr("none"), cstr("/tmp"), cstr("tmpfs"), 0, 0, 0)
		return r, e
	}},
	{"umount2", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall(sysUmount2, cstr("/tmp"), 0, 0)
		return r, e
	}},
	{"pivot_root", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall(sysPivotRoot, cstr("/tmp"), cstr("/tmp"), 0)
		return r, e
	}},
	{"ptrace", func() (uintptr, syscall.Errno) {
		// PEEKDATA of a process this one does not trace: ESRCH if allowed.
		// (TRACEME would stop this process at its next signal.)
		r, _, e := syscall.RawSyscall6(sysPtrace, syscall.PTRACE_PEEKDATA, uintptr(os.Getppid()), 0, 0, 0, 0)
		return r, e
	}},
	{"process_vm_readv", func() (uintptr, syscall.Errno) {
		// Zero iovecs of this very process: 0 if allowed.
		r, _, e := syscall.RawSyscall6(sysProcessVMReadv, uintptr(os.Getpid()), 0, 0, 0, 0, 0)
		return r, e
	}},
	{"personality", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall(sysPersonality, 0xffffffff, 0, 0) // query only
		return r, e
	}},
	{"name_to_handle_at", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall6(sysNameToHandleAt, ^uintptr(99), cstr("/"), 0, 0, 0, 0) // AT_FDCWD, no buffer: EFAULT if allowed
		return r, e
	}},
	{"open_by_handle_at", func() (uintptr, syscall.Errno) {
		r, _, e := syscall.RawSyscall(sysOpenByHandleAt, ^uintptr(99), 0, 0)
		return r, e
	}},
}

// namespaces are the flags clone3 is asked for, one at a time, after the
// probes above: seccomp cannot read clone3's flags (they sit behind a
// pointer), so only the kernel that receives the call can refuse them.
var namespaces = []struct {
	name string
	flag uint64
}{
	{"newuser", syscall.CLONE_NEWUSER},
	{"newns", syscall.CLONE_NEWNS},
	{"newpid", syscall.CLONE_NEWPID},
	{"newnet", syscall.CLONE_NEWNET},
	{"newuts", syscall.CLONE_NEWUTS},
	{"newipc", syscall.CLONE_NEWIPC},
	{"newcgroup", 0x02000000},
}

// clone3 forks a child with flags that exits at once, and waits for it.
func clone3(flags uint64) syscall.Errno {
	// struct clone_args, first version (64 bytes): flags, pidfd,
	// child_tid, parent_tid, exit_signal, stack, stack_size, tls. No stack:
	// the child goes on on a copy of this one, as after fork.
	var args [8]uint64
	args[0] = flags
	args[4] = uint64(syscall.SIGCHLD)
	syscall.ForkLock.Lock()
	pid, _, e := syscall.RawSyscall(sysClone3, uintptr(unsafe.Pointer(&args[0])), unsafe.Sizeof(args), 0)
	if e == 0 && pid == 0 { // the child: nothing but exit
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
	syscall.ForkLock.Unlock()
	if e != 0 {
		return e
	}
	var ws syscall.WaitStatus
	syscall.Wait4(int(pid), &ws, 0, nil)
	return 0
}

func main() {
	for _, p := range probes {
		if _, errno := p.call(); errno != 0 {
			fmt.Printf("%s %s\n", p.name, errnoName(errno))
		} else {
			fmt.Printf("%s ok\n", p.name)
		}
	}
	for _, ns := range namespaces {
		if errno := clone3(ns.flag); errno != 0 {
			fmt.Printf("clone3_%s %s\n", ns.name, errnoName(errno))
		} else {
			fmt.Printf("clone3_%s ok\n", ns.name)
		}
	}
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.EPERM:
		return "EPERM"
	case syscall.ENOSYS:
		return "ENOSYS"
	case syscall.EACCES:
		return "EACCES"
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.EBADF:
		return "EBADF"
	case syscall.EFAULT:
		return "EFAULT"
	case syscall.ENOENT:
		return "ENOENT"
	case syscall.EOPNOTSUPP:
		return "EOPNOTSUPP"
	case syscall.ENOKEY:
		return "ENOKEY"
	case syscall.ESRCH:
		return "ESRCH"
	}
	return fmt.Sprintf("errno%d", int(e))
}
