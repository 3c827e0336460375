package kube

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"iexbox/internal/sandbox"
)

// Footprints: what one idle hardened iex Pod costs a node, rounded up,
// and so its memory request. Measured on the single-node test cluster:
// about 50 MiB under runc, about 78 MiB under gVisor counted in the Pod.
const (
	footprintRunc   = 56 << 20
	footprintGVisor = 80 << 20
)

// deleteTimeout bounds a deletion, which must happen even when the context
// that asked for the sandbox is long gone.
const deleteTimeout = 10 * time.Second

// Runtime starts sandboxes as Pods of one namespace. It is safe for
// concurrent use.
type Runtime struct {
	client kubernetes.Interface
	rest   *rest.Config // for attach and exec streams; nil in unit tests
	cfg    Config
	iso    isolation
	log    *slog.Logger
	obs    Observer
	uids   *sandbox.UIDs
	owners *sandbox.Owners
	// stream opens attach and exec streams; tests replace it.
	stream streamer
	// leaseLost is set once another instance holds this one's Lease.
	leaseLost atomic.Bool
}

// Name is the isolation runtime in use: "runsc" under the gVisor
// RuntimeClass, else "runc".
func (r *Runtime) Name() string {
	if r.iso.runtimeClass != "" {
		return "runsc"
	}
	return "runc"
}

func (r *Runtime) footprint() int64 { return r.iso.footprint() }

// observe reports one request that began at start.
func (r *Runtime) observe(op string, start time.Time, err error) {
	r.obs.KubernetesRequest(op, time.Since(start), err)
}

// deletePod deletes a Pod at once (grace 0); one already gone is fine.
func (r *Runtime) deletePod(ctx context.Context, name string) error {
	var grace int64
	began := time.Now()
	err := r.client.CoreV1().Pods(r.cfg.Namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if apierrors.IsNotFound(err) {
		err = nil
	}
	r.observe("delete", began, err)
	return err
}
