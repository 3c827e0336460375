package e2e

import (
	"strings"
	"testing"
)

// writableDirs are the only places a session can write: tmpfs mounts that
// must be noexec.
var writableDirs = []struct{ name, path string }{
	{"tmp", `"/tmp"`},
	{"home", `System.user_home!()`},
}

// TestNoExecInWritableDirs: a script or a NIF written by the user cannot
// be run or loaded, under each OCI runtime the engine has; controls show
// the same calls work on the image's own files, so the refusal is the
// mount's noexec.
func TestNoExecInWritableDirs(t *testing.T) {
	for _, runtime := range []string{"runc", "runsc"} {
		t.Run(runtime, func(t *testing.T) {
			requireRuntime(t, runtime)
			s := startServer(t, "-runtime", runtime)
			c, _ := s.openSession(t, defaultCols, defaultRows)

			// Controls: spawning a program and loading a NIF from the image
			// work (the library opens, then is refused for its module name).
			if got := c.eval(t, `System.cmd("/bin/echo", ["spawned"])`); got != `{"spawned\n", 0}` {
				t.Fatalf(`System.cmd("/bin/echo", ...) printed %q: running programs is broken, not refused`, got)
			}
			c.eval(t, `defmodule NifProbe do def load(path), do: :erlang.load_nif(String.to_charlist(path), 0) end`)
			c.eval(t, `nif = Path.join(:code.priv_dir(:asn1), "lib/asn1rt_nif")`)
			if got := c.eval(t, `NifProbe.load(nif)`); !strings.Contains(got, "does not match calling module") {
				t.Fatalf("loading the image's own NIF printed %q, want it opened and refused for its module name", got)
			}

			for _, dir := range writableDirs {
				t.Run(dir.name, func(t *testing.T) {
					c.eval(t, `dir = `+dir.path)
					// The script's output is assembled so that the echo of
					// this line cannot contain it.
					c.eval(t, `script = Path.join(dir, "x.sh"); File.write!(script, "#!/bin/sh\necho pw" <> "ned\n"); File.chmod!(script, 0o755)`)
					// The execute bits are there: a refusal is the mount's
					// noexec, not a missing bit (which gives EACCES too).
					if got := c.eval(t, `File.stat!(script).mode |> Bitwise.band(0o777) |> Integer.to_string(8)`); got != `"755"` {
						t.Fatalf("the script's mode is %s, want 755", got)
					}
					// runc refuses at once (:eacces raised); gVisor at exec,
					// which the BEAM reports as exit status 13 (EACCES).
					got := c.eval(t, `System.cmd(script, [])`)
					t.Logf("running a script in %s: %s", dir.path, got)
					if strings.Contains(got, "pwned") || !strings.Contains(got, ":eacces") && got != `{"", 13}` {
						t.Errorf("running a script written to %s printed %q, want :eacces or exit status 13 (EACCES)", dir.path, got)
					}

					c.eval(t, `File.cp!(nif <> ".so", Path.join(dir, "x.so"))`)
					got = c.eval(t, `NifProbe.load(Path.join(dir, "x"))`)
					t.Logf("loading a NIF from %s: %s", dir.path, got)
					if !strings.Contains(got, ":load_failed") || !strings.Contains(got, "failed to map segment") {
						t.Errorf("loading a NIF copied to %s printed %q, want :load_failed (failed to map segment)", dir.path, got)
					}
				})
			}
		})
	}
}

// TestSessionsIsolated: what one session writes, another (concurrent or
// later) does not see.
func TestSessionsIsolated(t *testing.T) {
	s := startServer(t)
	const write = `File.write!("/tmp/secret", "a"); File.write!(Path.join(System.user_home!(), "secret"), "a")`
	const look = `{File.exists?("/tmp/secret"), File.exists?(Path.join(System.user_home!(), "secret"))}`

	first, _ := s.openSession(t, defaultCols, defaultRows)
	other, _ := s.openSession(t, defaultCols, defaultRows)
	if got := first.eval(t, write); got != ":ok" {
		t.Fatalf("writing the secrets printed %q", got)
	}
	if got := first.eval(t, look); got != "{true, true}" {
		t.Fatalf("the writer looks for its secrets: %q, want {true, true}", got)
	}
	if got := other.eval(t, look); got != "{false, false}" {
		t.Errorf("a concurrent session sees %q, want {false, false}", got)
	}

	first.closeNormally()
	later, _ := s.openSession(t, defaultCols, defaultRows)
	if got := later.eval(t, look); got != "{false, false}" {
		t.Errorf("a later session sees %q, want {false, false}", got)
	}
}
