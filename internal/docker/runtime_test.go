package docker

import (
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"

	"iexbox/internal/sandbox"
)

func TestCheck(t *testing.T) {
	down := errors.New("connection refused")
	tests := []struct {
		name        string
		pingErr     error
		imageErr    error
		wantErr     bool
		wantMissing bool
	}{
		{"ready", nil, nil, false, false},
		{"engine down", down, nil, true, false},
		{"image missing", nil, errdefs.NotFound(errors.New("No such image")), true, true},
		{"image inspect fails", nil, errdefs.System(errors.New("oops")), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI()
			f.pingErr, f.imageErr = tt.pingErr, tt.imageErr
			rt := newTestRuntime(t, f, Config{Policy: sandbox.Policy{Image: "iexbox-sandbox:test"}})
			err := rt.Check(t.Context())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Check = %v, want error: %v", err, tt.wantErr)
			}
			if errors.Is(err, ErrImageMissing) != tt.wantMissing {
				t.Errorf("Check = %v, ErrImageMissing: %v", err, tt.wantMissing)
			}
			if tt.wantMissing && (!strings.Contains(err.Error(), "make image") || !strings.Contains(err.Error(), "iexbox-sandbox:test")) {
				t.Errorf("Check = %q, want it to name the image and `make image`", err)
			}
			if tt.pingErr != nil && !errors.Is(err, tt.pingErr) {
				t.Errorf("Check = %v, want it to wrap the engine's error", err)
			}
			if tt.pingErr == nil && f.imageRef != "iexbox-sandbox:test" {
				t.Errorf("inspected image %q", f.imageRef)
			}
		})
	}
}

func TestSweep(t *testing.T) {
	ids := []string{"aaa", "bbb", "ccc"}
	tests := []struct {
		name        string
		removeErr   map[string]error
		listErr     error
		wantRemoved int
		wantErr     bool
	}{
		{"all removed", nil, nil, 3, false},
		{"one already gone", map[string]error{"bbb": errdefs.NotFound(errors.New("gone"))}, nil, 3, false},
		{"one being removed", map[string]error{"ccc": errdefs.Conflict(errors.New("in progress"))}, nil, 3, false},
		{"one fails", map[string]error{"aaa": errors.New("engine hiccup")}, nil, 2, true},
		{"list fails", nil, errors.New("engine down"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI()
			for _, id := range ids {
				f.list = append(f.list, container.Summary{ID: id})
			}
			f.removeErr, f.listErr = tt.removeErr, tt.listErr
			rt := newTestRuntime(t, f, Config{Instance: "box-8080"})
			n, err := rt.Sweep(t.Context())
			if n != tt.wantRemoved || (err != nil) != tt.wantErr {
				t.Errorf("Sweep = %d, %v; want %d, error: %v", n, err, tt.wantRemoved, tt.wantErr)
			}

			o := f.listOpts
			if !o.All {
				t.Errorf("list %+v: want stopped containers too", o)
			}
			if got := o.Filters.Get("label"); len(got) != 1 || got[0] != "iexbox.instance=box-8080" {
				t.Errorf("list filter labels %v, want only this instance's", got)
			}
			if len(o.Filters.Keys()) != 1 {
				t.Errorf("list filters %v, want the label only", o.Filters.Keys())
			}
			if tt.listErr != nil {
				if len(f.removed) != 0 {
					t.Errorf("removed %v after a failed list", f.removed)
				}
				return
			}
			if len(f.removed) != len(ids) {
				t.Errorf("removed %v, want each of %v", f.removed, ids)
			}
			for _, id := range ids {
				if !contains(f.removed, id) {
					t.Errorf("%s not removed", id)
				}
			}
			for _, o := range f.removeOpts {
				if !o.Force {
					t.Errorf("remove %+v, want Force", o)
				}
			}
		})
	}
}
