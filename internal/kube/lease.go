package kube

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"iexbox/internal/sandbox"
)

// Leases. Each instance holds one Lease in the server namespace, named for
// the uid range it claims (iexbox-uids-<n>: names are unique, so the claim
// is atomic however many servers start at once), labelled with the
// instance, and renewed while it serves. Pods of an instance whose Lease
// has not been renewed for staleAfter are deleted by any live server,
// then the Lease too, which frees its range.
const (
	renewInterval = 30 * time.Second
	staleAfter    = 5 * time.Minute
)

// leaseName is the name of the Lease claiming uid range n.
func leaseName(n int) string { return "iexbox-uids-" + strconv.Itoa(n) }

// claimLease claims a uid range and the instance's Lease: the one this
// instance already holds (a restart after a crash), else the first free
// range from one derived from the instance's name. It returns the Lease's
// name and the range's first uid.
func (r *Runtime) claimLease(ctx context.Context, now time.Time) (string, int, error) {
	leases := r.client.CoordinationV1().Leases(r.cfg.ServerNamespace)
	own, err := leases.List(ctx, metav1.ListOptions{LabelSelector: LabelInstance + "=" + r.cfg.Instance})
	if err != nil {
		return "", 0, fmt.Errorf("claim lease: %w", err)
	}
	for _, l := range own.Items {
		if n, ok := slotOf(l.Name); ok && holder(&l) == r.cfg.Instance {
			l.Spec.RenewTime = &metav1.MicroTime{Time: now}
			if _, err := leases.Update(ctx, &l, metav1.UpdateOptions{}); err != nil {
				return "", 0, fmt.Errorf("take back lease %s: %w", l.Name, err)
			}
			return l.Name, r.cfg.SlotBase(n), nil
		}
	}
	first := sandbox.FirstSlot(r.cfg.Instance)
	duration := int32(staleAfter / time.Second)
	for i := range sandbox.UIDSlots {
		n := (first + i) % sandbox.UIDSlots
		instance := r.cfg.Instance
		_, err := leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: leaseName(n), Labels: map[string]string{LabelInstance: instance}},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       &instance,
				LeaseDurationSeconds: &duration,
				AcquireTime:          &metav1.MicroTime{Time: now},
				RenewTime:            &metav1.MicroTime{Time: now},
			},
		}, metav1.CreateOptions{})
		if err == nil {
			return leaseName(n), r.cfg.SlotBase(n), nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return "", 0, fmt.Errorf("claim lease: %w", err)
		}
	}
	return "", 0, errors.New("claim lease: every uid range is held by another instance on this cluster")
}

func slotOf(name string) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(name, "iexbox-uids-%d", &n); err != nil || n < 0 || n >= sandbox.UIDSlots || leaseName(n) != name {
		return 0, false
	}
	return n, true
}

func holder(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// errLeaseLost means the instance's Lease is held by another instance:
// after a partition longer than staleAfter, another server deleted it as
// stale and a third claimed the same uid range. Renewing it then would
// have two instances run sandboxes as the same uids.
var errLeaseLost = errors.New("the instance's lease (its uid range) is held by another instance")

// renewLease renews the instance's Lease if it still holds it; one deleted
// meanwhile (it looked stale to another server, which then deleted this
// instance's Pods) is created again unless another instance created it
// first. The update carries the resourceVersion read, so a change between
// the read and the write fails rather than being overwritten.
func (r *Runtime) renewLease(ctx context.Context, name string, now time.Time) error {
	leases := r.client.CoordinationV1().Leases(r.cfg.ServerNamespace)
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		r.log.Warn("instance lease was deleted by another server: created again", "lease", name)
		instance := r.cfg.Instance
		duration := int32(staleAfter / time.Second)
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelInstance: instance}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &instance, LeaseDurationSeconds: &duration,
				AcquireTime: &metav1.MicroTime{Time: now}, RenewTime: &metav1.MicroTime{Time: now}},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return r.loseLease(name, "another instance")
		}
		return err
	}
	if err != nil {
		return err
	}
	if h := holder(l); h != r.cfg.Instance || l.Labels[LabelInstance] != r.cfg.Instance {
		return r.loseLease(name, h)
	}
	l.Spec.RenewTime = &metav1.MicroTime{Time: now}
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// loseLease marks the Lease lost for good: Ready fails from now on, so no
// new session starts under uids another instance now hands out.
func (r *Runtime) loseLease(name, by string) error {
	if !r.leaseLost.Swap(true) {
		r.log.Error("instance lease taken over: no new sandboxes; restart this server to claim a range again", "lease", name, "holder", by)
	}
	return fmt.Errorf("%w (%s holds %s)", errLeaseLost, by, name)
}

// reapStale deletes the Pods of every other instance whose Lease is stale,
// then the Lease, and reports how many Pods it deleted.
func (r *Runtime) reapStale(ctx context.Context, now time.Time) (int, error) {
	leases := r.client.CoordinationV1().Leases(r.cfg.ServerNamespace)
	list, err := leases.List(ctx, metav1.ListOptions{LabelSelector: LabelInstance})
	if err != nil {
		return 0, fmt.Errorf("list leases: %w", err)
	}
	deleted := 0
	for _, l := range list.Items {
		instance := l.Labels[LabelInstance]
		if instance == r.cfg.Instance || !stale(&l, now) {
			continue
		}
		n, err := r.deletePods(ctx, LabelInstance+"="+instance, func(string) bool { return true })
		deleted += n
		if err != nil {
			return deleted, err
		}
		rv := l.ResourceVersion
		err = leases.Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return deleted, fmt.Errorf("delete stale lease %s: %w", l.Name, err)
		}
		r.log.Info("removed a stale instance", "instance", instance, "lease", l.Name, "pods", n)
	}
	return deleted, nil
}

// stale tells whether a Lease went unrenewed for staleAfter.
func stale(l *coordinationv1.Lease, now time.Time) bool {
	last := l.CreationTimestamp.Time
	if l.Spec.RenewTime != nil {
		last = l.Spec.RenewTime.Time
	}
	return now.Sub(last) > staleAfter
}

// dropLease deletes the instance's Lease, giving its uid range back, if
// the instance still holds it; the delete is conditional on the Lease read
// (uid and resourceVersion), so one another instance took meanwhile stays.
func (r *Runtime) dropLease(ctx context.Context, name string) error {
	leases := r.client.CoordinationV1().Leases(r.cfg.ServerNamespace)
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if holder(l) != r.cfg.Instance {
		return nil // another instance's now
	}
	uid, rv := l.UID, l.ResourceVersion
	err = leases.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
