package exercise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"iexbox/internal/sandbox"
)

// setupTimeout bounds evaluating an exercise's setup.exs.
const setupTimeout = 20 * time.Second

// maxSetupOutput bounds the output read while a setup is evaluated.
const maxSetupOutput = 1 << 20

// prompt is iex's main prompt at the end of its output.
var prompt = sandbox.PromptAtEnd

// Prepare readies sb, at its first prompt, for the exercise name: its
// setup.exs is evaluated in the learner's iex with the output hidden (the
// learner sees the banner and a fresh prompt), and a checker starts
// booting its first check BEAM. The caller must Close the checker.
func (s *Set) Prepare(ctx context.Context, name string, sb sandbox.Sandbox) (sandbox.Sandbox, sandbox.Checker, error) {
	ex, ok := s.byName[name]
	if !ok {
		return nil, nil, fmt.Errorf("no exercise is called %q", name)
	}
	if ex.Setup != "" {
		ctx, cancel := context.WithTimeout(ctx, setupTimeout)
		defer cancel()
		prepared, err := setup(ctx, sb, ex)
		if err != nil {
			return nil, nil, err
		}
		sb = prepared
	}
	return sb, newChecker(sb, ex, s.cfg), nil
}

// setup evaluates ex's setup.exs in sb's iex and returns sb with the
// output up to its first prompt, minus the setup, still to be read.
func setup(ctx context.Context, sb sandbox.Sandbox, ex *Exercise) (sandbox.Sandbox, error) {
	stop := context.AfterFunc(ctx, func() { sb.Close() }) // unblocks a Read
	defer stop()
	banner, err := readPrompt(sb, nil)
	if err != nil {
		return nil, fmt.Errorf("wait for the first prompt: %w", err)
	}
	first := prompt.FindSubmatch(banner)
	if _, err := sb.Write([]byte(setupLine(ex.Setup))); err != nil {
		return nil, fmt.Errorf("type the setup: %w", err)
	}
	out, err := readPrompt(sb, first[1])
	if ctx.Err() != nil {
		return nil, fmt.Errorf("evaluate %s/setup.exs: %w", ex.Name, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("evaluate %s/setup.exs: %w", ex.Name, err)
	}
	if bytes.Contains(out, []byte("** (")) {
		return nil, fmt.Errorf("%s/setup.exs raised: %s", ex.Name, lastLines(out))
	}
	next := prompt.Find(out)
	pending := append(bytes.Clone(banner[:len(banner)-len(first[0])]), next...)
	return &preparedSandbox{Sandbox: sb, pending: pending}, nil
}

// readPrompt reads until the output ends with a main prompt other than
// the one numbered not.
func readPrompt(sb sandbox.Sandbox, not []byte) ([]byte, error) {
	var out []byte
	buf := make([]byte, 8192)
	for {
		n, err := sb.Read(buf)
		out = append(out, buf[:n]...)
		if m := prompt.FindSubmatch(out); m != nil && !bytes.Equal(m[1], not) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if len(out) > maxSetupOutput {
			return out, errors.New("too much output before the prompt")
		}
	}
}

// setupLine is one line of input that evaluates code with its output
// hidden from the shell's result display.
func setupLine(code string) string {
	var b strings.Builder
	b.WriteString(`Code.eval_string("`)
	for _, r := range code {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '#':
			b.WriteString(`\#`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x{%X}`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(`", [], file: "setup.exs"); IEx.dont_display_result()` + "\r")
	return b.String()
}

// preparedSandbox is a sandbox whose Read first returns pending.
type preparedSandbox struct {
	sandbox.Sandbox
	pending []byte
}

func (p *preparedSandbox) Read(b []byte) (int, error) {
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		return n, nil
	}
	return p.Sandbox.Read(b)
}
