package main

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// TestKubernetesDeploymentMetricsPrivate: the shipped Deployment, read
// as the server reads its environment, serves /metrics on a listener of
// its own, and its Service reaches only the public one.
func TestKubernetesDeploymentMetricsPrivate(t *testing.T) {
	f, err := os.Open("../../deploy/kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewYAMLOrJSONDecoder(f, 4096)
	var dep appsv1.Deployment
	var svc corev1.Service
	if err := dec.Decode(&dep); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&svc); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if dep.Kind != "Deployment" || svc.Kind != "Service" {
		t.Fatalf("deployment.yaml holds %q and %q, want a Deployment and a Service", dep.Kind, svc.Kind)
	}
	ctr := dep.Spec.Template.Spec.Containers[0]
	vars := map[string]string{}
	for _, e := range ctr.Env {
		vars[e.Name] = e.Value
	}
	cfg, err := parseConfig([]string{"iexbox"}, env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.metricsAddr == "" {
		t.Fatalf("no IEXBOX_METRICS_ADDR: /metrics is served on the public listener %s", cfg.addr)
	}
	_, public, _ := net.SplitHostPort(cfg.addr)
	_, private, _ := net.SplitHostPort(cfg.metricsAddr)
	if public == private {
		t.Errorf("metrics address %s shares the public port of %s", cfg.metricsAddr, cfg.addr)
	}
	ports := map[string]int32{}
	for _, p := range ctr.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, p := range svc.Spec.Ports {
		target := p.TargetPort.String()
		if n, ok := ports[target]; ok {
			target = strconv.Itoa(int(n))
		}
		if target != public {
			t.Errorf("the Service's port %s reaches container port %s, want only the public %s", p.Name, target, public)
		}
	}
}
