package kube

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"iexbox/internal/sandbox"
)

// TestStarted maps a starting Pod's status to go on, done, or a clear error.
func TestStarted(t *testing.T) {
	now := metav1.Now()
	waiting := func(reason string) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: containerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "m"}},
		}}}}
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		ok   bool
		is   error // nil: no error; errAny: some error
	}{
		{"pending", &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}, false, nil},
		{"creating", waiting("ContainerCreating"), false, nil},
		{"running", func() *corev1.Pod { p := &corev1.Pod{}; running(p); return p }(), true, nil},
		{"one of two running", func() *corev1.Pod {
			p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: containerName}, {Name: apartContainer}}}}
			running(p)
			p.Status.ContainerStatuses[1].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
			return p
		}(), false, nil},
		{"unschedulable", &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/1 nodes are available: 1 Insufficient memory.",
		}}}}, false, sandbox.ErrNoRoom},
		{"never pull", waiting("ErrImageNeverPull"), false, ErrImageMissing},
		{"pull backoff", waiting("ImagePullBackOff"), false, ErrImageMissing},
		{"create error", waiting("CreateContainerError"), false, errAny},
		{"deleting", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}}, false, ErrPodGone},
		{"failed", &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted"}}, false, errAny},
		{"exited at once", &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: containerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}},
		}}}}, false, errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := started(tc.pod)
			if ok != tc.ok {
				t.Errorf("ok = %v", ok)
			}
			switch {
			case tc.is == nil && err != nil:
				t.Errorf("err = %v", err)
			case tc.is == errAny && err == nil:
				t.Error("no error")
			case tc.is != nil && tc.is != errAny && !errors.Is(err, tc.is):
				t.Errorf("err = %v, want %v", err, tc.is)
			}
		})
	}
}

var errAny = errors.New("any error")

// TestCreateError: a quota's refusal is a full cluster; RBAC's is not.
func TestCreateError(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	quota := apierrors.NewForbidden(gr, "iexbox-x", errors.New("exceeded quota: sandboxes, requested: pods=1, used: pods=300, limited: pods=300"))
	if err := createError(quota); !errors.Is(err, sandbox.ErrNoRoom) {
		t.Errorf("quota: %v", err)
	}
	rbac := apierrors.NewForbidden(gr, "iexbox-x", errors.New(`User "x" cannot create resource "pods"`))
	if err := createError(rbac); errors.Is(err, sandbox.ErrNoRoom) || !apierrors.IsForbidden(err) {
		t.Errorf("rbac: %v", err)
	}
}

// TestStartAttachClose: a started sandbox shows the prompt the program
// printed after the go signal, echoes input, takes a resize, and Close
// deletes its Pod and frees its uid.
func TestStartAttachClose(t *testing.T) {
	r, client, st := newFakeRuntime(t, nil)
	ctx := t.Context()
	sb, err := r.Start(ctx, sandbox.Spec{ID: "s1", Cols: 100, Rows: 30})
	if err != nil {
		t.Fatal(err)
	}
	pod, err := client.CoreV1().Pods(r.cfg.Namespace).Get(ctx, "iexbox-s1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *pod.Spec.SecurityContext.RunAsUser != int64(r.cfg.UIDBase) {
		t.Errorf("uid %d", *pod.Spec.SecurityContext.RunAsUser)
	}
	buf := make([]byte, 64)
	var got string
	for !strings.Contains(got, "iex(1)> ") {
		n, err := sb.Read(buf)
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, got)
		}
		got += string(buf[:n])
	}
	if _, err := sb.Write([]byte("1+1\n")); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(got, "1+1") {
		n, err := sb.Read(buf)
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, got)
		}
		got += string(buf[:n])
	}
	if !strings.HasPrefix(got, "iex(1)> ") {
		t.Errorf("output %q: the prompt printed after the go signal is lost", got)
	}
	if len(st.sizes) == 0 || st.sizes[0].Width != 100 || st.sizes[0].Height != 30 {
		t.Errorf("first size %v", st.sizes)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods(r.cfg.Namespace).Get(ctx, "iexbox-s1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod after Close: %v", err)
	}
	if _, err := sb.Read(buf); err != io.EOF && err == nil {
		t.Errorf("read after close: %v", err)
	}
	if err := sb.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if uid, _ := r.uids.Take(); uid == r.cfg.UIDBase {
		t.Error("a freed uid pair was handed out again at once")
	}
}

// TestStartUnschedulable: a Pod no node can take fails the start at once
// with a capacity error, and is deleted.
func TestStartUnschedulable(t *testing.T) {
	r, client, _ := newFakeRuntime(t, func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available"}}
	})
	began := time.Now()
	_, err := r.Start(t.Context(), sandbox.Spec{ID: "s2", Cols: 80, Rows: 24})
	if !errors.Is(err, sandbox.ErrNoRoom) {
		t.Fatalf("err = %v, want capacity", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
	list, _ := client.CoreV1().Pods(r.cfg.Namespace).List(t.Context(), metav1.ListOptions{})
	if len(list.Items) != 0 {
		t.Errorf("%d pods left", len(list.Items))
	}
	if r.owners.Owned("s2") {
		t.Error("failed start still owned")
	}
}

// TestStartTimeout: a Pod that never runs is answered within the bound.
func TestStartTimeout(t *testing.T) {
	r, client, _ := newFakeRuntime(t, func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending })
	r.cfg.StartTimeout = 200 * time.Millisecond
	_, err := r.Start(t.Context(), sandbox.Spec{ID: "s3", Cols: 80, Rows: 24})
	if err == nil || !strings.Contains(err.Error(), "not running after") {
		t.Fatalf("err = %v", err)
	}
	list, _ := client.CoreV1().Pods(r.cfg.Namespace).List(t.Context(), metav1.ListOptions{})
	if len(list.Items) != 0 {
		t.Errorf("%d pods left", len(list.Items))
	}
}

// TestWaitExit: the exit code and the OOM kill come from the Pod's status;
// a Pod deleted by someone else is an error.
func TestWaitExit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reason  string
		oom     bool
		deleted bool
	}{
		{"exited", "Completed", false, false},
		{"oom", "OOMKilled", true, false},
		{"deleted", "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, client, _ := newFakeRuntime(t, nil)
			sb, err := r.Start(t.Context(), sandbox.Spec{ID: "w", Cols: 80, Rows: 24})
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close()
			pods := client.CoreV1().Pods(r.cfg.Namespace)
			// Keep changing the Pod until the watch has seen it: a fake
			// watch sees only what happens after it began.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			var st sandbox.ExitStatus
			for {
				if tc.deleted {
					pods.Delete(ctx, "iexbox-w", metav1.DeleteOptions{})
					pod := r.cfg.pod(r.iso, "w", 1000, 80, 24)
					running(pod)
					pods.Create(ctx, pod, metav1.CreateOptions{}) // again, to delete again
				} else {
					pod, err := pods.Get(ctx, "iexbox-w", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: tc.reason}}
					pod.ResourceVersion = ""
					if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
				}
				wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
				st, err = sb.Wait(wctx)
				wcancel()
				if !errors.Is(err, context.DeadlineExceeded) {
					break
				}
			}
			if tc.deleted {
				if !errors.Is(err, ErrPodGone) {
					t.Fatalf("err = %v, want ErrPodGone", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Code == nil || *st.Code != 137 || st.OOMKilled != tc.oom {
				t.Errorf("status %+v", st)
			}
		})
	}
}

// TestExec: env and the working directory go through env -C; an apart
// program runs in the apart container, and Close kills its uid's
// processes there.
func TestExec(t *testing.T) {
	r, _, st := newFakeRuntime(t, nil)
	sb, err := r.Start(t.Context(), sandbox.Spec{ID: "e", Cols: 80, Rows: 24})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	p, err := sb.Exec(t.Context(), sandbox.ExecSpec{Cmd: []string{"mix", "test"}, Env: []string{"A=1"}, Apart: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(p)
	if err != nil || string(out) != "ran\n" {
		t.Errorf("output %q, %v", out, err)
	}
	if code, err := p.Wait(t.Context()); err != nil || code != 0 {
		t.Errorf("wait: %d, %v", code, err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.execs) != 2 {
		t.Fatalf("execs %+v", st.execs)
	}
	if run := st.execs[0]; run.Container != apartContainer || strings.Join(run.Command, " ") != "env -C /tmp A=1 mix test" {
		t.Errorf("exec %+v", run)
	}
	if kill := st.execs[1]; kill.Container != apartContainer || strings.Join(kill.Command, " ") != "/bin/sh -c "+sandbox.EndApart {
		t.Errorf("close ran %+v", kill)
	}
}
