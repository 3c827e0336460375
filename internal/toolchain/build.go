package toolchain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"iexbox/internal/sandbox"
	sandboximage "iexbox/sandbox-image"
)

// Labels the recipe writes on every image it builds.
const (
	LabelElixir   = "iexbox.elixir"   // System.version()
	LabelOTP      = "iexbox.otp"      // the full OTP version, such as 29.1.1
	LabelPackages = "iexbox.packages" // pkg=version,... of the toolchain's packages
)

// Versions are what an image really holds, read from its labels.
type Versions struct {
	Elixir   string            `json:"elixir"`
	OTP      string            `json:"otp"`
	Packages map[string]string `json:"packages"` // Debian package → version
}

// VersionsOf reads Versions from an image's labels.
func VersionsOf(labels map[string]string) Versions {
	v := Versions{Elixir: labels[LabelElixir], OTP: labels[LabelOTP], Packages: map[string]string{}}
	for _, kv := range strings.Split(labels[LabelPackages], ",") {
		if k, val, ok := strings.Cut(kv, "="); ok {
			v.Packages[k] = val
		}
	}
	return v
}

// Build builds tc's image with the recipe of the default image (the same
// debootstrap, hardening and smoke tests), unless an image of its hash is
// there already; it reports whether it built. The recipe's progress and
// errors go to w. dir is the toolchains folder, recorded on the image so
// that Prune knows which images it owns.
func Build(ctx context.Context, tc *Toolchain, dir string, w io.Writer) (built bool, err error) {
	work, err := os.MkdirTemp("", "iexbox-toolchain-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(work)
	script := filepath.Join(work, "build.sh")
	if err := os.WriteFile(script, sandboximage.BuildScript, 0o700); err != nil {
		return false, err
	}
	env := append(os.Environ(),
		"IMAGE="+tc.Image,
		"SUITE="+tc.Debian,
		"PACKAGES="+strings.Join(tc.Packages, " "),
		"HASH="+tc.Hash,
		"LABELS="+LabelName+"="+tc.Name+"\n"+LabelDir+"="+dir,
	)
	if len(tc.Lib) > 0 {
		lib := filepath.Join(work, "src")
		for p, data := range tc.Lib {
			f := filepath.Join(lib, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				return false, err
			}
			if err := os.WriteFile(f, data, 0o644); err != nil {
				return false, err
			}
		}
		env = append(env, "LIB_DIR="+lib)
	}
	var out strings.Builder
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Env = env
	cmd.Stdout = io.MultiWriter(w, &out)
	cmd.Stderr = io.MultiWriter(w, &out)
	if err := cmd.Run(); err != nil {
		return false, errors.New(cause(tc.Name, out.String(), err))
	}
	return !strings.Contains(out.String(), "image up to date"), nil
}

// cause is what the recipe's output says went wrong, naming the
// toolchain's file (name/toolchain.json, name/lib/...).
func cause(name, out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var picked []string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "Couldn't find these debs"):
			picked = append(picked, name+"/toolchain.json: no such Debian package: "+strings.TrimSpace(l[strings.LastIndex(l, ":")+1:]))
		case strings.Contains(l, "└─ lib/"):
			where, _, _ := strings.Cut(strings.TrimSpace(l[strings.Index(l, "lib/"):]), " ")
			picked = append(picked, name+"/"+strings.TrimSuffix(where, ":"))
		case strings.HasPrefix(strings.TrimSpace(l), "error:"), strings.HasPrefix(strings.TrimSpace(l), "** ("):
			picked = append(picked, strings.TrimSpace(l))
		}
	}
	picked = slices.Compact(picked)
	if len(picked) == 0 && len(lines) > 0 {
		picked = append([]string{name + "/toolchain.json: build failed"}, lines[len(lines)-1:]...)
	}
	return strings.Join(picked, ": ") + " (" + err.Error() + ")"
}

// Prune removes the images built from dir whose toolchain is no longer in
// s (gone, or changed and so rebuilt under another hash), and reports what
// it removed. Images built from other folders are not its to remove.
func Prune(ctx context.Context, imgs sandbox.Images, s *Set, dir string) ([]string, error) {
	list, err := imgs.ListImages(ctx, ImageRepository)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, tc := range s.Built() {
		keep[tc.Image] = true
	}
	var removed []string
	var errs []error
	for _, img := range list {
		if img.Labels[LabelDir] != dir || keep[img.Ref] {
			continue
		}
		if err := imgs.RemoveImage(ctx, img.Ref); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, img.Labels[LabelName]+" ("+img.Ref+")")
	}
	return removed, errors.Join(errs...)
}

// Find checks that every toolchain's image is on imgs and reads its
// versions into the Set. A missing one is an error naming it and the
// command that builds it: the server never builds.
func (s *Set) Find(ctx context.Context, imgs sandbox.Images, dir string) error {
	for _, n := range s.Names() {
		tc := s.byName[n]
		img, err := imgs.Image(ctx, tc.Image)
		if errors.Is(err, sandbox.ErrImageMissing) && n != Default {
			return fmt.Errorf("toolchain %s: image %s missing; build it with `iexbox toolchains %s`: %w", n, tc.Image, dir, err)
		}
		if err != nil {
			return fmt.Errorf("toolchain %s: %w", n, err)
		}
		tc.Versions = VersionsOf(img.Labels)
		tc.Size = img.Size
	}
	return nil
}
