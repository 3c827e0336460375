package e2e

// The start-up probe of the Kubernetes backend, shown able to fail: its
// program run where there is a network, and a RuntimeClass that is runc
// under a gVisor-like name. Listeners and addresses are only those of
// network namespaces the test makes.

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"iexbox/internal/kube"
	"iexbox/internal/sandbox"
)

// probeNet is the test's own network namespace and its veth pair; the
// probe's target listens at probeNetAddr inside it.
const (
	probeNetHost = "198.18.77.1" // the host's end (RFC 2544 benchmark range)
	probeNetAddr = "198.18.77.2" // the namespace's end
	// probeBridgeNet is the subnet of the test's Docker bridge network.
	probeBridgeNet = "198.18.78.0/24"
)

// probeNetNS makes a network namespace joined to the host by a veth pair
// and removes both at cleanup.
func probeNetNS(t *testing.T) string {
	t.Helper()
	if out, _ := exec.Command("ip", "route", "get", probeNetAddr).CombinedOutput(); strings.Contains(string(out), "dev ") &&
		!strings.Contains(string(out), "via") {
		t.Fatalf("%s is already routed on this machine: %s", probeNetAddr, out)
	}
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("iexbox-probe-%x", b)
	veth := fmt.Sprintf("iexp%x", b)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", name)
	t.Cleanup(func() {
		// Deleting one end deletes the pair at once; left to the namespace's
		// own teardown, the kernel removes it only when it gets to it.
		exec.Command("ip", "link", "delete", veth).Run()
		exec.Command("ip", "netns", "delete", name).Run()
		if _, err := os.Stat("/run/netns/" + name); err == nil {
			t.Errorf("network namespace %s left", name)
		}
		if exec.Command("ip", "link", "show", veth).Run() == nil {
			t.Errorf("veth %s left", veth)
		}
	})
	run("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
	run("addr", "add", probeNetHost+"/30", "dev", veth)
	run("link", "set", veth, "up")
	run("-n", name, "addr", "add", probeNetAddr+"/30", "dev", "eth0")
	run("-n", name, "link", "set", "eth0", "up")
	run("-n", name, "link", "set", "lo", "up")
	return name
}

// listenIn opens a TCP listener inside the named network namespace, which
// accepts and closes connections until the test ends.
func listenIn(t *testing.T, netns string) string {
	t.Helper()
	ch := make(chan any, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		f, err := os.Open("/run/netns/" + netns)
		if err == nil {
			err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
			f.Close()
		}
		if err != nil {
			ch <- err
			return
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(probeNetAddr, "0"))
		if err != nil {
			ch <- err
			return
		}
		ch <- ln
	}()
	var ln net.Listener
	switch v := (<-ch).(type) {
	case error:
		t.Fatal(v)
	case net.Listener:
		ln = v
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestKubeProbeSeesEgress: the probe program, run in a container that has
// a network (on a Docker bridge network the test makes) against a listener in the test's
// namespace, reports egress; against a closed port of the same namespace
// it passes. So a probe Pod that can reach its targets fails.
func TestKubeProbeSeesEgress(t *testing.T) {
	requireDocker(t)
	netns := probeNetNS(t)
	open := listenIn(t, netns)
	closed := net.JoinHostPort(probeNetAddr, "9") // nothing listens: refused at once
	instance := uniqueInstance(t)
	t.Cleanup(func() {
		if ids := containersLabelled(t, labelInstance+"="+instance); len(ids) > 0 {
			exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
			t.Errorf("containers left: %v", ids)
		}
	})
	// A bridge network of the test's own (Docker's default bridge may be
	// missing on a shared machine), with its subnet in the same test range.
	bridge := "iexbox-probe-" + instance[len(instance)-8:]
	if out, err := exec.Command("docker", "network", "create", "--driver", "bridge", "--subnet", probeBridgeNet,
		"--label", labelInstance+"="+instance, bridge).CombinedOutput(); err != nil {
		t.Fatalf("docker network create: %v: %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("docker", "network", "rm", bridge).Run()
		if out, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "label="+labelInstance+"="+instance).Output(); strings.TrimSpace(string(out)) != "" {
			t.Errorf("docker network %s left", bridge)
		}
	})
	for _, tc := range []struct {
		target string
		want   int
	}{{open, kube.ProbeEgressOpen}, {closed, 0}} {
		began := time.Now()
		args := []string{"run", "--rm", "--label", labelInstance + "=" + instance, "--network", bridge,
			"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", "100000:100000", "--workdir", "/tmp"}
		for _, kv := range sandbox.Default().Env() { // as a sandbox Pod has it
			args = append(args, "-e", kv)
		}
		args = append(args, sandboxImage, "bash", "-c", kube.ProbeScript([]string{tc.target}, false))
		cmd := exec.Command("docker", args...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("probe against %s: exit %d after %v: %s", tc.target, code, time.Since(began).Round(time.Millisecond), strings.TrimSpace(string(out)))
		if code != tc.want {
			t.Errorf("probe against %s exited %d, want %d", tc.target, code, tc.want)
		}
	}
}

// TestKubeProbeRefusesRuncAsGVisor: a RuntimeClass whose handler is runc,
// under a gVisor-like name, fails the kernel check: asked for explicitly
// (-runtime runsc), the server refuses to start, saying so, and leaves no
// Pod and no Lease.
func TestKubeProbeRefusesRuncAsGVisor(t *testing.T) {
	requireKube(t)
	instance := uniqueInstance(t)
	class := "gvisor-impostor-" + instance[len(instance)-8:]
	manifest := fmt.Sprintf("apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: %s\nhandler: runc\n", class)
	f := t.TempDir() + "/rc.yaml"
	if err := os.WriteFile(f, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "create", "-f", f)
	t.Cleanup(func() {
		kubectl(t, "delete", "runtimeclass", class, "--ignore-not-found")
		requireNoPods(t, instance)
		if out := kubectl(t, "get", "leases", "-n", "iexbox", "-l", labelInstance+"="+instance, "-o", "name"); strings.TrimSpace(out) != "" {
			t.Errorf("leases left: %s", out)
		}
	})
	// A server that wrongly starts serves until stopped: SIGTERM it after
	// the probes' time, so that it cleans up and the test fails instead of
	// hanging.
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, serverBinary, "-addr", freeAddr(t), "-instance", instance, "-backend", "kubernetes",
		"-kubeconfig", kubeServerConfig, "-runtime", "runsc", "-runtime-class", class, "-pool", "0")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Env = serverEnv()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Errorf("the server was still running after %v: it started with a RuntimeClass that runs runc", 90*time.Second)
	}
	t.Logf("server with -runtime-class %s (handler runc):\n%s", class, tail(string(out)))
	if err == nil {
		t.Fatal("the server started with a RuntimeClass that runs runc")
	}
	if !strings.Contains(string(out), "does not run gVisor") {
		t.Errorf("the refusal does not say the class does not run gVisor")
	}
}
