package exercise

import (
	"context"
	"fmt"
	"io"
	"time"

	"iexbox/internal/sandbox"
)

// Boot starts a sandbox of the toolchain called toolchain ("" for the
// default) and returns it at its first prompt, its output so far still to
// be read (a pool.Pool's Get does that).
type Boot func(ctx context.Context, spec sandbox.Spec, toolchain string) (sandbox.Sandbox, error)

// Verification is the outcome of checking one reference solution.
type Verification struct {
	Name   string
	Result sandbox.CheckResult
	Took   time.Duration
	Err    error // the sandbox could not be started or prepared
}

// Passed reports whether the reference solution passed every test.
func (v Verification) Passed() bool { return v.Err == nil && v.Result.Status == sandbox.CheckPass }

// Verify checks every exercise's reference solution against its tests, each
// in a fresh sandbox prepared as a learner's would be, one after the other,
// and writes a table (exercise, tests, pass/fail, time) to w. It returns
// the outcomes in name order; a solution that fails is reported with its
// first failing test.
func (s *Set) Verify(ctx context.Context, boot Boot, w io.Writer) []Verification {
	width := len("EXERCISE")
	for _, name := range s.Names() {
		width = max(width, len(name))
	}
	row := fmt.Sprintf("%%-%ds  %%5s  %%-6s  %%s\n", width)
	fmt.Fprintf(w, row, "EXERCISE", "TESTS", "RESULT", "TIME")
	var all []Verification
	for _, name := range s.Names() {
		v := s.verify(ctx, boot, name)
		all = append(all, v)
		result := v.Result.Status
		if v.Err != nil {
			result = "error"
		}
		fmt.Fprintf(w, row, name, fmt.Sprint(len(v.Result.Tests)), result, v.Took.Round(10*time.Millisecond))
		if !v.Passed() {
			fmt.Fprintf(w, "    %s\n", indent(why(v)))
		}
	}
	return all
}

func (s *Set) verify(ctx context.Context, boot Boot, name string) Verification {
	v := Verification{Name: name}
	began := time.Now()
	defer func() { v.Took = time.Since(began) }()
	ex, _ := s.Get(name)
	sb, err := boot(ctx, sandbox.Spec{ID: "verify-" + time.Now().Format("150405.000"), Cols: 80, Rows: 24}, ex.Toolchain)
	if err != nil {
		v.Err = err
		return v
	}
	defer sb.Close()
	prepared, checker, err := s.Prepare(ctx, name, sb)
	if err != nil {
		v.Err = err
		return v
	}
	defer checker.Close()
	_ = prepared
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout+bootTimeout)
	defer cancel()
	v.Result = checker.Check(cctx, ex.Solution)
	v.Took = time.Since(began)
	return v
}

// why is the first reason a verification did not pass.
func why(v Verification) string {
	if v.Err != nil {
		return v.Err.Error()
	}
	if v.Result.Message != "" {
		return v.Result.Message
	}
	for _, t := range v.Result.Tests {
		if t.Status != sandbox.CheckPass {
			return t.Name + ": " + t.Message
		}
	}
	return "no test passed"
}

func indent(s string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		out = append(out, s[i])
		if s[i] == '\n' && i+1 < len(s) {
			out = append(out, "    "...)
		}
	}
	return string(out)
}
