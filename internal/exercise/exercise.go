// Package exercise owns the exercises a lesson poses: it loads them from a
// folder (each folder holding a test.exs is one, named by its path), and
// checks a learner's code against an exercise's tests inside the learner's
// own sandbox, in a BEAM of its own that runs as the sandbox's second uid,
// bounded in time, memory and processes so that no check can end the
// session. It also readies a session's terminal with the exercise's setup.
//
// Goroutines: a Checker runs one that boots the next check BEAM while the
// learner types, and one per running check that reads its output; Close
// ends and joins both.
package exercise

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Exercise is one exercise as loaded from its folder.
type Exercise struct {
	Name     string // its folder's path under the exercises folder, such as enum/double
	Tests    string // test.exs: ExUnit test modules
	Starter  string // starter.ex, what the editor shows first; may be empty
	Setup    string // setup.exs, evaluated in the learner's iex first; may be empty
	Solution string // solution.ex, the reference solution: never sent to a client or a learner's sandbox
	// Toolchain is the toolchain its checks run in (exercise.json's
	// "toolchain"), "" for any: a session of the exercise runs there.
	Toolchain string
}

// Limits on the files of an exercise.
const (
	maxTests    = 256 << 10
	maxSetup    = 16 << 10
	maxStarter  = 32 << 10 // a check's code is at most this long too
	maxSolution = 32 << 10
	maxBinding  = 4 << 10
)

// ValidName is the form of an exercise's name, and of every other folder
// named by its path (toolchains).
var ValidName = regexp.MustCompile(`^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$`)

// Set is the exercises loaded at start. Lookups go through its table and
// never touch the file system. It is safe for concurrent use.
type Set struct {
	byName map[string]*Exercise
	cfg    Config
}

// Load reads every exercise under fsys: each folder that holds a test.exs
// is one, at any depth. The first problem found is an error naming the
// file. A Set with no exercise is an error too. fsys should not follow
// symbolic links out of its root (os.Root's FS does not).
func Load(fsys fs.FS, cfg Config) (*Set, error) {
	s := &Set{byName: map[string]*Exercise{}, cfg: cfg.withDefaults()}
	err := WalkFolders(fsys, "test.exs", "exercises", func(dir string) error {
		ex, err := load(fsys, dir)
		if err != nil {
			return err
		}
		s.byName[ex.Name] = ex
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load exercises: %w", err)
	}
	if len(s.byName) == 0 {
		return nil, errors.New("load exercises: no folder holds a test.exs")
	}
	return s, nil
}

// WalkFolders calls visit with every folder under fsys that holds a file
// called marker, at any depth; a symbolic link anywhere is an error
// naming it, since what (exercises, toolchains) hold only files and
// folders. The first error ends the walk.
func WalkFolders(fsys fs.FS, marker, what string, visit func(dir string) error) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: is a symbolic link; %s hold only files and folders", p, what)
		}
		if d.IsDir() || d.Name() != marker {
			return nil
		}
		return visit(path.Dir(p))
	})
}

// load reads the exercise in folder dir.
func load(fsys fs.FS, dir string) (*Exercise, error) {
	if !ValidName.MatchString(dir) {
		return nil, fmt.Errorf("%s/test.exs: the exercise's name %q must match %s", dir, dir, ValidName)
	}
	ex := &Exercise{Name: dir}
	for _, f := range []struct {
		name     string
		dst      *string
		limit    int
		required bool
	}{
		{"test.exs", &ex.Tests, maxTests, true},
		{"solution.ex", &ex.Solution, maxSolution, true},
		{"starter.ex", &ex.Starter, maxStarter, false},
		{"setup.exs", &ex.Setup, maxSetup, false},
	} {
		p := dir + "/" + f.name
		data, err := fs.ReadFile(fsys, p)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !f.required:
			continue
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%s: missing: every exercise needs one", p)
		case err != nil:
			return nil, fmt.Errorf("%s: %w", p, err)
		case len(data) > f.limit:
			return nil, fmt.Errorf("%s: %d bytes, more than the %d an exercise's %s may have", p, len(data), f.limit, f.name)
		}
		*f.dst = string(data)
	}
	if err := loadBinding(fsys, dir, ex); err != nil {
		return nil, err
	}
	if !strings.Contains(ex.Tests, "use ExUnit.Case") {
		return nil, fmt.Errorf("%s/test.exs: holds no test module (use ExUnit.Case)", dir)
	}
	if strings.Contains(ex.Tests, "ExUnit.start") {
		return nil, fmt.Errorf("%s/test.exs: must not call ExUnit.start: the runner starts and configures ExUnit", dir)
	}
	return ex, nil
}

// loadBinding reads the optional exercise.json: {"toolchain": "NAME"}.
// Whether the toolchain exists is for the server to say, which knows them.
func loadBinding(fsys fs.FS, dir string, ex *Exercise) error {
	p := dir + "/exercise.json"
	data, err := fs.ReadFile(fsys, p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", p, err)
	case len(data) > maxBinding:
		return fmt.Errorf("%s: %d bytes, more than %d", p, len(data), maxBinding)
	}
	var b struct {
		Toolchain string `json:"toolchain"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if b.Toolchain != "" && (!ValidName.MatchString(b.Toolchain) || len(b.Toolchain) > 128) {
		return fmt.Errorf("%s: toolchain %q is not a toolchain's name", p, b.Toolchain)
	}
	ex.Toolchain = b.Toolchain
	return nil
}

// Toolchain is the toolchain the exercise called name is bound to, "" for
// any (or no such exercise).
func (s *Set) Toolchain(name string) string {
	if ex, ok := s.byName[name]; ok {
		return ex.Toolchain
	}
	return ""
}

// Names lists the exercises, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Get returns the exercise called name.
func (s *Set) Get(name string) (*Exercise, bool) {
	ex, ok := s.byName[name]
	return ex, ok
}

// Has reports whether name is an exercise.
func (s *Set) Has(name string) bool {
	_, ok := s.byName[name]
	return ok
}

// Starter returns the starter code of the exercise called name.
func (s *Set) Starter(name string) (string, bool) {
	ex, ok := s.byName[name]
	if !ok {
		return "", false
	}
	return ex.Starter, true
}
