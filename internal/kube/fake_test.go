package kube

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/remotecommand"

	"iexbox/internal/sandbox"
)

// fakeStreams plays the kubelet's side of attach and exec: an attach waits
// for the go signal, prints a prompt and echoes input; an exec runs
// script.
type fakeStreams struct {
	mu    sync.Mutex
	execs []corev1.PodExecOptions
	sizes []remotecommand.TerminalSize
}

func (f *fakeStreams) stream(ctx context.Context, pod string, opts runtime.Object, so remotecommand.StreamOptions) error {
	if ex, ok := opts.(*corev1.PodExecOptions); ok {
		f.mu.Lock()
		f.execs = append(f.execs, *ex)
		f.mu.Unlock()
		if so.Stdout != nil {
			io.WriteString(so.Stdout, "ran\n")
		}
		return nil
	}
	if so.TerminalSizeQueue != nil {
		if s := so.TerminalSizeQueue.Next(); s != nil {
			f.mu.Lock()
			f.sizes = append(f.sizes, *s)
			f.mu.Unlock()
		}
	}
	in := bufio.NewReader(so.Stdin)
	if _, err := in.ReadString('\n'); err != nil { // the go signal
		return nil
	}
	io.WriteString(so.Stdout, "iex(1)> ")
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(so.Stdout, in)
	}()
	select {
	case <-ctx.Done():
	case <-done:
	}
	return nil
}

// newFakeRuntime is a Runtime on a fake clientset whose created Pods get
// the status that status gives them (running when nil).
func newFakeRuntime(t *testing.T, status func(*corev1.Pod)) (*Runtime, *fake.Clientset, *fakeStreams) {
	t.Helper()
	client := fake.NewClientset()
	if status == nil {
		status = running
	}
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		status(pod)
		return false, nil, nil // the tracker stores it, status included
	})
	st := &fakeStreams{}
	cfg := testConfig()
	r := &Runtime{client: client, cfg: cfg, log: slog.New(slog.NewTextHandler(t.Output(), nil)), obs: noObserver{}, owners: sandbox.NewOwners(),
		uids: sandbox.NewUIDs(cfg.UIDBase), stream: st}
	return r, client, st
}

// running gives every container of pod (one, when it names none) a
// running status.
func running(pod *corev1.Pod) {
	if len(pod.Spec.Containers) == 0 {
		pod.Spec.Containers = []corev1.Container{{Name: containerName}}
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		})
	}
}
