package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The keeper: while the backend is open it renews the instance's Lease,
// deletes this instance's Pods that no live Sandbox owns (a deletion that
// failed while the API server was away, a create cut off in flight), and
// deletes the Pods of instances whose Lease went stale.
const (
	keepInterval = renewInterval
	keepRetry    = 5 * time.Second // after a failure
	keepTimeout  = 20 * time.Second
)

// deletePods deletes the Pods matching selector for which del says so, and
// reports how many it deleted; each deleted Pod's session is told to gone.
func (r *Runtime) deletePods(ctx context.Context, selector string, del func(session string) bool) (int, error) {
	began := time.Now()
	list, err := r.client.CoreV1().Pods(r.cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	r.observe("list", began, err)
	if err != nil {
		return 0, fmt.Errorf("list pods: %w", err)
	}
	n := 0
	var errs []error
	for _, p := range list.Items {
		if !del(p.Labels[LabelSession]) {
			continue
		}
		if err := r.deletePod(ctx, p.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Sweep deletes every Pod of this instance. Call it before serving only.
func (r *Runtime) Sweep(ctx context.Context) (int, error) {
	return r.deletePods(ctx, LabelInstance+"="+r.cfg.Instance, func(string) bool { return true })
}

// Reap deletes the Pods of this instance no live Sandbox owns; safe while
// serving.
func (r *Runtime) Reap(ctx context.Context) (int, error) {
	waiting := r.owners.Unreleased() // before the list, so none is missed
	listed := map[string]bool{}
	n, err := r.deletePods(ctx, LabelInstance+"="+r.cfg.Instance, func(session string) bool {
		listed[session] = true
		return !r.owners.Owned(session)
	})
	for _, session := range waiting {
		if !listed[session] || err == nil { // gone some other way, or just deleted
			r.owners.Gone(session)
		}
	}
	return n, err
}

// keep runs the keeper until ctx ends.
func (r *Runtime) keep(ctx context.Context, lease string, log *slog.Logger) {
	wait, down := keepInterval, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		callCtx, cancel := context.WithTimeout(ctx, keepTimeout)
		now := time.Now()
		err := r.renewLease(callCtx, lease, now)
		if err == nil {
			var n int
			n, err = r.Reap(callCtx)
			if n > 0 {
				log.Info("deleted leftover pods", "count", n)
			}
			if err == nil {
				_, err = r.reapStale(callCtx, now) // logs each instance
			}
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && !down:
			log.Warn("kubernetes API failing: leftover pods are deleted once it answers", "err", err)
			wait, down = keepRetry, true
		case err == nil && down:
			log.Info("kubernetes API answers again")
			wait, down = keepInterval, false
		}
	}
}
