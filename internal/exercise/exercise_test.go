package exercise

import (
	"strings"
	"testing"
	"testing/fstest"

	"iexbox/exercises"
)

const goodTest = "defmodule T do\n  use ExUnit.Case\n  test \"x\", do: assert true\nend\n"

func TestLoad(t *testing.T) {
	ok := fstest.MapFS{
		"enum/double/test.exs":      {Data: []byte(goodTest)},
		"enum/double/solution.ex":   {Data: []byte("defmodule D do end")},
		"enum/double/starter.ex":    {Data: []byte("# start")},
		"deep/a/b/c/test.exs":       {Data: []byte(goodTest)},
		"deep/a/b/c/solution.ex":    {Data: []byte("x")},
		"deep/notes.md":             {Data: []byte("grouping folders hold anything")},
		"enum/double/setup.exs":     {Data: []byte("defmodule L do end")},
		"enum/double/extra/file.ex": {Data: []byte("ignored")},
	}
	set, err := Load(ok, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Names(), ","); got != "deep/a/b/c,enum/double" {
		t.Errorf("names %s", got)
	}
	if s, ok := set.Starter("enum/double"); !ok || s != "# start" {
		t.Errorf("starter %q %v", s, ok)
	}
	if _, ok := set.Starter("../enum/double"); ok || set.Has("enum") {
		t.Error("a name outside the table was found")
	}

	for _, tt := range []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"bad name", fstest.MapFS{"en um/test.exs": {Data: []byte(goodTest)}, "en um/solution.ex": {}}, "en um/test.exs"},
		{"no solution", fstest.MapFS{"a/test.exs": {Data: []byte(goodTest)}}, "a/solution.ex: missing"},
		{"no test module", fstest.MapFS{"a/test.exs": {Data: []byte("IO.puts 1")}, "a/solution.ex": {}}, "a/test.exs: holds no test module"},
		{"starts ExUnit", fstest.MapFS{"a/test.exs": {Data: []byte("ExUnit.start()\n" + goodTest)}, "a/solution.ex": {}}, "a/test.exs: must not call ExUnit.start"},
		{"huge setup", fstest.MapFS{"a/test.exs": {Data: []byte(goodTest)}, "a/solution.ex": {}, "a/setup.exs": {Data: make([]byte, maxSetup+1)}}, "a/setup.exs"},
		{"symlink", fstest.MapFS{"a/test.exs": {Data: []byte(goodTest)}, "a/solution.ex": {}, "b": {Mode: 0o777 | 1<<27}}, "b: is a symbolic link"},
		{"empty", fstest.MapFS{"readme": {}}, "no folder holds a test.exs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.fsys, Config{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestShippedExamples(t *testing.T) {
	set, err := Load(exercises.FS(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Names()) < 5 {
		t.Errorf("%d examples, want at least five", len(set.Names()))
	}
}

func TestSetupLine(t *testing.T) {
	got := setupLine("a = \"#{1}\\n\"\n\tb")
	want := `Code.eval_string("a = \"\#{1}\\n\"\n\x{9}b", [], file: "setup.exs"); IEx.dont_display_result()` + "\r"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParseResult(t *testing.T) {
	out := []byte("noise\nabc {\"status\":\"fake\"}\n...\n\nabc {\"status\":\"fail\",\"tests\":[{\"name\":\"t\",\"status\":\"fail\",\"message\":\"m\",\"task_id\":2}]}\n")
	r := parseResult(out, "abc")
	if r.Status != "fail" || len(r.Tests) != 1 || *r.Tests[0].TaskID != 2 {
		t.Errorf("%+v", r)
	}
	if r := parseResult([]byte("IEXBOX_MEMORY\n"), "abc"); r.Status != "error" || !strings.Contains(r.Message, "memory") {
		t.Errorf("%+v", r)
	}
	if r := parseResult([]byte("\nabc {\"status\":\"weird\"}\n"), "abc"); r.Status != "error" {
		t.Errorf("%+v", r)
	}
}

func TestLoadBinding(t *testing.T) {
	set, err := Load(fstest.MapFS{
		"p/sum/test.exs":      {Data: []byte(goodTest)},
		"p/sum/solution.ex":   {},
		"p/sum/exercise.json": {Data: []byte(`{"toolchain": "forky/parsing"}`)},
		"q/test.exs":          {Data: []byte(goodTest)},
		"q/solution.ex":       {},
	}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Toolchain("p/sum"); got != "forky/parsing" {
		t.Errorf("p/sum is bound to %q", got)
	}
	if got := set.Toolchain("q"); got != "" {
		t.Errorf("q is bound to %q", got)
	}
	for _, bad := range []string{`{"toolchain": "../x"}`, `{"toolchian": "x"}`, `[`} {
		_, err := Load(fstest.MapFS{"a/test.exs": {Data: []byte(goodTest)}, "a/solution.ex": {},
			"a/exercise.json": {Data: []byte(bad)}}, Config{})
		if err == nil || !strings.Contains(err.Error(), "a/exercise.json") {
			t.Errorf("%s: err %v, want one naming a/exercise.json", bad, err)
		}
	}
}
