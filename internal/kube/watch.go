package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// waitPod follows one Pod until done says it is done (true) or fails, the
// Pod is deleted (ErrPodGone), or ctx ends. A watch the API server closes
// (they expire) is opened again from a fresh read.
func (r *Runtime) waitPod(ctx context.Context, name string, done func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	pods := r.client.CoreV1().Pods(r.cfg.Namespace)
	for {
		pod, err := pods.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, ErrPodGone
		}
		if err != nil {
			return nil, fmt.Errorf("get pod: %w", err)
		}
		if ok, err := done(pod); ok || err != nil {
			return pod, err
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: pod.ResourceVersion,
		})
		if err != nil {
			return nil, fmt.Errorf("watch pod: %w", err)
		}
		pod, ok, err := follow(ctx, w, name, done)
		w.Stop()
		if ok || err != nil {
			return pod, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// follow reads one watch until done decides, the Pod is deleted, the watch
// closes (false, nil: read again) or ctx ends.
func follow(ctx context.Context, w watch.Interface, name string, done func(*corev1.Pod) (bool, error)) (*corev1.Pod, bool, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case ev, open := <-w.ResultChan():
			if !open {
				return nil, false, nil
			}
			pod, isPod := ev.Object.(*corev1.Pod)
			switch {
			case ev.Type == watch.Error:
				return nil, false, nil // expired: read again
			case !isPod || pod.Name != name:
			case ev.Type == watch.Deleted:
				return pod, false, ErrPodGone
			default:
				if ok, err := done(pod); ok || err != nil {
					return pod, ok, err
				}
			}
		}
	}
}
