package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"

	"iexbox/internal/sandbox"
)

// probeTimeout bounds one probe Pod, from create to its exit.
const probeTimeout = 60 * time.Second

// Exit codes of the probe program.
const (
	probeEgressOpen = 42 // it reached the API server: NetworkPolicy is not enforced
)

// probeConnectTimeout bounds the probe's connection attempt; a dropped SYN
// counts as blocked.
const probeConnectTimeout = 5

// errEgressOpen means a runc probe Pod reached the API server.
var errEgressOpen = errors.New("a sandbox pod under runc reached the API server: the network plugin does not enforce the sandbox namespace's NetworkPolicy")

// candidates are the isolations to try for an isolation runtime, best
// first: gVisor's RuntimeClass, and the project's seccomp profile before
// the node's default.
func (c Config) candidates() []isolation {
	gvisor := []isolation{{runtimeClass: c.RuntimeClass, seccomp: seccompGVisor}, {runtimeClass: c.RuntimeClass}}
	runc := []isolation{{seccomp: seccompRunc}, {}}
	if c.EngineSeccomp {
		runc = runc[1:]
	}
	switch {
	case sandbox.GVisor(c.Isolation): // on Kubernetes the class names the registration
		return gvisor
	case c.Isolation == "runc":
		return runc
	}
	return append(gvisor, runc...)
}

// probe starts one throw-away Pod with the full hardening under iso, runs
// the BEAM in it (so gVisor's and seccomp's effect on threads shows) and,
// outside gVisor, tries to connect to the API server at target; it waits
// for the exit. errEgressOpen means the connection went through.
func (r *Runtime) probe(ctx context.Context, iso isolation, uid int64, target string) (err error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	id := "probe-" + uuid.NewString()[:8]
	pod := r.cfg.pod(iso, id, uid, 80, 24)
	ctr := &pod.Spec.Containers[0]
	ctr.Stdin, ctr.TTY = false, false
	script := "erl -noshell -eval 'halt().'"
	if iso.runtimeClass == "" {
		host, port, err := net.SplitHostPort(target)
		if err != nil {
			return fmt.Errorf("probe: API server address %q: %w", target, err)
		}
		script += " && if timeout " + strconv.Itoa(probeConnectTimeout) + " bash -c 'exec 3<>/dev/tcp/" + host + "/" + port +
			"' 2>/dev/null; then exit " + strconv.Itoa(probeEgressOpen) + "; fi"
	}
	ctr.Command = []string{"/bin/sh", "-c", script}
	r.owners.Own(id)
	defer func() {
		delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		defer cancel()
		if delErr := r.deletePod(delCtx, pod.Name); delErr == nil {
			r.owners.Disown(id, nil)
		} else {
			r.owners.Disown(id, func() {})
			err = errors.Join(err, delErr)
		}
	}()
	if err := r.create(ctx, pod); err != nil {
		return err
	}
	var status corev1.ContainerStateTerminated
	_, err = r.waitPod(ctx, pod.Name, func(p *corev1.Pod) (bool, error) {
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; cs.Name == containerName && t != nil {
				status = *t
				return true, nil
			}
		}
		_, err := started(p) // fails on what never gets better
		return false, err
	})
	switch {
	case err != nil:
		return err
	case status.ExitCode == probeEgressOpen:
		return fmt.Errorf("%w (%s)", errEgressOpen, target)
	case status.ExitCode != 0:
		return fmt.Errorf("probe exited with code %d (%s) %s", status.ExitCode, status.Reason, status.Message)
	}
	return nil
}

// apiAddress is the API server's address as a sandbox would dial it: an
// IP address and a port (a sandbox has no resolver).
func apiAddress(host string) (string, error) {
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		u, err = url.Parse("https://" + host)
		if err != nil {
			return "", fmt.Errorf("API server address %q: %w", host, err)
		}
	}
	name, port := u.Hostname(), u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	ip := net.ParseIP(name)
	if ip == nil {
		ips, err := net.LookupIP(name)
		if err != nil || len(ips) == 0 {
			return "", fmt.Errorf("resolve API server %q: %w", name, err)
		}
		ip = ips[0]
	}
	if ip.IsLoopback() { // the sandbox's own loopback would prove nothing
		if ip, err = hostAddress(); err != nil {
			return "", fmt.Errorf("API server on loopback: %w", err)
		}
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// hostAddress is this machine's first global unicast address: where an API
// server this server reaches on loopback listens for the rest of the
// cluster too.
func hostAddress() (net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() && n.IP.To4() != nil {
			return n.IP, nil
		}
	}
	return nil, errors.New("no global unicast address on this machine for the egress probe")
}
