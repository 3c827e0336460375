package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"iexbox/internal/client"
	"iexbox/internal/sandbox"
)

// checkTimeout is the -check-timeout of the exercise tests; a runaway check
// must end within it plus checkSlack.
const (
	checkTimeout = 10 * time.Second
	checkSlack   = 2 * time.Second
)

// checked is a checked event as the browser gets it.
type checked struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Status    string `json:"status"`
	Message   string `json:"message"`
	Truncated bool   `json:"truncated"`
	Tests     []struct {
		Name    string `json:"name"`
		Status  string `json:"status"`
		Message string `json:"message"`
		Output  string `json:"output"`
		TaskID  *int   `json:"task_id"`
	} `json:"tests"`
}

// check sends code for checking and waits for the answer, which must come
// within the wait for the check BEAM (sandbox.CheckBootWait), the check
// timeout and its slack; it returns the answer and how long it took.
func (c *wsClient) check(t *testing.T, id, code string) (checked, time.Duration) {
	t.Helper()
	start := time.Now()
	mustSend(t, c.conn.Check(id, code))
	e := c.waitEvent(t, "checked", sandbox.CheckBootWait+checkTimeout+checkSlack)
	took := time.Since(start)
	var res checked
	if err := json.Unmarshal([]byte(e.raw), &res); err != nil {
		t.Fatalf("checked event %s: %v", e.raw, err)
	}
	if res.ID != id {
		t.Errorf("checked id %q, want %q", res.ID, id)
	}
	return res, took
}

// checkRan is check, sent again (up to three times) while the checker
// answers that it is still starting: on a busy host the check BEAM after
// a runaway may still boot at the next check's deadline, and then the
// code never ran. A learner checks again too.
func (c *wsClient) checkRan(t *testing.T, id, code string) (checked, time.Duration) {
	t.Helper()
	var res checked
	var took time.Duration
	for attempt := 0; attempt < 3; attempt++ {
		res, took = c.check(t, fmt.Sprint(id, "-", attempt), code)
		if !strings.Contains(res.Message, "still starting") {
			break
		}
		t.Logf("check %s: the checker was still starting after %v", id, took)
	}
	return res, took
}

const (
	doubleFixed  = "defmodule Double do\n  def double(list), do: Enum.map(list, &(&1 * 2))\nend\n"
	doubleWrong  = "defmodule Double do\n  def double(list), do: Enum.map(list, &(&1 * 3))\nend\n"
	doubleBroken = "defmodule Double do\n  def double(list) do\n    Enum.map(list, &(&1 * 2)\n  end\nend\n"
)

// runaways are checks that try to take the sandbox down.
// Each ends as an error saying why (want).
var runaways = []struct{ name, code, want string }{
	{"loop", "defmodule Double do\n  def double(_), do: loop(0)\n  defp loop(n), do: loop(n + 1)\nend\n", "longer than"},
	{"allocation", "defmodule Double do\n  def double(_), do: grow([])\n  defp grow(acc), do: grow([String.duplicate(\"x\", 200) <> \"!\" | acc])\nend\n", "memory"},
	{"spawned allocation", "defmodule Double do\n  def double(_) do\n    for _ <- 1..10_000, do: spawn(fn -> l = Enum.to_list(1..100_000); Process.sleep(:infinity); l end)\n    Process.sleep(:infinity)\n  end\nend\n", "memory"},
	{"fork bomb", "defmodule Double do\n  def double(_) do\n    for _ <- 1..50, do: spawn(fn -> :os.cmd(~c\"f(){ f | f & }; f\") end)\n    Process.sleep(:infinity)\n  end\nend\n", "longer than"},
	{"output", "defmodule Double do\n  def double(_) do\n    line = String.duplicate(\"y\", 1000)\n    Enum.each(1..100_000, fn _ -> IO.puts(line) end)\n  end\nend\n", "printed more than"},
	{"compile-time loop", "defmodule Double do\n  Stream.repeatedly(fn -> :ok end) |> Stream.run()\nend\n", "longer than"},
}

func TestExerciseRunawayChecksRunc(t *testing.T)  { testRunawayChecks(t, "runc") }
func TestExerciseRunawayChecksRunsc(t *testing.T) { testRunawayChecks(t, "runsc") }

// testRunawayChecks: checks that loop, allocate without end, fork, print
// megabytes or hang the compiler end as errors within the check timeout
// plus two seconds, the learner's iex and its variables live on, a check
// after them passes, and the exercise survives a resume.
func testRunawayChecks(t *testing.T, runtime string) {
	requireRuntime(t, runtime)
	s := startServer(t, "-runtime", runtime, "-pool", "0", "-check-timeout", checkTimeout.String())
	c := s.connect(t)
	c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Exercise: "enum/double", Resumable: true})
	ready := c.waitEvent(t, "ready", readyWait)
	c.waitPrompt(t, readyWait)
	if got := c.eval(t, "Lesson.numbers()"); got != "[1, 2, 3, 10]" {
		t.Fatalf("the exercise's setup.exs was not evaluated: Lesson.numbers() = %q", got)
	}
	if got := c.eval(t, "learned = 41"); got != "41" {
		t.Fatalf("learned = 41 gave %q", got)
	}

	res, took := c.checkRan(t, "warm", doubleFixed)
	if res.Status != "pass" || len(res.Tests) != 5 {
		t.Fatalf("the reference answer: %+v", res)
	}
	t.Logf("first check (it may wait for the check BEAM to boot): %v", took)

	for i, r := range runaways {
		res, took := c.checkRan(t, fmt.Sprint(i), r.code)
		t.Logf("%s: %s after %v: %s", r.name, res.Status, took.Round(time.Millisecond), res.Message)
		if res.Status != "error" || !strings.Contains(res.Message, r.want) {
			t.Errorf("%s: status %q (%q), want an error saying %q", r.name, res.Status, res.Message, r.want)
		}
		if got := c.eval(t, "learned + 1"); got != "42" {
			t.Fatalf("after the %s check, learned + 1 = %q: the learner's iex lost its state", r.name, got)
		}
	}

	// What a check leaves in the shared /tmp goes with it; what a test
	// prints is its output; a test may run a program.
	res, _ = c.checkRan(t, "files", "defmodule Double do\n  def double(_) do\n"+
		"    for i <- 1..5, do: File.write!(\"/tmp/check-left-#{i}\", String.duplicate(\"x\", 10_000))\n"+
		"    IO.puts(\"wrote #{Enum.count(File.ls!(\"/tmp\"), &String.starts_with?(&1, \"check-left\"))}\")\n"+
		"    IO.write(elem(System.cmd(\"echo\", [\"a test may run a program\"]), 0))\n"+
		"    :wrong\n  end\nend\n")
	if res.Status != "fail" || len(res.Tests) != 5 || res.Tests[0].Output != "wrote 5\na test may run a program\n" {
		t.Fatalf("a check that writes files: %+v", res)
	}
	// The answer comes first; the clean-up follows within moments.
	c.evalUntil(t, `Enum.count(File.ls!("/tmp"), &String.starts_with?(&1, "check-left"))`, "0", 5*time.Second)

	// The checker recovers.
	res, _ = c.checkRan(t, "after", doubleFixed)
	if res.Status != "pass" {
		t.Fatalf("a check after the runaways: %+v", res)
	}
	if n := len(s.containers(t)); n != 1 {
		t.Errorf("%d containers, want the session's one: a check must not boot a container", n)
	}

	// The exercise belongs to the session: a resumed connection checks it.
	var r struct {
		Resume string `json:"resume"`
	}
	json.Unmarshal([]byte(ready.raw), &r)
	c.conn.Drop()
	resumed := s.connect(t)
	resumed.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Resume: r.Resume})
	resumed.waitEvent(t, "ready", readyWait)
	res, _ = resumed.check(t, "resumed", doubleWrong)
	if res.Status != "fail" {
		t.Fatalf("a check after a resume: %+v", res)
	}
	resumed.closeNormally()
}

// TestExerciseRefusals: an unknown exercise is not_found before any sandbox
// starts; a check from a viewer, or in a session without an exercise,
// breaks the protocol.
func TestExerciseRefusals(t *testing.T) {
	s := startServer(t, "-pool", "0")
	c := s.connect(t)
	c.helloWith(t, client.Hello{Cols: 80, Rows: 24, Exercise: "enum/nothing"})
	e := c.waitEvent(t, "error", readyWait)
	if e.errorCode() != "not_found" || !strings.Contains(e.Message, "enum/nothing") {
		t.Errorf("error %s, want not_found naming the exercise", e.raw)
	}
	c.requireClose(t, 4011, 5*time.Second)
	if n := len(s.containers(t)); n != 0 {
		t.Errorf("%d containers after an unknown exercise, want none", n)
	}

	// A viewer of an exercise session cannot check; the presenter still can.
	p := s.connect(t)
	p.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Exercise: "recursion/sum"})
	p.waitEvent(t, "ready", readyWait)
	p.waitPrompt(t, readyWait)
	v, _ := watch(t, s, share(t, p))
	mustSend(t, v.conn.Check("", "x"))
	if e := v.waitEvent(t, "error", evalWait); e.errorCode() != "protocol" || !strings.Contains(e.Message, "viewer") {
		t.Errorf("a viewer's check: %s, want a protocol error", e.raw)
	}
	v.requireClose(t, 4004, 5*time.Second)
	if res, _ := p.checkRan(t, "p", "defmodule Recursion do\n  def sum([]), do: 0\n  def sum([h | t]), do: h + sum(t)\nend\n"); res.Status != "pass" {
		t.Errorf("the presenter's check after the viewer's: %+v", res)
	}
	p.closeNormally()

	// A check in a session without an exercise breaks the protocol.
	plain, _ := s.openSession(t, defaultCols, defaultRows)
	mustSend(t, plain.conn.Check("", "x"))
	if e := plain.waitEvent(t, "error", evalWait); e.errorCode() != "protocol" {
		t.Errorf("check without an exercise: %s, want a protocol error", e.raw)
	}
	plain.requireClose(t, 4004, 5*time.Second)
}

func TestExercisesSubcommand(t *testing.T) {
	requireDocker(t)
	instance := uniqueInstance(t)
	noLeftovers := func() {
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label="+labelInstance+"="+instance).Output()
		if strings.TrimSpace(string(out)) != "" {
			t.Errorf("containers left by the subcommand: %s", out)
		}
	}
	cmd := exec.Command(serverBinary, "exercises", "-runtime", "runc", "-instance", instance)
	cmd.Env = serverEnv()
	out, err := cmd.CombinedOutput()
	t.Logf("iexbox exercises:\n%s", out)
	if err != nil {
		t.Fatalf("the shipped reference solutions: %v", err)
	}
	for _, name := range []string{"match/swap", "recursion/sum", "enum/double", "structs/account", "genserver/counter"} {
		if !strings.Contains(string(out), name) {
			t.Errorf("no row for %s", name)
		}
	}
	if strings.Count(string(out), " pass ") != 5 {
		t.Errorf("want five passing rows")
	}
	noLeftovers()

	dir := t.TempDir()
	ex := filepath.Join(dir, "lesson", "wrong")
	os.MkdirAll(ex, 0o755)
	os.WriteFile(filepath.Join(ex, "test.exs"), []byte("defmodule WrongTest do\n  use ExUnit.Case\n  test \"adds\", do: assert Wrong.add(1, 2) == 3\nend\n"), 0o644)
	os.WriteFile(filepath.Join(ex, "solution.ex"), []byte("defmodule Wrong do\n  def add(a, b), do: a - b\nend\n"), 0o644)
	cmd = exec.Command(serverBinary, "exercises", dir, "-runtime", "runc", "-instance", instance)
	cmd.Env = serverEnv()
	out, err = cmd.CombinedOutput()
	t.Logf("iexbox exercises %s:\n%s", dir, out)
	if err == nil || !strings.Contains(string(out), "lesson/wrong") || !strings.Contains(string(out), "fail") ||
		!strings.Contains(string(out), "Assertion with == failed") {
		t.Errorf("a failing reference solution: err %v, want a non-zero exit and the failure", err)
	}
	noLeftovers()

	// Loading names the file at fault.
	os.WriteFile(filepath.Join(ex, "test.exs"), []byte("ExUnit.start()\n"), 0o644)
	cmd = exec.Command(serverBinary, "exercises", dir, "-runtime", "runc", "-instance", instance)
	cmd.Env = serverEnv()
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "lesson/wrong/test.exs") {
		t.Errorf("a bad test.exs: err %v, output %s", err, out)
	}
}

func TestBrowserExerciseCheckRunc(t *testing.T)  { testBrowserExerciseCheck(t, "runc") }
func TestBrowserExerciseCheckRunsc(t *testing.T) { testBrowserExerciseCheck(t, "runsc") }

// testBrowserExerciseCheck: in the lesson page, the exercise console shows
// its starter, a wrong answer fails with ExUnit's message, one that does
// not compile is an error, the fixed one passes (the page hears iex-check),
// and the learner's variables in the console survive every check.
func testBrowserExerciseCheck(t *testing.T, runtime string) {
	requireRuntime(t, runtime)
	s := startServer(t, "-runtime", runtime, "-pool", "0")
	ctx := newBrowser(t)
	run(t, ctx, chromedp.Navigate(s.URL()+"/demo/lesson.html"))
	el := `document.querySelector('iex-console[exercise="enum/double"]')`
	waitJS(t, ctx, "the starter code shown", el+`?.shadowRoot.querySelector('.code').value.includes('def double(list)')`)
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`window.checks = []; document.addEventListener('iex-check', e => window.checks.push(e.detail))`))
	if n := len(s.containers(t)); n != 0 {
		t.Fatalf("%d containers before anything ran, want none", n)
	}

	clickShadow(t, ctx, el, ".term")
	waitBuffer(t, ctx, el+".term", "iex(")
	clickShadow(t, ctx, el, ".term") // now into the terminal's own input
	typeLine(t, ctx, "learned = 6 * 7")
	waitBuffer(t, ctx, el+".term", "42")
	if text := waitBuffer(t, ctx, el+".term", "iex("); strings.Contains(text, "Code.eval_string") || strings.Contains(text, "defmodule Lesson") {
		t.Errorf("the exercise's setup shows in the console:\n%s", text)
	}

	setCode := func(code string) {
		js, _ := json.Marshal(code)
		run(t, ctx, chromedp.Evaluate[chromedp.Void](el+`.shadowRoot.querySelector('.code').value = `+string(js)))
	}
	checkAndWait := func(n int) map[string]any {
		t.Helper()
		clickShadow(t, ctx, el, ".check")
		waitJS(t, ctx, fmt.Sprintf("check %d answered", n), fmt.Sprintf(`window.checks.length >= %d`, n))
		return eval[map[string]any](t, ctx, fmt.Sprintf(`window.checks[%d]`, n-1))
	}
	shown := func() string {
		return eval[string](t, ctx, el+`.shadowRoot.querySelector('.results').innerText`)
	}

	setCode(doubleWrong)
	res := checkAndWait(1)
	if res["status"] != "fail" {
		t.Fatalf("the wrong answer: %v", res)
	}
	if text := shown(); !strings.Contains(text, "Assertion with == failed") || !strings.Contains(text, "left:  [3, 6, 9]") ||
		!strings.Contains(text, "✗") {
		t.Errorf("the page does not show ExUnit's failure:\n%s", text)
	}
	screenshot(t, ctx, "exercise-fail-"+runtime+".png")

	setCode(doubleBroken)
	res = checkAndWait(2)
	if res["status"] != "error" || !strings.Contains(fmt.Sprint(res["message"]), "solution.ex") {
		t.Errorf("code that does not compile: %v", res)
	}
	t.Logf("compile error shown: %s", shown())

	setCode(doubleFixed)
	res = checkAndWait(3)
	if res["status"] != "pass" || len(res["tests"].([]any)) != 5 {
		t.Fatalf("the fixed answer: %v", res)
	}
	if text := shown(); !strings.Contains(text, "Solved") || strings.Contains(text, "✗") {
		t.Errorf("the page does not show the exercise solved:\n%s", text)
	}
	screenshot(t, ctx, "exercise-pass-"+runtime+".png")

	// The console and its variables are untouched by the checks.
	clickShadow(t, ctx, el, ".term")
	typeLine(t, ctx, "learned + 1")
	waitBuffer(t, ctx, el+".term", "43")
	if n := len(s.containers(t)); n != 1 {
		t.Errorf("%d containers, want the one session's", n)
	}
}
