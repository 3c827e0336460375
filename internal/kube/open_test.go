package kube

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"iexbox/internal/sandbox"
)

// probeCluster is a fake cluster whose probe Pods exit with exits[class]
// (class "" is runc); a RuntimeClass not in exits is refused as missing.
// It records each probe Pod's class and program.
type probeCluster struct {
	*fake.Clientset
	mu     sync.Mutex
	probes []probeRun
}

type probeRun struct{ class, script string }

func newProbeCluster(exits map[string]int32) *probeCluster {
	c := &probeCluster{Clientset: fake.NewClientset()}
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		create := a.(k8stesting.CreateAction)
		pod := create.GetObject().(*corev1.Pod)
		class := ""
		if pod.Spec.RuntimeClassName != nil {
			class = *pod.Spec.RuntimeClassName
		}
		if impl, ok := a.(k8stesting.CreateActionImpl); ok && len(impl.CreateOptions.DryRun) > 0 {
			return true, pod, nil // the Pod-level resources check
		}
		exit, ok := exits[class]
		if !ok {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, pod.Name,
				fmt.Errorf("pod rejected: RuntimeClass %q not found", class))
		}
		c.mu.Lock()
		c.probes = append(c.probes, probeRun{class, strings.Join(pod.Spec.Containers[0].Command, " ")})
		c.mu.Unlock()
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: exit},
		}}}
		return false, nil, nil
	})
	return c
}

var testTargets = []string{"10.0.0.1:6443", "node:10250"}

func openOn(t *testing.T, c *probeCluster, isolation string) (*Backend, error) {
	t.Helper()
	cfg := Config{Policy: sandbox.Default(), Instance: "o"}
	cfg.Isolation = isolation
	return open(t.Context(), c, &fakeStreams{}, testTargets, cfg.withDefaults(), slog.New(slog.NewTextHandler(t.Output(), nil)), nil)
}

// TestOpenFallsBackToRunc: without the RuntimeClass, auto runs under runc
// once a probe shows egress blocked, and says so; nothing is left.
func TestOpenFallsBackToRunc(t *testing.T) {
	client := newProbeCluster(map[string]int32{"": 0})
	b, err := openOn(t, client, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if b.Name() != "runc" || b.iso.seccomp != seccompRunc || b.Footprint() != footprintRunc {
		t.Errorf("name %s iso %+v", b.Name(), b.iso)
	}
	all := strings.Join(b.Warnings(), "\n")
	if !strings.Contains(all, "gvisor") || !strings.Contains(all, "not gVisor") {
		t.Errorf("warnings %q", all)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if pods, _ := client.CoreV1().Pods(b.cfg.Namespace).List(t.Context(), metav1.ListOptions{}); len(pods.Items) != 0 {
		t.Errorf("%d probe pods left", len(pods.Items))
	}
	if leases, _ := client.CoordinationV1().Leases(b.cfg.ServerNamespace).List(t.Context(), metav1.ListOptions{}); len(leases.Items) != 0 {
		t.Errorf("%d leases left", len(leases.Items))
	}
}

// TestOpenProbes: the same probe runs under every candidate, each check
// failing there makes auto fall back with a warning, and makes a runtime
// asked for explicitly refuse to start.
func TestOpenProbes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		exits     map[string]int32
		isolation string
		want      error  // nil: opened
		runtime   string // when opened
		warning   string
		probes    []string // classes probed, in order
	}{
		{"gvisor passes", map[string]int32{"gvisor": 0, "": 0}, "auto", nil, "runsc", "", []string{"gvisor"}},
		{"class is runc in disguise", map[string]int32{"gvisor": ProbeNotGVisor, "": 0}, "auto", nil, "runc", "does not run gVisor", []string{"gvisor", ""}},
		{"class is runc in disguise, asked for", map[string]int32{"gvisor": ProbeNotGVisor, "": 0}, "runsc", errNotGVisor, "", "", []string{"gvisor"}},
		{"gvisor with network", map[string]int32{"gvisor": ProbeEgressOpen, "": 0}, "auto", nil, "runc", "reached the network", []string{"gvisor", ""}},
		{"gvisor with network, asked for", map[string]int32{"gvisor": ProbeEgressOpen, "": 0}, "runsc", errEgressOpen, "", "", []string{"gvisor"}},
		{"gvisor without seccomp", map[string]int32{"gvisor": ProbeUserNS, "": 0}, "auto", nil, "runc", "user namespace", []string{"gvisor", "gvisor", ""}},
		{"gvisor without seccomp, asked for", map[string]int32{"gvisor": ProbeUserNS}, "runsc", errUserNS, "", "", []string{"gvisor", "gvisor"}},
		{"runc with network", map[string]int32{"": ProbeEgressOpen}, "auto", errEgressOpen, "", "", []string{""}},
		{"runc with network, asked for", map[string]int32{"": ProbeEgressOpen}, "runc", errEgressOpen, "", "", []string{""}},
		{"runc without seccomp", map[string]int32{"": ProbeUserNS}, "runc", errUserNS, "", "", []string{"", ""}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			client := newProbeCluster(tc.exits)
			b, err := openOn(t, client, tc.isolation)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Errorf("open: %v, want %v", err, tc.want)
				}
				if leases, _ := client.CoordinationV1().Leases(DefaultServerNamespace).List(t.Context(), metav1.ListOptions{}); len(leases.Items) != 0 {
					t.Errorf("lease kept after a failed open")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if b.Name() != tc.runtime {
					t.Errorf("runtime %s, want %s", b.Name(), tc.runtime)
				}
				if all := strings.Join(b.Warnings(), "\n"); !strings.Contains(all, tc.warning) {
					t.Errorf("warnings %q, want one saying %q", all, tc.warning)
				}
				b.Close()
			}
			var classes []string
			for _, p := range client.probes {
				classes = append(classes, p.class)
				for _, part := range []string{"erl -noshell", "/dev/tcp/10.0.0.1/6443", "/dev/tcp/$IEXBOX_NODE_IP/10250", "unshare -U true"} {
					if !strings.Contains(p.script, part) {
						t.Errorf("probe under %q lacks %q: %s", p.class, part, p.script)
					}
				}
				if kernel := strings.Contains(p.script, "/proc/version"); kernel != (p.class != "") {
					t.Errorf("probe under %q checks the kernel: %v", p.class, kernel)
				}
			}
			if !slices.Equal(classes, tc.probes) {
				t.Errorf("probed %q, want %q", classes, tc.probes)
			}
		})
	}
}

// TestEgressTargets: the API server and the node's kubelet by default;
// configured targets must be IP addresses (a sandbox has no resolver).
func TestEgressTargets(t *testing.T) {
	got, err := egressTargets(nil, "https://10.96.0.1:443")
	if err != nil || !slices.Equal(got, []string{"10.96.0.1:443", "node:10250"}) {
		t.Errorf("defaults: %q %v", got, err)
	}
	got, err = egressTargets([]string{"192.0.2.1:80", "node:22"}, "https://10.96.0.1:443")
	if err != nil || !slices.Equal(got, []string{"192.0.2.1:80", "node:22"}) {
		t.Errorf("configured: %q %v", got, err)
	}
	for _, bad := range []string{"example.org:80", "192.0.2.1", "192.0.2.1:http", "node:99999"} {
		if _, err := egressTargets([]string{bad}, "https://10.96.0.1:443"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAPIAddress(t *testing.T) {
	for in, want := range map[string]string{
		"https://10.96.0.1:443": "10.96.0.1:443",
		"https://192.0.2.7":     "192.0.2.7:443",
		"192.0.2.8:6443":        "192.0.2.8:6443",
	} {
		if got, err := apiAddress(in); err != nil || got != want {
			t.Errorf("%s: %s %v, want %s", in, got, err, want)
		}
	}
	host, err := hostAddress()
	if err != nil {
		t.Skip(err) // a machine with loopback only
	}
	if got, err := apiAddress("https://127.0.0.1:6443"); err != nil || got != net.JoinHostPort(host.String(), "6443") {
		t.Errorf("loopback: %s %v, want this machine's %s", got, err, host)
	}
}
