// Package toolchain owns the toolchains a lesson picks from: the Debian
// release (and so the Elixir and OTP versions), the packaged libraries and
// the lesson's own modules a sandbox runs with. It loads them from a folder
// (each folder holding a toolchain.json is one, named by its path, by the
// rules exercises follow), names each one's image by a hash of its content,
// and builds and checks those images for `iexbox toolchains`. The server
// never builds: it only finds the images.
package toolchain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"iexbox/internal/exercise"
	sandboximage "iexbox/sandbox-image"
)

// Default is the name of the built-in toolchain: the image every sandbox
// runs unless a lesson asks for another. No folder may take the name.
const Default = "default"

// Toolchain is one toolchain as loaded from its folder.
type Toolchain struct {
	Name        string   // its folder's path under the toolchains folder; Default for the built-in one
	Debian      string   // the Debian release its packages come from
	Packages    []string // Debian packages installed besides Elixir, sorted
	Description string
	Lib         map[string][]byte // lib/**/*.ex by path under the folder (lib/parser.ex)
	Hash        string            // sha256 of the recipe and of everything above that shapes the image
	Image       string            // the image's reference, named by Hash
	Versions    Versions          // what the image holds; known once Find has looked
	Size        int64             // the image's size in bytes; known once Find has looked
}

// ImageRepository is the repository of every toolchain's image; the tag
// is the toolchain's hash, so a changed folder is a new image.
const ImageRepository = "iexbox-toolchain"

// Labels on a toolchain's image, besides the build's own (see build.sh).
const (
	LabelName = "iexbox.toolchain"     // the toolchain's name
	LabelDir  = "iexbox.toolchain.dir" // the toolchains folder it was built from
)

// Limits on a toolchain's folder.
const (
	maxManifest    = 16 << 10
	maxPackages    = 50
	maxDescription = 1 << 10
	maxLibFile     = 256 << 10
	maxLibTotal    = 2 << 20
	maxLibFiles    = 200
	// MaxNameLen bounds a toolchain's name, as hello's toolchain field is.
	MaxNameLen = 128
)

// Debian releases a toolchain may name, and what each gives.
var debianReleases = []string{"trixie", "forky"}

// validPackage is the form of a Debian package name.
var validPackage = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// manifest is toolchain.json.
type manifest struct {
	Debian      string   `json:"debian"`
	Packages    []string `json:"packages"`
	Description string   `json:"description"`
}

// Set is the toolchains loaded at start, the built-in one included.
// Lookups never touch the file system. It is safe for concurrent use.
type Set struct {
	byName map[string]*Toolchain
}

// Builtin returns a Set holding only the default toolchain, which runs
// image.
func Builtin(image string) *Set {
	return &Set{byName: map[string]*Toolchain{Default: {Name: Default, Debian: "trixie", Image: image,
		Description: "the server's default image (-image)"}}}
}

// Load reads every toolchain under fsys into a Set beside the default
// toolchain, which runs defaultImage: each folder that holds a
// toolchain.json is one, at any depth. The first problem found is an
// error naming the file. fsys should not follow symbolic links out of its
// root (os.Root's FS does not).
func Load(fsys fs.FS, defaultImage string) (*Set, error) {
	s := Builtin(defaultImage)
	err := exercise.WalkFolders(fsys, "toolchain.json", "toolchains", func(dir string) error {
		tc, err := load(fsys, dir)
		if err != nil {
			return err
		}
		s.byName[tc.Name] = tc
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load toolchains: %w", err)
	}
	if len(s.byName) == 1 {
		return nil, errors.New("load toolchains: no folder holds a toolchain.json")
	}
	return s, nil
}

// load reads the toolchain in folder dir.
func load(fsys fs.FS, dir string) (*Toolchain, error) {
	file := dir + "/toolchain.json"
	switch {
	case dir == ".":
		return nil, errors.New("toolchain.json: a toolchain is a folder under the toolchains folder, not the folder itself")
	case !exercise.ValidName.MatchString(dir) || len(dir) > MaxNameLen:
		return nil, fmt.Errorf("%s: the toolchain's name %q must match %s and be at most %d bytes", file, dir, exercise.ValidName, MaxNameLen)
	case dir == Default:
		return nil, fmt.Errorf("%s: %q is the built-in toolchain's name", file, Default)
	}
	data, err := readFile(fsys, file, maxManifest)
	if err != nil {
		return nil, err
	}
	var m manifest
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if m.Debian == "" {
		m.Debian = "trixie"
	}
	if !slices.Contains(debianReleases, m.Debian) {
		return nil, fmt.Errorf("%s: debian %q: want one of %s", file, m.Debian, strings.Join(debianReleases, ", "))
	}
	if len(m.Packages) > maxPackages {
		return nil, fmt.Errorf("%s: %d packages, more than %d", file, len(m.Packages), maxPackages)
	}
	for _, p := range m.Packages {
		if !validPackage.MatchString(p) {
			return nil, fmt.Errorf("%s: package %q is not a Debian package name (%s)", file, p, validPackage)
		}
	}
	if len(m.Description) > maxDescription {
		return nil, fmt.Errorf("%s: the description is longer than %d bytes", file, maxDescription)
	}
	tc := &Toolchain{Name: dir, Debian: m.Debian, Packages: slices.Compact(slices.Sorted(slices.Values(m.Packages))),
		Description: m.Description, Lib: map[string][]byte{}}
	if err := loadLib(fsys, dir, tc); err != nil {
		return nil, err
	}
	tc.Hash = tc.hash()
	tc.Image = ImageRepository + ":" + tc.Hash[:20]
	return tc, nil
}

// loadLib reads the folder's lib/**/*.ex.
func loadLib(fsys fs.FS, dir string, tc *Toolchain) error {
	total := 0
	err := fs.WalkDir(fsys, dir+"/lib", func(p string, d fs.DirEntry, err error) error {
		switch {
		case errors.Is(err, fs.ErrNotExist) && p == dir+"/lib":
			return fs.SkipAll
		case err != nil:
			return fmt.Errorf("%s: %w", p, err)
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s: is a symbolic link; toolchains hold only files and folders", p)
		case d.IsDir() || !strings.HasSuffix(p, ".ex"):
			return nil
		}
		data, err := readFile(fsys, p, maxLibFile)
		if err != nil {
			return err
		}
		total += len(data)
		if total > maxLibTotal || len(tc.Lib) >= maxLibFiles {
			return fmt.Errorf("%s: lib/ holds more than %d files or %d bytes", p, maxLibFiles, maxLibTotal)
		}
		tc.Lib[strings.TrimPrefix(p, dir+"/")] = data
		return nil
	})
	return err
}

// readFile reads the file at p, refusing one over limit bytes.
func readFile(fsys fs.FS, p string, limit int) ([]byte, error) {
	data, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", p, len(data), limit)
	}
	return data, nil
}

// hash covers everything that shapes the image: the recipe (and so its
// hardening), the release, the packages and the lesson's modules.
func (tc *Toolchain) hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "recipe %x\n", sha256.Sum256(sandboximage.BuildScript))
	fmt.Fprintf(h, "debian %s\npackages %s\n", tc.Debian, strings.Join(tc.Packages, ","))
	for _, p := range slices.Sorted(mapKeys(tc.Lib)) {
		fmt.Fprintf(h, "lib %q %x\n", p, sha256.Sum256(tc.Lib[p]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func mapKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Names lists the toolchains, sorted, the default one included.
func (s *Set) Names() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for n := range s.byName {
			if !yield(n) {
				return
			}
		}
	})
}

// Get returns the toolchain called name; "" is the default one.
func (s *Set) Get(name string) (*Toolchain, bool) {
	if name == "" {
		name = Default
	}
	tc, ok := s.byName[name]
	return tc, ok
}

// Built lists the toolchains that have a folder (all but the default).
func (s *Set) Built() []*Toolchain {
	var out []*Toolchain
	for _, n := range s.Names() {
		if n != Default {
			out = append(out, s.byName[n])
		}
	}
	return out
}
