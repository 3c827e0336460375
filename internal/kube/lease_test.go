package kube

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"iexbox/internal/sandbox"
)

func runtimeOn(t *testing.T, client *fake.Clientset, instance string) *Runtime {
	cfg := testConfig()
	cfg.Instance = instance
	return &Runtime{client: client, cfg: cfg, log: slog.New(slog.NewTextHandler(t.Output(), nil)), obs: noObserver{}, owners: sandbox.NewOwners()}
}

// TestLeaseRanges: two instances sharing a cluster get different uid
// ranges; a restarted instance gets its own back; dropping frees it.
func TestLeaseRanges(t *testing.T) {
	client := fake.NewClientset()
	ctx := t.Context()
	now := time.Now()
	a, b := runtimeOn(t, client, "a"), runtimeOn(t, client, "b")
	leaseA, baseA, err := a.claimLease(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	leaseB, baseB, err := b.claimLease(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if leaseA == leaseB || baseA == baseB || baseA < a.cfg.UIDBase || baseB < b.cfg.UIDBase {
		t.Fatalf("a %s %d, b %s %d", leaseA, baseA, leaseB, baseB)
	}
	if d := baseA - baseB; d%sandbox.UIDRange != 0 {
		t.Errorf("ranges overlap: %d and %d", baseA, baseB)
	}
	again, base, err := runtimeOn(t, client, "a").claimLease(ctx, now)
	if err != nil || again != leaseA || base != baseA {
		t.Errorf("restart: %s %d %v, want %s %d", again, base, err, leaseA, baseA)
	}
	if err := a.dropLease(ctx, leaseA); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoordinationV1().Leases(a.cfg.ServerNamespace).Get(ctx, leaseA, metav1.GetOptions{}); err == nil {
		t.Error("lease still there after drop")
	}
}

// TestReapStale: the Pods of an instance whose Lease went stale are
// deleted by another live server, with the Lease; a live instance's and
// the server's own are left alone.
func TestReapStale(t *testing.T) {
	client := fake.NewClientset()
	ctx := t.Context()
	now := time.Now()
	live, dead, self := runtimeOn(t, client, "live"), runtimeOn(t, client, "dead"), runtimeOn(t, client, "self")
	claim := func(r *Runtime, at time.Time) string {
		name, _, err := r.claimLease(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		return name
	}
	claim(live, now.Add(-time.Minute))
	deadLease := claim(dead, now.Add(-staleAfter-time.Minute))
	claim(self, now.Add(-staleAfter-time.Minute)) // its own: never reaped by itself
	for _, p := range []struct{ instance, session string }{{"live", "l1"}, {"dead", "d1"}, {"dead", "d2"}, {"self", "s1"}} {
		pod := testConfig().pod(isolation{}, p.session, 1000, 80, 24)
		pod.Labels[LabelInstance] = p.instance
		if _, err := client.CoreV1().Pods(self.cfg.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := self.reapStale(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("reaped %d, %v; want 2", n, err)
	}
	pods := podSessions(ctx, t, client, self.cfg.Namespace)
	if len(pods) != 2 || !pods["l1"] || !pods["s1"] {
		t.Errorf("pods left %v, want l1 and s1", pods)
	}
	if _, err := client.CoordinationV1().Leases(self.cfg.ServerNamespace).Get(ctx, deadLease, metav1.GetOptions{}); err == nil {
		t.Error("stale lease not deleted")
	}
}

// TestRenewLease moves the renew time, and recreates a Lease another
// server deleted.
func TestRenewLease(t *testing.T) {
	client := fake.NewClientset()
	ctx := t.Context()
	r := runtimeOn(t, client, "a")
	then := time.Now().Add(-time.Hour)
	name, _, err := r.claimLease(ctx, then)
	if err != nil {
		t.Fatal(err)
	}
	leases := client.CoordinationV1().Leases(r.cfg.ServerNamespace)
	now := time.Now()
	if err := r.renewLease(ctx, name, now); err != nil {
		t.Fatal(err)
	}
	l, _ := leases.Get(ctx, name, metav1.GetOptions{})
	if stale(l, now) || l.Spec.RenewTime.Time.Before(now.Add(-time.Second)) {
		t.Errorf("not renewed: %v", l.Spec.RenewTime)
	}
	leases.Delete(ctx, name, metav1.DeleteOptions{})
	if err := r.renewLease(ctx, name, now); err != nil {
		t.Fatal(err)
	}
	if l, err := leases.Get(ctx, name, metav1.GetOptions{}); err != nil || holder(l) != "a" {
		t.Errorf("not recreated: %v %v", l, err)
	}
}

// TestSweepAndReap: Sweep deletes all of the instance's Pods; Reap only
// those no live Sandbox owns; neither touches another instance's.
func TestSweepAndReap(t *testing.T) {
	client := fake.NewClientset()
	ctx := t.Context()
	r := runtimeOn(t, client, "me")
	for _, p := range []struct{ instance, session string }{{"me", "owned"}, {"me", "left"}, {"other", "o1"}} {
		pod := testConfig().pod(isolation{}, p.session, 1000, 80, 24)
		pod.Labels[LabelInstance] = p.instance
		client.CoreV1().Pods(r.cfg.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	}
	r.owners.Own("owned")
	if n, err := r.Reap(ctx); err != nil || n != 1 {
		t.Fatalf("reap: %d %v", n, err)
	}
	if got := podSessions(ctx, t, client, r.cfg.Namespace); len(got) != 2 || !got["owned"] || !got["o1"] {
		t.Errorf("after reap: %v", got)
	}
	if n, err := r.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if got := podSessions(ctx, t, client, r.cfg.Namespace); len(got) != 1 || !got["o1"] {
		t.Errorf("after sweep: %v", got)
	}
}

func podSessions(ctx context.Context, t *testing.T, client *fake.Clientset, ns string) map[string]bool {
	t.Helper()
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range list.Items {
		got[p.Labels[LabelSession]] = true
	}
	return got
}

// TestLeaseTakenOver: after a partition another server deleted this
// instance's Lease as stale and a third instance claimed the same range.
// The first must neither renew nor delete it, and stops being ready.
func TestLeaseTakenOver(t *testing.T) {
	client := fake.NewClientset()
	ctx := t.Context()
	then := time.Now().Add(-time.Hour)
	a := runtimeOn(t, client, "a")
	name, _, err := a.claimLease(ctx, then)
	if err != nil {
		t.Fatal(err)
	}
	leases := client.CoordinationV1().Leases(a.cfg.ServerNamespace)
	if err := leases.Delete(ctx, name, metav1.DeleteOptions{}); err != nil { // reaped as stale
		t.Fatal(err)
	}
	taken := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelInstance: "b"}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("b"), RenewTime: &metav1.MicroTime{Time: then}}}
	if _, err := leases.Create(ctx, taken, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.renewLease(ctx, name, time.Now()); !errors.Is(err, errLeaseLost) {
		t.Errorf("renew of a lease b holds: %v, want errLeaseLost", err)
	}
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if err != nil || holder(l) != "b" || !l.Spec.RenewTime.Time.Equal(then) {
		t.Errorf("b's lease after a's renewal: %+v %v, want b's, not renewed", l, err)
	}
	if err := a.Ready(ctx); !errors.Is(err, errLeaseLost) {
		t.Errorf("Ready after the lease was lost: %v", err)
	}
	if err := a.dropLease(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Get(ctx, name, metav1.GetOptions{}); err != nil {
		t.Errorf("a's drop deleted b's lease: %v", err)
	}
}

// TestDropLeaseConditional: the delete names the Lease read, so one
// replaced between the read and the delete survives.
func TestDropLeaseConditional(t *testing.T) {
	client := fake.NewClientset()
	ctx := t.Context()
	a := runtimeOn(t, client, "a")
	name, _, err := a.claimLease(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var pre *metav1.Preconditions
	client.PrependReactor("delete", "leases", func(act k8stesting.Action) (bool, runtime.Object, error) {
		pre = act.(k8stesting.DeleteAction).GetDeleteOptions().Preconditions
		return false, nil, nil
	})
	if err := a.dropLease(ctx, name); err != nil {
		t.Fatal(err)
	}
	if pre == nil || pre.ResourceVersion == nil || pre.UID == nil {
		t.Errorf("delete without a precondition on the lease read: %+v", pre)
	}
}

func ptr[T any](v T) *T { return &v }
