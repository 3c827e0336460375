package main

import (
	"io"
	"testing"
	"time"

	"iexbox/internal/sandbox"
)

func TestParseConfig(t *testing.T) {
	env := map[string]string{"IEXBENCH_KEY_GAP": "40ms", "IEXBENCH_N": "7"}
	getenv := func(k string) string { return env[k] }
	c, err := parseConfig([]string{"iexbench", "-only", "prompt,echo", "-n", "9"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.only["prompt"] || !c.only["echo"] || c.only["density"] {
		t.Errorf("only = %v", c.only)
	}
	if c.keyGap != 40*time.Millisecond {
		t.Errorf("key gap from the environment = %v", c.keyGap)
	}
	if c.n != 9 {
		t.Errorf("n = %d: a flag wins over its variable", c.n)
	}
	if len(c.manyKeyGaps) != 2 {
		t.Errorf("many key gaps = %v", c.manyKeyGaps)
	}
	for _, bad := range [][]string{
		{"iexbench", "-only", "prompt,nope"},
		{"iexbench", "-n", "0"},
		{"iexbench", "-churn-end", "later"},
		{"iexbench", "-many-key-gaps", "fast"},
		{"iexbench", "extra"},
	} {
		if _, err := parseConfig(bad, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%q: no error", bad[1:])
		}
	}
}

func TestSandboxFlagsMirrorTheServer(t *testing.T) {
	p := sandbox.Default()
	p.Isolation, p.UIDBase = "runsc", 0
	f := sandboxFlags{policy: p, label: "x"}
	args := f.args("-it", "n", "img", "iex")
	want := map[string]string{
		"--runtime": "runsc", "--network": "none", "--memory": "268435456", "--memory-swap": "268435456",
		"--cpus": "0.5", "--pids-limit": "64", "--user": "10001:10001", "--cap-drop": "ALL",
	}
	for i := 0; i+1 < len(args); i++ {
		if v, ok := want[args[i]]; ok {
			if args[i+1] != v {
				t.Errorf("%s %s, want %s", args[i], args[i+1], v)
			}
			delete(want, args[i])
		}
	}
	if len(want) > 0 {
		t.Errorf("missing flags: %v", want)
	}
	if args[len(args)-2] != "img" || args[len(args)-1] != "iex" {
		t.Errorf("image and command must come last: %q", args)
	}
}
