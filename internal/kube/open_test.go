package kube

import (
	"errors"
	"log/slog"
	"net"
	"strings"
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

// probeCluster is a fake cluster without the gVisor RuntimeClass whose
// probe Pods exit with runcExit.
func probeCluster(runcExit int32) *fake.Clientset {
	client := fake.NewClientset()
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Spec.RuntimeClassName != nil {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, pod.Name,
				errors.New(`pod rejected: RuntimeClass "gvisor" not found`))
		}
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: runcExit},
		}}}
		return false, nil, nil
	})
	return client
}

// TestOpenFallsBackToRunc: without the RuntimeClass, auto runs under runc
// once a probe shows egress blocked, and says so; nothing is left.
func TestOpenFallsBackToRunc(t *testing.T) {
	client := probeCluster(0)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	b, err := open(t.Context(), client, &fakeStreams{}, "10.0.0.1:6443", Config{Policy: sandbox.Default(), Instance: "o"}.withDefaults(), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name() != "runc" || b.iso.seccomp != seccompRunc || b.Footprint() != footprintRunc {
		t.Errorf("name %s iso %+v", b.Name(), b.iso)
	}
	all := strings.Join(b.Warnings(), "\n")
	if !strings.Contains(all, "gvisor") || !strings.Contains(all, "egress is blocked") {
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

// TestOpenRefusesOpenEgress: a runc probe that reaches the API server
// refuses runc Pods, and -runtime runsc without the class fails.
func TestOpenRefusesOpenEgress(t *testing.T) {
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	for _, isolation := range []string{"auto", "runc", "runsc"} {
		client := probeCluster(probeEgressOpen)
		cfg := Config{Policy: sandbox.Default(), Instance: "o"}
		cfg.Isolation = isolation
		_, err := open(t.Context(), client, &fakeStreams{}, "10.0.0.1:6443", cfg.withDefaults(), log, nil)
		if err == nil {
			t.Fatalf("%s: opened", isolation)
		}
		if isolation != "runsc" && !errors.Is(err, errEgressOpen) {
			t.Errorf("%s: %v", isolation, err)
		}
		if leases, _ := client.CoordinationV1().Leases(DefaultServerNamespace).List(t.Context(), metav1.ListOptions{}); len(leases.Items) != 0 {
			t.Errorf("%s: lease kept after a failed open", isolation)
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
