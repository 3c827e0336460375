package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"iexbox/internal/sandbox"
)

// createTimeout bounds a create request, which is not cancelled with the
// context of whoever asked: a create cut off in flight may still make the
// Pod, and nobody would delete it.
const createTimeout = 30 * time.Second

// goTimeout bounds the attach: from a running container to the go signal
// delivered.
const goTimeout = 20 * time.Second

// Start creates a Pod for one session, waits (bounded) until its container
// runs, attaches to it through the API server and gives the go signal, so
// the program starts only once its output is read. On any failure the Pod
// is deleted before Start returns; errors of a full cluster wrap
// sandbox.ErrNoRoom.
func (r *Runtime) Start(ctx context.Context, spec sandbox.Spec) (_ sandbox.Sandbox, err error) {
	uid, release, err := r.uid()
	if err != nil {
		return nil, err
	}
	leftover := false // a failed start whose Pod could not be deleted
	defer func() {
		switch {
		case err == nil:
		case leftover: // the keeper deletes it, then frees its uid
			r.owners.Disown(spec.ID, release)
		default:
			r.owners.Disown(spec.ID, nil)
			release()
		}
	}()
	pod := r.cfg.pod(r.iso, spec.ID, uid, spec.Cols, spec.Rows)
	if spec.Image != "" {
		for i := range pod.Spec.Containers {
			pod.Spec.Containers[i].Image = spec.Image
		}
	}
	log := r.log.With("session", spec.ID, "pod", pod.Name)
	r.owners.Own(spec.ID) // owned before it exists: the keeper never takes a Pod mid-start
	if err := r.create(ctx, pod); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
			defer cancel()
			if delErr := r.deletePod(delCtx, pod.Name); delErr != nil {
				log.Error("delete after failed start", "err", delErr)
				leftover = true
			}
		}
	}()
	began := time.Now()
	waitCtx, cancel := context.WithTimeout(ctx, r.cfg.StartTimeout)
	_, err = r.waitPod(waitCtx, pod.Name, started)
	cancel()
	r.observe("schedule", began, err)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("pod not running after %s (not scheduled, or its sandbox failed to start on the node)", r.cfg.StartTimeout)
		}
		return nil, fmt.Errorf("start pod %s: %w", pod.Name, err)
	}
	sb := newSandbox(r, pod.Name, spec, release, log)
	if err := sb.attach(ctx); err != nil {
		sb.stop()
		return nil, err
	}
	log.Debug("pod started")
	return sb, nil
}

// uid is the terminal uid of a new sandbox; release frees it once the
// sandbox's Pod is deleted.
func (r *Runtime) uid() (uid int64, release func(), err error) {
	if r.cfg.UIDBase == 0 {
		n, err := fixedUID(r.cfg.User)
		return n, func() {}, err
	}
	n, err := r.uids.Take()
	if err != nil {
		return 0, nil, err
	}
	return int64(n), func() { r.uids.Give(n) }, nil
}

// create creates the Pod, on its own bounded context (see createTimeout).
// The caller deletes the Pod if ctx has ended meanwhile.
func (r *Runtime) create(ctx context.Context, pod *corev1.Pod) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	began := time.Now()
	_, err := r.client.CoreV1().Pods(r.cfg.Namespace).Create(cctx, pod, metav1.CreateOptions{})
	r.observe("create", began, err)
	if err != nil {
		return createError(err)
	}
	return nil
}

// createError tells a quota's refusal (no room) from other refusals.
func createError(err error) error {
	if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota") {
		return fmt.Errorf("create pod: %w: %w", sandbox.ErrNoRoom, err)
	}
	return fmt.Errorf("create pod: %w", err)
}

// started tells whether a starting Pod's containers all run, or why they
// never will. Unschedulable is final here: the wait is bounded and a session
// must not hang on a cluster that is full.
func started(pod *corev1.Pod) (bool, error) {
	if pod.DeletionTimestamp != nil {
		return false, ErrPodGone
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return false, fmt.Errorf("%w: no node can take the pod: %s", sandbox.ErrNoRoom, c.Message)
		}
	}
	running := 0
	for _, cs := range pod.Status.ContainerStatuses {
		switch st := cs.State; {
		case st.Running != nil:
			running++
		case st.Terminated != nil:
			return false, fmt.Errorf("container %s ended before it was attached: %s (exit code %d)", cs.Name, st.Terminated.Reason, st.Terminated.ExitCode)
		case st.Waiting != nil:
			switch st.Waiting.Reason {
			case "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
				return false, fmt.Errorf("%w: %s: %s", ErrImageMissing, st.Waiting.Reason, st.Waiting.Message)
			case "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "CrashLoopBackOff":
				return false, fmt.Errorf("container %s not created: %s: %s", cs.Name, st.Waiting.Reason, st.Waiting.Message)
			}
		}
	}
	if running > 0 && running == len(pod.Spec.Containers) {
		return true, nil
	}
	switch pod.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return false, fmt.Errorf("pod %s before it was attached: %s %s", strings.ToLower(string(pod.Status.Phase)), pod.Status.Reason, pod.Status.Message)
	}
	return false, nil
}
