package kube

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"iexbox/internal/sandbox"
)

// openTimeout bounds Open: the checks, the lease, the sweep and the probes.
const openTimeout = 3 * time.Minute

// Client-side rate limits: client-go's defaults (5 requests a second) would
// queue a burst of session starts behind each other.
const (
	clientQPS   = 50
	clientBurst = 100
)

// Backend is a Kubernetes cluster opened as a sandbox.Backend: its Runtime,
// the warnings of its set-up, the instance's Lease and the keeper. It is
// safe for concurrent use.
type Backend struct {
	*Runtime
	warnings []string
	lease    string

	stopKeep context.CancelFunc
	kept     sync.WaitGroup
}

var _ sandbox.Backend = (*Backend)(nil)

// Open connects to the cluster the configuration names and makes it ready
// to serve: the sandbox namespace answers, the instance claims its Lease
// and uid range, its leftover Pods are deleted, and probe Pods pick the
// isolation (under "auto", the gVisor RuntimeClass when a hardened probe
// Pod runs the BEAM under it, else runc with a warning, and runc only when
// a probe Pod cannot reach the API server). The caller must Close the
// Backend.
func Open(ctx context.Context, cfg Config, log *slog.Logger, obs Observer) (*Backend, error) {
	quietClientLog(log)
	rc, err := restConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = clientQPS, clientBurst
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	targets, err := egressTargets(cfg.EgressTargets, rc.Host)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return open(ctx, client, apiStreams{client: client, config: rc, namespace: cfg.Namespace}, targets, cfg, log, obs)
}

// restConfig is the in-cluster configuration when running in a Pod and no
// kubeconfig is named, else the usual kubeconfig rules ($KUBECONFIG,
// ~/.kube/config) or the named file.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		rc, err := rest.InClusterConfig()
		if err == nil {
			return rc, nil
		}
		if !errors.Is(err, rest.ErrNotInCluster) {
			return nil, fmt.Errorf("in-cluster configuration: %w", err)
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return rc, nil
}

// open is Open on a given client; targets are the addresses no probe Pod
// may reach.
func open(ctx context.Context, client kubernetes.Interface, st streamer, targets []string, cfg Config, log *slog.Logger, obs Observer) (_ *Backend, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.UIDBase == 0 {
		if _, err := fixedUID(cfg.User); err != nil {
			return nil, err
		}
	}
	if obs == nil {
		obs = noObserver{}
	}
	r := &Runtime{client: client, cfg: cfg, log: log, obs: obs, stream: st, owners: sandbox.NewOwners()}
	b := &Backend{Runtime: r}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if err := r.Ready(ctx); err != nil {
		return nil, err
	}
	lease, base, err := r.claimLease(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	b.lease = lease
	defer func() {
		if err != nil {
			dropCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
			defer cancel()
			if dropErr := r.dropLease(dropCtx, lease); dropErr != nil {
				log.Warn("give back the lease", "lease", lease, "err", dropErr)
			}
		}
	}()
	r.uids = sandbox.NewUIDs(base)
	n, err := r.Sweep(ctx)
	if err != nil {
		return nil, fmt.Errorf("delete leftover pods: %w", err)
	}
	if n > 0 {
		log.Info("deleted leftover pods", "count", n)
	}
	if err := b.pickIsolation(ctx, targets, log); err != nil {
		return nil, err
	}
	if cfg.UIDBase > 0 {
		log.Info("sandbox uids", "from", base, "to", base+sandbox.UIDRange-1, "lease", lease)
	}
	log.Info("kubernetes backend", "namespace", cfg.Namespace, "runtime_class", r.iso.runtimeClass, "seccomp", r.seccompName())
	keepCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	b.stopKeep = stop
	b.kept.Go(func() { r.keep(keepCtx, lease, log) })
	return b, nil
}

// pickIsolation runs the same probe Pod under each candidate isolation,
// best first, until one passes every check (the BEAM starts, no egress
// target answers, no user namespace, gVisor's kernel under the
// RuntimeClass), and notes each fallback for the operator. A runtime asked
// for explicitly has only its own candidates: when none passes, Open fails.
func (b *Backend) pickIsolation(ctx context.Context, targets []string, log *slog.Logger) error {
	r := b.Runtime
	uid, release, err := r.uid()
	if err != nil {
		return err
	}
	defer release()
	podResources, err := r.podResources(ctx, uid)
	if err != nil {
		return err
	}
	if !podResources {
		b.warn(log, "the cluster has no Pod-level resources (PodLevelResources): each sandbox's apart container gets a fixed share of -memory and -cpus, and iex the rest")
	}
	var failed []string
	var refusal error         // the first check that failed, as the caller may test it
	skip := map[string]bool{} // runtime classes whose network or kernel failed: no profile changes those
	candidates := r.cfg.candidates()
	for _, iso := range candidates {
		if skip[iso.runtimeClass] {
			continue
		}
		iso.podResources = podResources
		began := time.Now()
		err := r.probe(ctx, iso, uid, targets)
		log.Debug("probe", "runtime_class", iso.runtimeClass, "seccomp", iso.seccomp, "took", time.Since(began).Round(time.Millisecond), "err", err)
		if err != nil {
			failed = append(failed, describe(iso)+": "+err.Error())
			if errors.Is(err, errEgressOpen) || errors.Is(err, errNotGVisor) || errors.Is(err, errUserNS) {
				refusal = cmp.Or(refusal, err)
			}
			if errors.Is(err, errEgressOpen) || errors.Is(err, errNotGVisor) {
				skip[iso.runtimeClass] = true
			}
			continue
		}
		r.iso = iso
		for _, f := range failed {
			b.warn(log, "probe failed, falling back: "+f)
		}
		if iso.runtimeClass == "" && candidates[0].runtimeClass != "" {
			b.warn(log, "sandboxes run under runc, not gVisor")
		}
		if iso.seccomp == "" && !r.cfg.EngineSeccomp {
			b.warn(log, "sandboxes run under the node's RuntimeDefault seccomp profile: install deploy/kubernetes/seccomp on every node")
		}
		log.Info("probe passed: no egress, no user namespace", "runtime_class", iso.runtimeClass, "egress_targets", strings.Join(targets, ","))
		return nil
	}
	for _, f := range failed {
		log.Error("probe failed: " + f)
	}
	if refusal != nil {
		return fmt.Errorf("refusing to run sandboxes: %w; all probes: %s", refusal, strings.Join(failed, "; "))
	}
	return fmt.Errorf("no probe pod ran: %s", strings.Join(failed, "; "))
}

// podResources tells whether the API server keeps a Pod's own resources
// (spec.resources): a server-side dry run of a sandbox Pod that has them,
// which creates nothing.
func (r *Runtime) podResources(ctx context.Context, uid int64) (bool, error) {
	pod := r.cfg.pod(isolation{podResources: true}, "dryrun-"+uuid.NewString()[:8], uid, 80, 24)
	began := time.Now()
	got, err := r.client.CoreV1().Pods(r.cfg.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	r.observe("create", began, err)
	if err != nil {
		return false, fmt.Errorf("dry run of a sandbox pod: %w", createError(err))
	}
	return got.Spec.Resources != nil && len(got.Spec.Resources.Limits) > 0, nil
}

func describe(iso isolation) string {
	rc, sc := iso.runtimeClass, iso.seccomp
	if rc == "" {
		rc = "runc (no RuntimeClass)"
	} else {
		rc = "RuntimeClass " + rc
	}
	if sc == "" {
		sc = "RuntimeDefault"
	}
	return rc + " with seccomp " + sc
}

func (r *Runtime) seccompName() string {
	if r.iso.seccomp == "" {
		return "RuntimeDefault"
	}
	return "Localhost " + r.iso.seccomp
}

func (b *Backend) warn(log *slog.Logger, w string) {
	log.Warn(w)
	b.warnings = append(b.warnings, w)
}

// Footprint is what one idle sandbox Pod costs a node under the isolation
// in use; it is also each Pod's memory request.
func (b *Backend) Footprint() int64 { return b.footprint() }

// Capacity is unknown: the nodes' allocatable memory is the cluster's to
// weigh (the server may not read Nodes), and a ResourceQuota bounds the
// namespace.
func (b *Backend) Capacity() int64 { return 0 }

// Prompt is iex's first prompt: every sandbox runs the policy's iex.
func (b *Backend) Prompt() []byte { return []byte(sandbox.Prompt) }

// Warnings are the notes of Open for the operator.
func (b *Backend) Warnings() []string { return b.warnings }

// Ready reports whether the API server answers for the sandbox namespace
// and the instance still holds its Lease.
func (r *Runtime) Ready(ctx context.Context) error {
	if r.leaseLost.Load() {
		return errLeaseLost
	}
	began := time.Now()
	_, err := r.client.CoreV1().Pods(r.cfg.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: LabelInstance + "=" + r.cfg.Instance, Limit: 1,
	})
	r.observe("list", began, err)
	if err != nil {
		return fmt.Errorf("kubernetes API, namespace %s: %w", r.cfg.Namespace, err)
	}
	return nil
}

// Close stops the keeper and gives the Lease (the uid range) back.
// Sandboxes must be closed first.
func (b *Backend) Close() error {
	b.stopKeep()
	b.kept.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	if n, err := b.Reap(ctx); err == nil && n > 0 {
		b.log.Info("deleted leftover pods", "count", n)
	}
	if err := b.dropLease(ctx, b.lease); err != nil {
		b.log.Warn("give back the lease", "lease", b.lease, "err", err)
		return err
	}
	return nil
}
