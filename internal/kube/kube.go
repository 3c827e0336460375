// Package kube runs sandboxes as hardened Pods of a Kubernetes cluster, one
// Pod per session, attached with a TTY through the API server. It is the
// only package that talks to Kubernetes.
//
// Goroutines: an open Backend runs one, the keeper (it renews the
// instance's Lease and removes leftovers: Pods of this instance no live
// Sandbox owns, and Pods of instances whose Lease went stale), joined by
// Close. Each Sandbox runs two, joined by its Close: the attach stream
// (which copies input and output) and the watch of its Pod (which records
// how the program ended). Each Process from Exec runs one, its exec
// stream, joined by its Close.
package kube

import (
	"errors"
	"time"

	"iexbox/internal/sandbox"
)

// Labels put on every Pod, so that a server finds its own Pods (and only
// those) after a crash; the same labels as the Docker backend's containers.
const (
	LabelInstance = "iexbox.instance"
	LabelSession  = "iexbox.session"
)

// Defaults of Config.
const (
	DefaultNamespace       = "iexbox-sandboxes"
	DefaultServerNamespace = "iexbox"
	DefaultRuntimeClass    = "gvisor"
)

// containerName is the name of the one container of a sandbox Pod.
const containerName = "iex"

// Errors Start wraps, so that a caller tells a full cluster from a broken one.
var (
	// ErrNoRoom means the cluster has no room for one more sandbox now: no
	// node can take the Pod, or a ResourceQuota refused it.
	ErrNoRoom = errors.New("no room for a sandbox in the cluster")
	// ErrImageMissing means the node has no sandbox image (never pulled).
	ErrImageMissing = errors.New("sandbox image missing on the node")
	// ErrPodGone means the Pod was deleted or failed by someone else.
	ErrPodGone = errors.New("sandbox pod deleted from outside")
)

// Config describes the Pods a Backend starts: the sandbox policy and what
// only Kubernetes has. The zero value of a field takes its default.
type Config struct {
	// Isolation in the Policy: "runsc" asks for RuntimeClass, "runc" for
	// none, "auto" for RuntimeClass when a probe Pod starts under it.
	sandbox.Policy

	Instance        string // value of the iexbox.instance label
	Kubeconfig      string // "": in-cluster when in a Pod, else the usual rules
	Namespace       string // the sandbox Pods'
	ServerNamespace string // the servers', holding each instance's Lease
	RuntimeClass    string // the gVisor RuntimeClass
	// EgressTargets are host:port addresses no probe Pod may reach (an IP
	// address, or NodeTarget for the node's own); none: the API server and
	// the node's kubelet (NodeTarget:10250).
	EgressTargets []string
	// NodeSelector places sandbox Pods on matching nodes only.
	NodeSelector map[string]string
	// StartTimeout bounds the wait for a Pod to be scheduled and running.
	StartTimeout time.Duration
}

func (c Config) withDefaults() Config {
	c.Policy = c.Policy.WithDefaults()
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.ServerNamespace == "" {
		c.ServerNamespace = DefaultServerNamespace
	}
	if c.RuntimeClass == "" {
		c.RuntimeClass = DefaultRuntimeClass
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = defaultStartTimeout
	}
	return c
}

// defaultStartTimeout bounds scheduling, image and container start of one
// Pod; the session's own bound (a minute) is longer, so the cause is told.
const defaultStartTimeout = 45 * time.Second

// Observer is told about every Kubernetes API request (metrics). It must
// be safe for concurrent use.
type Observer interface {
	KubernetesRequest(op string, took time.Duration, err error)
}

type noObserver struct{}

func (noObserver) KubernetesRequest(string, time.Duration, error) {}
