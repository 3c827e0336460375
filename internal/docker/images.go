package docker

import (
	"context"
	"fmt"
	"strings"

	"iexbox/internal/sandbox"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/errdefs"
)

var _ sandbox.Images = (*Runtime)(nil)

// Image describes the image ref on the engine.
func (r *Runtime) Image(ctx context.Context, ref string) (sandbox.Image, error) {
	info, err := r.api.ImageInspect(ctx, ref)
	switch {
	case errdefs.IsNotFound(err):
		return sandbox.Image{}, fmt.Errorf("%w: %s not on the Docker Engine", ErrImageMissing, ref)
	case err != nil:
		return sandbox.Image{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	img := sandbox.Image{Ref: ref, Size: info.Size, Labels: map[string]string{}}
	if info.Config != nil && info.Config.Labels != nil {
		img.Labels = info.Config.Labels
	}
	return img, nil
}

// ListImages lists the engine's images of repository, one per tag.
func (r *Runtime) ListImages(ctx context.Context, repository string) ([]sandbox.Image, error) {
	list, err := r.api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", repository))})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []sandbox.Image
	for _, img := range list {
		for _, tag := range img.RepoTags {
			if strings.HasPrefix(tag, repository+":") {
				out = append(out, sandbox.Image{Ref: tag, Labels: img.Labels, Size: img.Size})
			}
		}
	}
	return out, nil
}

// RemoveImage removes the image ref (its tag, and the image once no tag
// and no container holds it).
func (r *Runtime) RemoveImage(ctx context.Context, ref string) error {
	_, err := r.api.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove image %s: %w", ref, err)
	}
	return nil
}
