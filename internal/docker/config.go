package docker

import (
	"strconv"
	"strings"

	"iexbox/internal/sandbox"

	"github.com/docker/docker/api/types/container"
)

// Config describes the containers a Runtime starts: the sandbox policy
// and what only Docker has (network mode, resolvers, a parent cgroup). The
// zero value of a field takes the safe default.
type Config struct {
	sandbox.Policy // Isolation is the OCI runtime: "runc" or "runsc"

	Instance     string   // value of the iexbox.instance label
	Network      string   // Docker network mode
	DNS          []string // resolvers; loopback so no query can leave
	CgroupParent string   // parent cgroup bounding all sandboxes together; "" for Docker's
}

// detachKeys is a sequence nobody types, so that Ctrl-P (IEx history) and
// every other key reach iex instead of detaching the stream (moby#32895).
const detachKeys = "ctrl-@,ctrl-^,ctrl-@,ctrl-_,ctrl-@,ctrl-^,ctrl-@,ctrl-_"

func (c Config) withDefaults() Config {
	c.Policy = c.Policy.WithDefaults()
	if c.Isolation == "auto" {
		c.Isolation = "runc" // Open picks; a bare Runtime is told
	}
	if c.Network == "" {
		c.Network = "none"
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
		Env:          c.Env(),
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
	if gvisor := sandbox.GVisor(c.Isolation); !c.EngineSeccomp || gvisor {
		profile, err := seccompProfile(gvisor, c.EngineSeccomp)
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
		Runtime:        c.Isolation,
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
