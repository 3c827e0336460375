package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"iexbox/internal/sandbox"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

var _ sandbox.Images = (*Runtime)(nil)

// errImagesUnmanaged: the server does not load or remove images on the
// nodes (docs/deploy.md says how).
var errImagesUnmanaged = errors.New("images on Kubernetes nodes are loaded and removed by the operator (docs/deploy.md)")

// Image reports whether every node sandbox Pods may run on has the image
// ref, as the nodes report their images; images are never pulled. The
// nodes do not report labels: the image's versions stay unknown here.
func (r *Runtime) Image(ctx context.Context, ref string) (sandbox.Image, error) {
	nodes, err := r.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(r.cfg.NodeSelector).String()})
	if apierrors.IsForbidden(err) {
		// A server not allowed to read nodes cannot check: a missing image
		// then shows at the first Pod of the toolchain (ErrImageNeverPull).
		return sandbox.Image{Ref: ref, Labels: map[string]string{}}, nil
	}
	if err != nil {
		return sandbox.Image{}, fmt.Errorf("list nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return sandbox.Image{}, errors.New("no node matches -node-selector")
	}
	names := []string{ref, "docker.io/library/" + ref}
	var missing []string
	img := sandbox.Image{Ref: ref, Labels: map[string]string{}}
	for _, n := range nodes.Items {
		found := false
		for _, im := range n.Status.Images {
			if slices.ContainsFunc(im.Names, func(s string) bool { return slices.Contains(names, s) }) {
				found, img.Size = true, im.SizeBytes
				break
			}
		}
		if !found {
			missing = append(missing, n.Name)
		}
	}
	if len(missing) > 0 {
		return sandbox.Image{}, fmt.Errorf("%w: %s not on the nodes %s; load it there (docs/deploy.md)", sandbox.ErrImageMissing, ref, strings.Join(missing, ", "))
	}
	return img, nil
}

// ListImages is not done on Kubernetes: the operator manages the nodes'
// images.
func (r *Runtime) ListImages(context.Context, string) ([]sandbox.Image, error) {
	return nil, errImagesUnmanaged
}

// RemoveImage is not done on Kubernetes either.
func (r *Runtime) RemoveImage(context.Context, string) error { return errImagesUnmanaged }
