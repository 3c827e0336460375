package toolchain

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"iexbox/internal/exercise"
	"iexbox/internal/sandbox"
)

// checkScript reports, one fact a line, what a toolchain's sandbox holds:
// the versions, whether each package's applications load, whether each
// lib/ module loads. build.sh lists the applications and modules.
const checkScript = `
otp = Path.join([:code.root_dir(), "releases", List.to_string(:erlang.system_info(:otp_release)), "OTP_VERSION"])
IO.puts("elixir " <> System.version())
IO.puts("otp " <> String.trim(File.read!(otp)))
lines = fn f -> case File.read(f) do {:ok, s} -> String.split(s, "\n", trim: true); _ -> [] end end
for l <- lines.("/opt/iexbox/toolchain/apps") do
  [pkg, app] = String.split(l, " ")
  case Application.load(String.to_atom(app)) do
    r when r == :ok or elem(r, 0) == :error and elem(elem(r, 1), 0) == :already_loaded -> IO.puts("app #{pkg} #{app} ok")
    other -> IO.puts("app #{pkg} #{app} #{inspect(other)}")
  end
end
for m <- lines.("/opt/iexbox/toolchain/modules") do
  case Code.ensure_loaded(String.to_atom(m)) do
    {:module, _} -> IO.puts("module #{m} ok")
    other -> IO.puts("module #{m} #{inspect(other)}")
  end
end
IO.puts("done")
`

// Report is what checking one toolchain in a real sandbox found.
type Report struct {
	Name    string
	Elixir  string   // as the sandbox's Elixir reports it
	OTP     string   // likewise
	Apps    []string // the packages' applications that loaded
	Modules []string // the lib/ modules that loaded
	Problem string   // the first thing wrong; "" when all is well
	Took    time.Duration
}

// OK reports whether the toolchain passed.
func (r Report) OK() bool { return r.Problem == "" }

// Boot starts a sandbox at its first prompt (a pool.Pool's Get does that).
type Boot func(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error)

// Check boots a sandbox of tc as a session would (same policy, tc's image)
// and checks in a BEAM bounded as an exercise check's is that the image
// reports the versions on its labels, that every package brought an
// application that loads and that every lib/ module loads.
func Check(ctx context.Context, boot Boot, tc *Toolchain) (r Report) {
	r = Report{Name: tc.Name}
	began := time.Now()
	defer func() { r.Took = time.Since(began) }()
	image := tc.Image
	if tc.Name == Default {
		image = ""
	}
	sb, err := boot(ctx, sandbox.Spec{ID: "toolchain-check-" + time.Now().Format("150405.000"), Cols: 80, Rows: 24, Image: image})
	if err != nil {
		r.Problem = "start a sandbox: " + err.Error()
		return r
	}
	defer sb.Close()
	go io.Copy(io.Discard, sb) // the terminal's output is not the check's
	proc, err := sb.Exec(ctx, exercise.BoundedElixir(checkScript))
	if err != nil {
		r.Problem = "run the check: " + err.Error()
		return r
	}
	defer proc.Close()
	var out bytes.Buffer
	io.Copy(&out, io.LimitReader(proc, 1<<20))
	code, err := proc.Wait(ctx)
	if err != nil || code != 0 {
		r.Problem = fmt.Sprintf("the check's BEAM failed (exit %d, %v): %s", code, err, lastLines(out.String(), 5))
		return r
	}
	return r.read(&out, tc)
}

// read fills r from the check's output and compares it with tc.
func (r Report) read(out io.Reader, tc *Toolchain) Report {
	problem := func(format string, a ...any) {
		if r.Problem == "" {
			r.Problem = fmt.Sprintf(format, a...)
		}
	}
	pkgsWithApp := map[string]bool{}
	done := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "elixir":
			r.Elixir = f[1]
		case len(f) == 2 && f[0] == "otp":
			r.OTP = f[1]
		case len(f) >= 4 && f[0] == "app":
			pkgsWithApp[f[1]] = true
			if f[3] != "ok" {
				problem("package %s: application %s does not load: %s", f[1], f[2], strings.Join(f[3:], " "))
				continue
			}
			r.Apps = append(r.Apps, f[2])
		case len(f) >= 3 && f[0] == "module":
			if f[2] != "ok" {
				problem("lib/: module %s does not load: %s", f[1], strings.Join(f[2:], " "))
				continue
			}
			r.Modules = append(r.Modules, f[1])
		case len(f) == 1 && f[0] == "done":
			done = true
		}
	}
	if !done {
		problem("the check ended early")
	}
	for _, p := range tc.Packages {
		if (strings.HasPrefix(p, "elixir-") || strings.HasPrefix(p, "erlang-")) && !pkgsWithApp[p] {
			problem("package %s brings no Erlang or Elixir application", p)
		}
	}
	if len(tc.Lib) > 0 && len(r.Modules) == 0 {
		problem("lib/ holds no module that loads")
	}
	if v := tc.Versions; v.Elixir != "" && (v.Elixir != r.Elixir || v.OTP != r.OTP) {
		problem("the image's labels say Elixir %s / OTP %s, the sandbox reports %s / %s", v.Elixir, v.OTP, r.Elixir, r.OTP)
	}
	return r
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
