package sandbox

import (
	"context"
	"errors"
)

// ErrImageMissing is wrapped when an image a sandbox needs is not where
// sandboxes run (the engine, or a node): the server never pulls one.
var ErrImageMissing = errors.New("sandbox image missing")

// Images is what a backend knows of the images its sandboxes may run:
// the server checks at start that every toolchain's is there, and
// `iexbox toolchains` lists and removes them. Implementations must be
// safe for concurrent use.
type Images interface {
	// Image describes the image ref, and returns an error wrapping
	// ErrImageMissing when it is absent.
	Image(ctx context.Context, ref string) (Image, error)
	// ListImages lists the images of one repository (every tag).
	ListImages(ctx context.Context, repository string) ([]Image, error)
	// RemoveImage removes the image ref; an absent one is no error.
	RemoveImage(ctx context.Context, ref string) error
}

// Image is one image of a backend.
type Image struct {
	Ref    string // repository:tag
	Labels map[string]string
	Size   int64 // bytes, unpacked
}
