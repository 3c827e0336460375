package docker

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// RunArgs is the `docker run` flags that start a container the way Start
// does, read off the very create request Start sends: a baseline measured
// beside the server (cmd/iexbench) runs under the same policy without
// restating it. user is the uid:gid; seccompFile holds the profile
// (written from the request's inline one), "" to leave the daemon's.
func RunArgs(cfg Config, user, seccompFile string) ([]string, error) {
	r := &Runtime{cfg: cfg.withDefaults()}
	cc := r.cfg.containerConfig("")
	host, err := r.hostConfig(80, 24, user)
	if err != nil {
		return nil, err
	}
	a := []string{"--runtime", host.Runtime, "--network", string(host.NetworkMode)}
	for _, d := range host.DNS {
		a = append(a, "--dns", d)
	}
	if host.ReadonlyRootfs {
		a = append(a, "--read-only")
	}
	for _, c := range host.CapDrop {
		a = append(a, "--cap-drop", c)
	}
	for _, o := range host.SecurityOpt {
		if strings.HasPrefix(o, "seccomp=") {
			if seccompFile == "" {
				continue
			}
			o = "seccomp=" + seccompFile
		}
		a = append(a, "--security-opt", o)
	}
	a = append(a, "--ipc", string(host.IpcMode), "--shm-size", strconv.FormatInt(host.ShmSize, 10))
	for _, path := range slices.Sorted(maps.Keys(host.Tmpfs)) {
		a = append(a, "--tmpfs", path+":"+host.Tmpfs[path])
	}
	a = append(a, "--log-driver", host.LogConfig.Type, "--oom-score-adj", strconv.Itoa(host.OomScoreAdj))
	res := host.Resources
	a = append(a,
		"--memory", strconv.FormatInt(res.Memory, 10),
		"--memory-swap", strconv.FormatInt(res.MemorySwap, 10),
		"--cpus", strconv.FormatFloat(float64(res.NanoCPUs)/1e9, 'f', -1, 64),
		"--pids-limit", strconv.FormatInt(*res.PidsLimit, 10))
	for _, u := range res.Ulimits {
		a = append(a, "--ulimit", fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard))
	}
	if res.CgroupParent != "" {
		a = append(a, "--cgroup-parent", res.CgroupParent)
	}
	a = append(a, "--user", user, "--workdir", cc.WorkingDir, "--hostname", cc.Hostname)
	for _, e := range cc.Env {
		a = append(a, "-e", e)
	}
	return a, nil
}

// SeccompProfile is the seccomp profile, as JSON, that Start gives a
// container of cfg ("" when the daemon's default applies).
func SeccompProfile(cfg Config) (string, error) {
	r := &Runtime{cfg: cfg.withDefaults()}
	host, err := r.hostConfig(80, 24, r.cfg.User)
	if err != nil {
		return "", err
	}
	for _, o := range host.SecurityOpt {
		if p, ok := strings.CutPrefix(o, "seccomp="); ok {
			return p, nil
		}
	}
	return "", nil
}
