package kube

import (
	"context"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// streamer runs one attach or exec stream to a Pod until it ends.
type streamer interface {
	stream(ctx context.Context, pod string, opts runtime.Object, so remotecommand.StreamOptions) error
}

// apiStreams are attach and exec streams through the API server: the
// WebSocket protocol (a GET), and SPDY (a POST) where a proxy or an older
// API server refuses the WebSocket upgrade.
type apiStreams struct {
	client    kubernetes.Interface
	config    *rest.Config
	namespace string
}

func (a apiStreams) stream(ctx context.Context, pod string, opts runtime.Object, so remotecommand.StreamOptions) error {
	sub := "attach"
	if _, ok := opts.(*corev1.PodExecOptions); ok {
		sub = "exec"
	}
	u := a.client.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(a.namespace).Name(pod).SubResource(sub).
		VersionedParams(opts, scheme.ParameterCodec).URL()
	ws, err := remotecommand.NewWebSocketExecutor(a.config, http.MethodGet, u.String())
	if err != nil {
		return fmt.Errorf("%s stream: %w", sub, err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(a.config, http.MethodPost, u)
	if err != nil {
		return fmt.Errorf("%s stream: %w", sub, err)
	}
	// Only a refused upgrade falls back (the apimachinery copy of this test
	// has another error type and never matches).
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, httpstream.IsUpgradeFailure)
	if err != nil {
		return fmt.Errorf("%s stream: %w", sub, err)
	}
	return exec.StreamWithContext(ctx, so)
}
