package docker

import (
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// Config describes the containers a Runtime starts: image, limits and
// hardening. The zero value of a field takes the safe default.
type Config struct {
	Image    string // sandbox image, never pulled
	Runtime  string // OCI runtime: "runc" or "runsc"
	Instance string // value of the iexbox.instance label

	Memory    int64   // bytes; memory+swap is the same, so no swap
	CPUs      float64 // CPU quota in cores
	Pids      int64   // process and thread limit (BEAM threads count)
	NoFile    int64   // open files; a huge value makes the BEAM allocate a giant port table
	TmpfsSize int64   // bytes, for /tmp and the home directory each
	ShmSize   int64   // bytes, for /dev/shm

	// UIDBase gives every live sandbox its own uid from UIDBase up; 0 runs
	// every sandbox as User instead. A uid without a passwd entry is fine.
	UIDBase int
	User    string // uid:gid when UIDBase is 0

	Home          string   // tmpfs home directory
	Network       string   // Docker network mode
	WritableRoot  bool     // a writable root file system (read-only unless set)
	DockerSeccomp bool     // Docker's default seccomp profile instead of the stricter own one
	CgroupParent  string   // parent cgroup bounding all sandboxes together; "" for Docker's
	DNS           []string // resolvers; loopback so no query can leave
	Cmd           []string // the program, iex
	ErlangFlags   string   // ERL_AFLAGS for the BEAM
}

// Defaults for the fields of Config.
const (
	DefaultImage = "iexbox-sandbox:latest"
	// DefaultErlangFlags fit the BEAM to a small sandbox: Ctrl-C goes to
	// the shell (+Bc); one scheduler and no busy waiting, so an idle
	// session costs no CPU; a process table of 131,072 entries instead of
	// 1,048,576 (14 MiB less per idle session, measured; the memory limit
	// allows fewer live processes than that anyway); two dirty I/O
	// schedulers instead of ten, so the BEAM's threads leave the pids limit
	// to the user.
	DefaultErlangFlags = "+Bc +S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none +P 131072 +SDio 2"
)

// detachKeys is a sequence nobody types, so that Ctrl-P (IEx history) and
// every other key reach iex instead of detaching the stream (moby#32895).
const detachKeys = "ctrl-@,ctrl-^,ctrl-@,ctrl-_,ctrl-@,ctrl-^,ctrl-@,ctrl-_"

func (c Config) withDefaults() Config {
	set := func(p *int64, v int64) {
		if *p == 0 {
			*p = v
		}
	}
	set(&c.Memory, 256<<20)
	set(&c.Pids, 64)
	set(&c.NoFile, 1024)
	set(&c.TmpfsSize, 64<<20)
	set(&c.ShmSize, 16<<20)
	if c.CPUs == 0 {
		c.CPUs = 0.5
	}
	if c.Image == "" {
		c.Image = DefaultImage
	}
	if c.Runtime == "" {
		c.Runtime = "runc"
	}
	if c.User == "" {
		c.User = "10001:10001"
	}
	if c.Home == "" {
		c.Home = "/home/iex"
	}
	if c.Network == "" {
		c.Network = "none"
	}
	if len(c.Cmd) == 0 {
		c.Cmd = []string{"iex"}
	}
	if c.ErlangFlags == "" {
		c.ErlangFlags = DefaultErlangFlags
	}
	return c
}

// fixedUser is the user of sandboxes that do not get their own uid.
func (c Config) fixedUser() string { return c.User }

// containerConfig is the container's own configuration.
func (c Config) containerConfig(sessionID string) *container.Config {
	return &container.Config{
		Image:        c.Image,
		Cmd:          c.Cmd,
		User:         c.User,
		WorkingDir:   c.Home,
		Hostname:     "iexbox",
		Tty:          true,
		OpenStdin:    true,
		StdinOnce:    false,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Env: []string{
			"HOME=" + c.Home,
			"LANG=C.UTF-8",
			"TERM=xterm-256color",
			"ERL_AFLAGS=" + c.ErlangFlags,
		},
		Labels: map[string]string{
			LabelInstance: c.Instance,
			LabelSession:  sessionID,
		},
	}
}

// hostConfig is the hardening and the limits, for a sandbox running as
// user (uid:gid).
func (r *Runtime) hostConfig(cols, rows int, user string) (*container.HostConfig, error) {
	c := r.cfg
	security := []string{"no-new-privileges"}
	// Docker's default is the daemon's to send, except under gVisor, where
	// it stops every thread (see seccompProfile).
	if gvisor := c.Runtime == "runsc"; !c.DockerSeccomp || gvisor {
		profile, err := seccompProfile(gvisor, c.DockerSeccomp)
		if err != nil {
			return nil, err
		}
		security = append(security, "seccomp="+profile)
	}
	uid, gid, ok := strings.Cut(user, ":")
	if !ok {
		gid = uid
	}
	// Nothing written at run time may be executed or loaded as a NIF.
	tmpfs := "rw,nosuid,nodev,noexec,size=" + strconv.FormatInt(c.TmpfsSize, 10)
	return &container.HostConfig{
		Runtime:        c.Runtime,
		NetworkMode:    container.NetworkMode(c.Network),
		DNS:            c.DNS,
		ReadonlyRootfs: !c.WritableRoot,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    security,
		IpcMode:        container.IPCModePrivate,
		ShmSize:        c.ShmSize,
		Tmpfs: map[string]string{
			"/tmp": tmpfs,
			c.Home: tmpfs + ",mode=0700,uid=" + uid + ",gid=" + gid,
		},
		LogConfig:   container.LogConfig{Type: "none"}, // a flood must not fill the host disk
		OomScoreAdj: 500,                               // the kernel kills a sandbox before the server
		ConsoleSize: [2]uint{uint(rows), uint(cols)},   // dropped below API 1.42; Start resizes too
		Resources: container.Resources{
			CgroupParent: c.CgroupParent,
			Memory:       c.Memory,
			MemorySwap:   c.Memory,
			NanoCPUs:     int64(c.CPUs * 1e9),
			PidsLimit:    &c.Pids,
			Ulimits:      []*container.Ulimit{{Name: "nofile", Soft: c.NoFile, Hard: c.NoFile}},
		},
	}, nil
}
