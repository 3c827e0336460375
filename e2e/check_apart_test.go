package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"iexbox/internal/client"
)

func TestExerciseCheckApartRunc(t *testing.T)  { testCheckApart(t, "runc") }
func TestExerciseCheckApartRunsc(t *testing.T) { testCheckApart(t, "runsc") }

// testCheckApart: on the Docker backend, a check runs as a uid other than
// the learner's, and what the learner left (a file in /tmp, a program)
// survives it (requireCheckApart).
func testCheckApart(t *testing.T, runtime string) {
	requireRuntime(t, runtime)
	s := startServer(t, "-runtime", runtime, "-pool", "0", "-check-timeout", checkTimeout.String())
	c := s.connect(t)
	c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Exercise: "enum/double"})
	c.waitEvent(t, "ready", readyWait)
	c.waitPrompt(t, readyWait)
	requireCheckApart(t, c)
	c.closeNormally()
}

// requireCheckApart: the learner writes a file to /tmp and starts a
// program; a check that tries to remove the one and kill the other (where
// it can see it) and leaves files of its own in /tmp reports a uid other
// than the learner's; its files are removed after it, and the learner's
// file and program are still there.
func requireCheckApart(t *testing.T, c *wsClient) {
	t.Helper()
	learner := c.eval(t, `System.cmd("id", ["-u"]) |> elem(0) |> String.trim() |> String.to_integer()`)
	if _, err := strconv.Atoi(learner); err != nil {
		t.Fatalf("the learner's uid: %q", learner)
	}
	if got := c.eval(t, `File.write("/tmp/learner-file", "mine")`); got != ":ok" {
		t.Fatalf("the learner's file: %q", got)
	}
	pid := c.eval(t, `Port.open({:spawn, "sleep 600"}, []) |> Port.info(:os_pid) |> elem(1)`)
	if _, err := strconv.Atoi(pid); err != nil {
		t.Fatalf("the learner's program: %q", pid)
	}
	code := fmt.Sprintf("defmodule Double do\n  def double(_) do\n"+
		"    for i <- 1..5, do: File.write!(\"/tmp/check-left-#{i}\", String.duplicate(\"x\", 10_000))\n"+
		"    IO.puts(\"uid \" <> String.trim(elem(System.cmd(\"id\", [\"-u\"]), 0)))\n"+
		"    IO.puts(\"rm \" <> inspect(File.rm(\"/tmp/learner-file\")))\n"+
		"    case File.read(\"/proc/%[1]s/cmdline\") do\n"+
		"      {:ok, cmd} -> if cmd =~ \"sleep\", do: IO.puts(\"kill \" <> inspect(elem(System.cmd(\"kill\", [\"-9\", \"%[1]s\"], stderr_to_stdout: true), 1)))\n"+
		"      _ -> IO.puts(\"program not visible\")\n"+
		"    end\n"+
		"    :wrong\n  end\nend\n", pid)
	res, _ := c.check(t, "apart", code)
	if res.Status != "fail" || len(res.Tests) == 0 {
		t.Fatalf("the check: %+v", res)
	}
	out := res.Tests[0].Output
	t.Logf("learner uid %s, program %s; the check printed:\n%s", learner, pid, out)
	if !strings.Contains(out, "uid ") || strings.Contains(out, "uid "+learner+"\n") {
		t.Errorf("the check ran as the learner's uid %s:\n%s", learner, out)
	}
	if !strings.Contains(out, "rm {:error, ") {
		t.Errorf("the check removed the learner's file:\n%s", out)
	}
	// The check's own files go with it (the answer comes first, the
	// clean-up within moments); the learner's things stay.
	c.evalUntil(t, `Enum.count(File.ls!("/tmp"), &String.starts_with?(&1, "check-left"))`, "0", 5*time.Second)
	if got := c.eval(t, `File.read("/tmp/learner-file")`); got != `{:ok, "mine"}` {
		t.Errorf("the learner's file after the check: %s", got)
	}
	if got := c.eval(t, fmt.Sprintf(`System.cmd("kill", ["-0", "%s"]) |> elem(1)`, pid)); got != "0" {
		t.Errorf("the learner's program after the check: kill -0 gave %s", got)
	}
}
