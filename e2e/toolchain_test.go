package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"iexbox/internal/client"
	"iexbox/internal/toolchain"
)

// toolchainEnv names a toolchain of toolchains/ that every session of
// the suite runs in, unless a test names its own: `make e2e` runs the
// security suite once that way, in the example toolchain under runsc.
const toolchainEnv = "IEXBOX_E2E_TOOLCHAIN"

// exampleToolchain is the toolchain shipped in toolchains/ that the tests
// use: forky's Elixir and OTP with NimbleParsec, PropEr and a module of
// its own.
const exampleToolchain = "parsing"

// toolchainsDir is the repository's toolchains folder.
func toolchainsDir(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "toolchains")
}

// requireToolchainImages skips the test unless every toolchain under dir
// has its image (`make toolchains` builds them), except under CI=true,
// where a missing one fails it.
func requireToolchainImages(t *testing.T, dir string) {
	t.Helper()
	requireDocker(t)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	set, err := toolchain.Load(root.FS(), sandboxImage)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range set.Built() {
		if exec.Command("docker", "image", "inspect", tc.Image).Run() != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("no image %s of the toolchain %s (CI=true: make toolchains builds it)", tc.Image, tc.Name)
			}
			t.Skipf("no image %s of the toolchain %s: run `make toolchains`", tc.Image, tc.Name)
		}
	}
}

// readyVersions are the fields a ready adds for toolchains.
type readyVersions struct {
	Toolchain string `json:"toolchain"`
	Elixir    string `json:"elixir"`
	OTP       string `json:"otp"`
	Runtime   string `json:"runtime"`
}

func versionsOf(t *testing.T, e event) readyVersions {
	t.Helper()
	var v readyVersions
	if err := json.Unmarshal([]byte(e.raw), &v); err != nil {
		t.Fatalf("ready %s: %v", e.raw, err)
	}
	return v
}

// major is the first number of a version ("1.20.4" → 1, "29.1.1" → 29)
// and minor the second.
func versionPart(t *testing.T, v string, i int) int {
	t.Helper()
	parts := strings.Split(v, ".")
	if len(parts) <= i {
		t.Fatalf("version %q has no part %d", v, i)
	}
	n, err := strconv.Atoi(parts[i])
	if err != nil {
		t.Fatalf("version %q: %v", v, err)
	}
	return n
}

func TestToolchainSessionRunc(t *testing.T)  { testToolchainSession(t, "runc") }
func TestToolchainSessionRunsc(t *testing.T) { testToolchainSession(t, "runsc") }

// testToolchainSession: a session in the example toolchain reports forky's
// Elixir (1.20 or later) and OTP (29 or later) and can call its packaged
// libraries and its lib/ module; a default session cannot; an exercise
// bound to the toolchain runs there, and its reference answer, which needs
// the library, passes; the exercise and a contradicting toolchain are a
// protocol error; an unknown toolchain is not_found before any sandbox.
func testToolchainSession(t *testing.T, runtime string) {
	requireRuntime(t, runtime)
	dir := toolchainsDir(t)
	requireToolchainImages(t, dir)
	exercises := t.TempDir()
	writeFiles(t, exercises, map[string]string{
		"parse/sum/test.exs":      "defmodule SumTest do\n  use ExUnit.Case\n  test \"sums a line\", do: assert SumLine.sum(\"1,2,39\") == 42\nend\n",
		"parse/sum/solution.ex":   "defmodule SumLine do\n  def sum(line) do\n    {:ok, numbers} = Lesson.CSVLine.parse(line)\n    Enum.sum(numbers)\n  end\nend\n",
		"parse/sum/starter.ex":    "defmodule SumLine do\n  def sum(line), do: 0\nend\n",
		"parse/sum/exercise.json": `{"toolchain": "` + exampleToolchain + `"}`,
	})
	s := startServer(t, "-runtime", runtime, "-toolchains", dir, "-exercises", exercises, "-check-timeout", checkTimeout.String())

	// GET /toolchains lists both, with their versions.
	list, err := client.Toolchains(t.Context(), nil, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "default" || list[1].Name != exampleToolchain || list[1].Packages["elixir-nimble-parsec"] == "" ||
		versionPart(t, list[1].OTP, 0) < 29 {
		t.Errorf("GET /toolchains = %+v", list)
	}

	// A session in the example toolchain.
	c := s.connect(t)
	c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Toolchain: exampleToolchain, Resumable: true})
	ready := c.waitEvent(t, "ready", readyWait)
	c.waitPrompt(t, readyWait)
	v := versionsOf(t, ready)
	if v.Toolchain != exampleToolchain || versionPart(t, v.Elixir, 0) != 1 || versionPart(t, v.Elixir, 1) < 20 || versionPart(t, v.OTP, 0) < 29 {
		t.Errorf("ready %s: want the toolchain, Elixir 1.20 or later and OTP 29 or later", ready.raw)
	}
	if got := c.eval(t, "{System.version(), System.otp_release()}"); got != `{"`+v.Elixir+`", "`+strings.Split(v.OTP, ".")[0]+`"}` {
		t.Errorf("the sandbox reports %s, ready said %+v", got, v)
	}
	if got := c.eval(t, `Lesson.CSVLine.parse("1,2,3")`); got != "{:ok, [1, 2, 3]}" {
		t.Errorf("the lib/ module: %q", got)
	}
	if got := c.eval(t, `:proper.quickcheck(:proper.forall(:proper_types.list(:proper_types.integer()), fn l -> Enum.reverse(Enum.reverse(l)) == l end), [:quiet])`); got != "true" {
		t.Errorf("PropEr: %q", got)
	}
	// A resume keeps the toolchain.
	resume := c.waitEventField(t, ready, "resume")
	c.conn.Close()
	r := s.connect(t)
	r.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Resume: resume})
	if v := versionsOf(t, r.waitEvent(t, "ready", readyWait)); v.Toolchain != exampleToolchain {
		t.Errorf("a resumed session's toolchain: %+v", v)
	}
	r.closeNormally()

	// The default toolchain has neither. (Its versions are in ready once
	// the image carries them as labels: a default image built before
	// toolchains has none.)
	d, ready := s.openSession(t, defaultCols, defaultRows)
	if v := versionsOf(t, ready); v.Toolchain != "default" || v.Elixir != "" && versionPart(t, v.Elixir, 1) >= 20 {
		t.Errorf("the default toolchain's ready: %s", ready.raw)
	}
	if got := d.eval(t, "System.version()"); strings.HasPrefix(got, `"1.2`) {
		t.Errorf("the default toolchain runs Elixir %s", got)
	}
	if got := d.eval(t, "{Code.ensure_loaded?(Lesson.CSVLine), Code.ensure_loaded?(NimbleParsec), Application.load(:proper)}"); !strings.HasPrefix(got, "{false, false, {:error") {
		t.Errorf("the default toolchain: %q", got)
	}
	d.closeNormally()

	// An exercise bound to the toolchain runs there.
	e := s.connect(t)
	e.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Exercise: "parse/sum"})
	if v := versionsOf(t, e.waitEvent(t, "ready", readyWait)); v.Toolchain != exampleToolchain {
		t.Errorf("the exercise's session runs in %+v", v)
	}
	e.waitPrompt(t, readyWait)
	solution, _ := os.ReadFile(filepath.Join(exercises, "parse/sum/solution.ex"))
	if res, _ := e.checkRan(t, "ref", string(solution)); res.Status != "pass" {
		t.Errorf("the reference answer, which needs the toolchain's module: %+v", res)
	}
	e.closeNormally()

	// Refusals, before any sandbox starts.
	before := len(s.containers(t))
	x := s.connect(t)
	x.helloWith(t, client.Hello{Cols: 80, Rows: 24, Exercise: "parse/sum", Toolchain: "default"})
	if ev := x.waitEvent(t, "error", readyWait); ev.errorCode() != "protocol" {
		t.Errorf("an exercise in another toolchain: %s, want protocol", ev.raw)
	}
	x.requireClose(t, 4004, 5*time.Second)
	u := s.connect(t)
	u.helloWith(t, client.Hello{Cols: 80, Rows: 24, Toolchain: "nothing/here"})
	if ev := u.waitEvent(t, "error", readyWait); ev.errorCode() != "not_found" || !strings.Contains(ev.Message, "nothing/here") {
		t.Errorf("an unknown toolchain: %s, want not_found naming it", ev.raw)
	}
	u.requireClose(t, 4011, 5*time.Second)
	if n := len(s.containers(t)); n > before {
		t.Errorf("%d containers after the refusals, %d before", n, before)
	}
}

// writeFiles writes files (path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		f := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitEventField is a string field of an event.
func (c *wsClient) waitEventField(t *testing.T, e event, field string) string {
	t.Helper()
	var m map[string]any
	json.Unmarshal([]byte(e.raw), &m)
	s, _ := m[field].(string)
	if s == "" {
		t.Fatalf("%s has no %q", e.raw, field)
	}
	return s
}

// TestToolchainsRefuseToStart: a bad toolchain folder, a toolchain whose
// image was never built and an exercise bound to no toolchain each keep
// the server from starting, with a message naming the file or the image
// and the command that builds it.
func TestToolchainsRefuseToStart(t *testing.T) {
	requireDocker(t)
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"bad json", map[string]string{"broken/toolchain.json": `{"debian": forky}`}, []string{"broken/toolchain.json"}},
		{"bad package", map[string]string{"p/toolchain.json": `{"packages": ["Elixir Stuff"]}`}, []string{"p/toolchain.json", "Elixir Stuff"}},
		{"not built", map[string]string{"never/built/toolchain.json": `{"description": "never built"}`},
			[]string{"never/built", "iexbox toolchains"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			cmd := exec.Command(serverBinary, "-addr", freeAddr(t), "-instance", uniqueInstance(t), "-runtime", "runc", "-toolchains", dir)
			cmd.Env = serverEnv()
			out, err := runBounded(cmd, serverStartWait)
			if err == nil {
				t.Fatalf("the server started with %v:\n%s", tc.files, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	t.Run("exercise bound to no toolchain", func(t *testing.T) {
		exercises := t.TempDir()
		writeFiles(t, exercises, map[string]string{
			"a/b/test.exs":      "defmodule ABTest do\n  use ExUnit.Case\n  test \"x\", do: assert true\nend\n",
			"a/b/solution.ex":   "",
			"a/b/exercise.json": `{"toolchain": "missing"}`,
		})
		cmd := exec.Command(serverBinary, "-addr", freeAddr(t), "-instance", uniqueInstance(t), "-runtime", "runc", "-exercises", exercises)
		cmd.Env = serverEnv()
		out, err := runBounded(cmd, serverStartWait)
		if err == nil || !strings.Contains(out, "a/b/exercise.json") {
			t.Errorf("err %v, output:\n%s", err, out)
		}
	})
}

// runBounded runs cmd for at most d (killing it then) and returns its
// combined output.
func runBounded(cmd *exec.Cmd, d time.Duration) (string, error) {
	var out logBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return out.String(), nil // still running: it started
	}
}

// TestToolchainsSubcommand: `iexbox toolchains` on the shipped folder finds
// the images built, checks each in a real sandbox and prints a table; a
// package Debian does not have fails naming the file and the package.
func TestToolchainsSubcommand(t *testing.T) {
	dir := toolchainsDir(t)
	requireToolchainImages(t, dir)
	instance := uniqueInstance(t)
	cmd := exec.Command(serverBinary, "toolchains", dir, "-runtime", "runc", "-instance", instance)
	cmd.Env = serverEnv()
	out, err := cmd.CombinedOutput()
	t.Logf("iexbox toolchains:\n%s", out)
	if err != nil {
		t.Fatalf("the shipped toolchains: %v", err)
	}
	if !strings.Contains(string(out), "up to date") || !strings.Contains(string(out), "All toolchains pass.") {
		t.Errorf("want the image up to date and every toolchain passing")
	}
	for _, row := range []string{"default", exampleToolchain + " "} {
		if !strings.Contains(string(out), row) {
			t.Errorf("no row for %s", row)
		}
	}
	if left := containersLabelled(t, labelInstance+"="+instance); len(left) > 0 {
		t.Errorf("containers left: %v", left)
	}

	bad := t.TempDir()
	writeFiles(t, bad, map[string]string{"nope/toolchain.json": `{"debian": "forky", "packages": ["elixir-no-such-library"]}`})
	cmd = exec.Command(serverBinary, "toolchains", bad, "-runtime", "runc", "-instance", instance)
	cmd.Env = serverEnv()
	out, err = cmd.CombinedOutput()
	t.Logf("iexbox toolchains %s:\n%s", bad, out)
	if err == nil || !strings.Contains(string(out), "nope/toolchain.json") || !strings.Contains(string(out), "elixir-no-such-library") {
		t.Errorf("a package Debian does not have: err %v, want a failure naming the file and the package", err)
	}
	if left := containersLabelled(t, labelInstance+"="+instance); len(left) > 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestBrowserToolchain: the full page's ?toolchain= and an <iex-console
// toolchain=...> each open a session in the example toolchain.
func TestBrowserToolchain(t *testing.T) {
	dir := toolchainsDir(t)
	requireToolchainImages(t, dir)
	s := startServer(t, "-toolchains", dir, "-pool", "0")
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/?toolchain="+exampleToolchain))
	waitJS(t, ctx, "running", `!!(window.iexbox && window.iexbox.state() === 'running')`)
	waitBuffer(t, ctx, "window.iexbox.term", "iex(1)>")
	run(t, ctx, chromedp.Click(chromedp.CSS(".xterm")))
	typeLine(t, ctx, `Lesson.CSVLine.parse("1000,2000")`)
	waitBuffer(t, ctx, "window.iexbox.term", "{:ok, [1000, 2000]}")

	run(t, ctx, chromedp.Navigate(s.URL()+"/demo/lesson.html"))
	waitJS(t, ctx, "the widget defined", `customElements.get('iex-console') !== undefined`)
	eval[bool](t, ctx, `document.body.insertAdjacentHTML('beforeend',
		'<iex-console id="tc" toolchain="`+exampleToolchain+`" code="String.to_integer(System.otp_release()) >= 29"></iex-console>'); true`)
	clickShadow(t, ctx, `document.getElementById('tc')`, ".run")
	waitBuffer(t, ctx, `document.getElementById('tc').term`, "true")
	screenshot(t, ctx, "toolchain-widget.png")
}
