package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"

	"iexbox/internal/sandbox"
)

// probeTimeout bounds one probe Pod, from create to its exit.
const probeTimeout = 60 * time.Second

// Exit codes of the probe program (ProbeScript); 0: every check held.
const (
	ProbeEgressOpen  = 42 // it connected to one of the egress targets
	ProbeUserNS      = 43 // it made a user namespace: the seccomp profile is not enforced
	ProbeNotGVisor   = 44 // under the RuntimeClass, the kernel is not gVisor's
	ProbeNoUnshare   = 45 // the image has no unshare program to check with
	probeConnectWait = 3  // seconds per target; a dropped SYN counts as blocked
)

// NodeTarget is the host of an egress target that stands for the address of
// the node the probe Pod runs on (its status.hostIP): "node:10250" is the
// node's kubelet.
const NodeTarget = "node"

// nodeIPEnv is where the probe Pod finds its node's address.
const nodeIPEnv = "IEXBOX_NODE_IP"

// errEgressOpen means a probe Pod reached one of the egress targets.
var errEgressOpen = errors.New("a sandbox pod reached the network: the network plugin does not enforce the sandbox namespace's NetworkPolicy, and (under gVisor) runsc is not configured with network = \"none\"")

// errUserNS means a probe Pod made a user namespace, a call the seccomp
// profile denies.
var errUserNS = errors.New("a sandbox pod made a user namespace: the seccomp profile is not enforced (under gVisor: set oci-seccomp in runsc.toml)")

// errNotGVisor means the RuntimeClass did not run gVisor's kernel.
var errNotGVisor = errors.New("the RuntimeClass does not run gVisor: the sandbox saw the host's kernel")

// ProbeScript is the probe Pod's program, the same under every candidate
// isolation: the BEAM must start (gVisor's and seccomp's effect on threads
// shows), no egress target may accept a connection, a user namespace must
// be refused (the profile denies unshare), and when gvisor is true the
// kernel must be gVisor's. It exits with one of the Probe* codes and, on a
// failure, writes what it saw to /dev/termination-log (the Pod's
// termination message) when that is writable. Targets are host:port; the
// host NodeTarget is the node's address, from $IEXBOX_NODE_IP.
func ProbeScript(targets []string, gvisor bool) string {
	var b strings.Builder
	b.WriteString(`say() { echo "$1"; { echo "$1" > /dev/termination-log; } 2>/dev/null; exit "$2"; }; `)
	b.WriteString(`erl -noshell -eval 'halt().' || say "the BEAM did not start" 1; `)
	for _, t := range targets {
		host, port, _ := net.SplitHostPort(t)
		if host == NodeTarget {
			host = "$" + nodeIPEnv
		}
		fmt.Fprintf(&b, `if timeout %d bash -c 'exec 3<>/dev/tcp/%s/%s' 2>/dev/null; then say "connected to %s:%s" %d; fi; `,
			probeConnectWait, host, port, host, port, ProbeEgressOpen)
	}
	fmt.Fprintf(&b, `command -v unshare >/dev/null || say "no unshare program" %d; `, ProbeNoUnshare)
	fmt.Fprintf(&b, `unshare -U true 2>/dev/null && say "made a user namespace" %d; `, ProbeUserNS)
	if gvisor {
		// gVisor reports a fixed version string of its own ("4.4.0" or
		// "4.19.0-gvisor", always built "Sun Jan 10 15:06:54 PST 2016").
		fmt.Fprintf(&b, `case "$(cat /proc/version)" in *gvisor*|*"Sun Jan 10 15:06:54 PST 2016"*) ;; *) say "kernel: $(cat /proc/version)" %d;; esac; `, ProbeNotGVisor)
	}
	b.WriteString("exit 0")
	return b.String()
}

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
// ProbeScript in it against the egress targets and waits for its exit. It
// returns errEgressOpen, errUserNS or errNotGVisor (wrapped) when one of
// those checks fails.
func (r *Runtime) probe(ctx context.Context, iso isolation, uid int64, targets []string) (err error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	id := "probe-" + uuid.NewString()[:8]
	pod := r.cfg.pod(iso, id, uid, 80, 24)
	ctr := &pod.Spec.Containers[0]
	ctr.Stdin, ctr.TTY = false, false
	ctr.Command = []string{"/bin/bash", "-c", ProbeScript(targets, iso.runtimeClass != "")}
	ctr.Env = append(ctr.Env, corev1.EnvVar{Name: nodeIPEnv, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"},
	}})
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
	saw := strings.TrimSpace(status.Message)
	switch {
	case err != nil:
		return err
	case status.ExitCode == ProbeEgressOpen:
		return fmt.Errorf("%w (%s)", errEgressOpen, saw)
	case status.ExitCode == ProbeUserNS:
		return errUserNS
	case status.ExitCode == ProbeNotGVisor:
		return fmt.Errorf("%w (%s)", errNotGVisor, saw)
	case status.ExitCode == ProbeNoUnshare:
		return errors.New("the sandbox image has no unshare program to check the seccomp profile with")
	case status.ExitCode != 0:
		return fmt.Errorf("probe exited with code %d (%s) %s", status.ExitCode, status.Reason, saw)
	}
	return nil
}

// egressTargets are the addresses a probe Pod must not reach: the
// configured ones, else the API server (as a sandbox would dial it) and
// the node's kubelet.
func egressTargets(configured []string, apiHost string) ([]string, error) {
	if len(configured) > 0 {
		for _, t := range configured {
			host, port, err := net.SplitHostPort(t)
			if err != nil || port == "" {
				return nil, fmt.Errorf("egress target %q: want host:port", t)
			}
			if _, err := strconv.ParseUint(port, 10, 16); err != nil {
				return nil, fmt.Errorf("egress target %q: port: %w", t, err)
			}
			if host != NodeTarget && net.ParseIP(host) == nil {
				return nil, fmt.Errorf("egress target %q: want an IP address or %q (a sandbox has no resolver)", t, NodeTarget)
			}
		}
		return configured, nil
	}
	api, err := apiAddress(apiHost)
	if err != nil {
		return nil, err
	}
	return []string{api, net.JoinHostPort(NodeTarget, "10250")}, nil
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
