package kube

import (
	"flag"
	"fmt"
	"strings"

	"iexbox/internal/flagenv"
	"iexbox/internal/sandbox"
)

// Flags are the Kubernetes backend's own settings as command-line flags;
// the sandbox policy has flags of its own (sandbox.PolicyFlags).
type Flags struct {
	Kubeconfig, Namespace, ServerNamespace, RuntimeClass string
	NodeSelector                                         string // key=value,key=value
}

// RegisterFlags binds f to its flags in fs.
func (f *Flags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "kubernetes: kubeconfig file (default: the in-cluster configuration when running in a Pod, else $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&f.Namespace, "namespace", DefaultNamespace, "kubernetes: namespace of the sandbox Pods")
	fs.StringVar(&f.ServerNamespace, "server-namespace", DefaultServerNamespace, "kubernetes: namespace of the servers, where each instance renews its Lease")
	fs.StringVar(&f.RuntimeClass, "runtime-class", DefaultRuntimeClass, "kubernetes: the gVisor RuntimeClass; -runtime auto uses it when a probe Pod runs under it, runsc requires it, runc uses none")
	fs.StringVar(&f.NodeSelector, "node-selector", "", "kubernetes: comma-separated key=value node labels sandbox Pods must be placed on")
}

// Config is the backend's configuration from the flags, over policy p;
// it refuses a node selector that does not parse.
func (f Flags) Config(p sandbox.Policy, instance string) (Config, error) {
	sel, err := parseSelector(f.NodeSelector)
	if err != nil {
		return Config{}, err
	}
	return Config{Policy: p, Instance: instance, Kubeconfig: f.Kubeconfig, Namespace: f.Namespace,
		ServerNamespace: f.ServerNamespace, RuntimeClass: f.RuntimeClass, NodeSelector: sel}, nil
}

// parseSelector reads key=value,key=value.
func parseSelector(s string) (map[string]string, error) {
	var m map[string]string
	for _, kv := range flagenv.List(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-node-selector %q: want key=value pairs", s)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}
