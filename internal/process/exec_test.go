package process

import (
	"context"
	"io"
	"testing"
	"time"

	"iexbox/internal/sandbox"
)

// TestExec: a program run beside the terminal's gets its own stdin and
// merged output, reports its exit code, and Close ends it with what it
// started.
func TestExec(t *testing.T) {
	sb := startCat(t)
	p, err := sb.Exec(t.Context(), sandbox.ExecSpec{Cmd: []string{"sh", "-c", "cat; echo err >&2; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := io.WriteString(p, "in\n"); err != nil {
		t.Fatal(err)
	}
	p.CloseWrite()
	out, _ := io.ReadAll(p)
	if string(out) != "in\nerr\n" {
		t.Errorf("output %q, want stdin echoed, then stderr", out)
	}
	if code, err := p.Wait(t.Context()); err != nil || code != 3 {
		t.Errorf("Wait = %d, %v; want 3", code, err)
	}

	// A program that forks and never ends: Close ends the whole group.
	p, err = sb.Exec(t.Context(), sandbox.ExecSpec{Cmd: []string{"sh", "-c", "sleep 60 & sleep 60"}})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := p.Wait(ctx); err != nil {
		t.Errorf("Wait after Close: %v, want the program ended", err)
	}
}

func startCat(t *testing.T) *Sandbox {
	t.Helper()
	sb, err := New([]string{"cat"}, nil).Start(t.Context(), sandbox.Spec{ID: "s", Cols: 80, Rows: 24})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	if sb.ID() != "s" {
		t.Errorf("ID %q, want the session's", sb.ID())
	}
	return sb.(*Sandbox)
}
