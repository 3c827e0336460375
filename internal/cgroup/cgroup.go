// Package cgroup prepares the parent control group that every sandbox runs
// under, so that all sandboxes together are bounded in memory and CPU: N
// sessions each at their own limits still cannot starve dockerd, the server
// or the host. It writes the host's cgroup file system directly (Docker's
// cgroupfs driver; cgroup v1 and v2) and needs root.
package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuPeriod is the CFS period limits are expressed in, in microseconds.
const cpuPeriod = 100000

// Parent is a prepared parent cgroup.
type Parent struct {
	// Path is the value for Docker's --cgroup-parent, e.g. "/iexbox".
	Path string
}

// Setup creates (or updates) the parent cgroup name under root (normally
// /sys/fs/cgroup) with a memory limit in bytes and a CPU quota in cores.
func Setup(root, name string, memory int64, cpus float64) (Parent, error) {
	if name == "" || strings.ContainsAny(name, "/.") {
		return Parent{}, fmt.Errorf("cgroup name %q: want a single path element", name)
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return setupV2(root, name, memory, cpus)
	}
	return setupV1(root, name, memory, cpus)
}

// setupV1 creates the parent in every mounted v1 controller (runc wants it
// in all of them) and writes the limits to memory and cpu.
func setupV1(root, name string, memory int64, cpus float64) (Parent, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return Parent{}, fmt.Errorf("cgroup: %w", err)
	}
	for _, e := range entries {
		ctrl := filepath.Join(root, e.Name())
		if !e.IsDir() || e.Name() == "unified" || e.Name() == "systemd" {
			continue
		}
		dir := filepath.Join(ctrl, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Parent{}, fmt.Errorf("cgroup: %w", err)
		}
		if e.Name() == "cpuset" || strings.Contains(e.Name(), "cpuset") {
			// A new cpuset is empty and admits no task: inherit the root's.
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if err := copyFile(filepath.Join(ctrl, f), filepath.Join(dir, f)); err != nil {
					return Parent{}, err
				}
			}
		}
	}
	var errs []error
	if memory > 0 {
		errs = append(errs, write(filepath.Join(root, "memory", name, "memory.limit_in_bytes"), strconv.FormatInt(memory, 10)))
	}
	if cpus > 0 {
		cpu := filepath.Join(root, "cpu", name)
		errs = append(errs,
			write(filepath.Join(cpu, "cpu.cfs_period_us"), strconv.Itoa(cpuPeriod)),
			write(filepath.Join(cpu, "cpu.cfs_quota_us"), strconv.Itoa(int(cpus*cpuPeriod))))
	}
	if err := errors.Join(errs...); err != nil {
		return Parent{}, err
	}
	return Parent{Path: "/" + name}, nil
}

// setupV2 creates the parent in the unified hierarchy with the controllers
// enabled for its children.
func setupV2(root, name string, memory int64, cpus float64) (Parent, error) {
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Parent{}, fmt.Errorf("cgroup: %w", err)
	}
	var errs []error
	errs = append(errs, write(filepath.Join(root, "cgroup.subtree_control"), "+memory +cpu +pids"))
	errs = append(errs, write(filepath.Join(dir, "cgroup.subtree_control"), "+memory +cpu +pids"))
	if memory > 0 {
		errs = append(errs, write(filepath.Join(dir, "memory.max"), strconv.FormatInt(memory, 10)))
	}
	if cpus > 0 {
		errs = append(errs, write(filepath.Join(dir, "cpu.max"), fmt.Sprintf("%d %d", int(cpus*cpuPeriod), cpuPeriod)))
	}
	if err := errors.Join(errs...); err != nil {
		return Parent{}, err
	}
	return Parent{Path: "/" + name}, nil
}

func write(path, value string) error {
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	return nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	return write(to, strings.TrimSpace(string(data)))
}
