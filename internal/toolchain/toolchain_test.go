package toolchain

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	good := fstest.MapFS{
		"parsing/toolchain.json":   {Data: []byte(`{"debian": "forky", "packages": ["erlang-proper", "elixir-nimble-parsec"], "description": "d"}`)},
		"parsing/lib/a.ex":         {Data: []byte("defmodule A do end")},
		"parsing/lib/deep/b.ex":    {Data: []byte("defmodule B do end")},
		"parsing/lib/notes.txt":    {Data: []byte("not code")},
		"old/plain/toolchain.json": {Data: []byte(`{}`)},
	}
	set, err := Load(good, "img:latest")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Names(), " "); got != "default old/plain parsing" {
		t.Errorf("names = %q", got)
	}
	p, _ := set.Get("parsing")
	if p.Debian != "forky" || strings.Join(p.Packages, ",") != "elixir-nimble-parsec,erlang-proper" || len(p.Lib) != 2 {
		t.Errorf("parsing = %+v", p)
	}
	if !strings.HasPrefix(p.Image, ImageRepository+":") {
		t.Errorf("image = %q", p.Image)
	}
	plain, _ := set.Get("old/plain")
	if plain.Debian != "trixie" || len(plain.Packages) != 0 {
		t.Errorf("old/plain = %+v", plain)
	}
	if d, _ := set.Get(""); d.Image != "img:latest" {
		t.Errorf("default = %+v", d)
	}

	// The hash follows the content.
	changed := fstest.MapFS{}
	for k, v := range good {
		changed[k] = v
	}
	changed["parsing/lib/a.ex"] = &fstest.MapFile{Data: []byte("defmodule A do def x, do: 1 end")}
	set2, err := Load(changed, "img:latest")
	if err != nil {
		t.Fatal(err)
	}
	if p2, _ := set2.Get("parsing"); p2.Hash == p.Hash {
		t.Error("a changed lib/ file kept the hash")
	}
	if p2, _ := set2.Get("old/plain"); p2.Hash != plain.Hash {
		t.Error("an unchanged toolchain changed its hash")
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"not json", fstest.MapFS{"a/toolchain.json": {Data: []byte(`{"debian": `)}}, "a/toolchain.json: "},
		{"unknown field", fstest.MapFS{"a/toolchain.json": {Data: []byte(`{"packges": []}`)}}, "a/toolchain.json: "},
		{"release", fstest.MapFS{"a/toolchain.json": {Data: []byte(`{"debian": "buster"}`)}}, `a/toolchain.json: debian "buster"`},
		{"package name", fstest.MapFS{"a/toolchain.json": {Data: []byte(`{"packages": ["elixir; rm -rf /"]}`)}}, `a/toolchain.json: package "elixir; rm -rf /"`},
		{"too many packages", fstest.MapFS{"a/toolchain.json": {Data: []byte(`{"packages": [` + strings.Repeat(`"p1",`, 50) + `"p1"]}`)}}, "a/toolchain.json: 51 packages"},
		{"default", fstest.MapFS{"default/toolchain.json": {Data: []byte(`{}`)}}, `default/toolchain.json: "default" is the built-in`},
		{"bad name", fstest.MapFS{"a b/toolchain.json": {Data: []byte(`{}`)}}, `a b/toolchain.json: the toolchain's name`},
		{"top folder", fstest.MapFS{"toolchain.json": {Data: []byte(`{}`)}}, "toolchain.json: a toolchain is a folder"},
		{"symlink", fstest.MapFS{"a/toolchain.json": {Data: []byte(`{}`)}, "a/lib/x.ex": {Mode: 0o777 | 1<<27}}, "a/lib/x.ex: is a symbolic link"},
		{"big lib file", fstest.MapFS{"a/toolchain.json": {Data: []byte(`{}`)}, "a/lib/x.ex": {Data: make([]byte, maxLibFile+1)}}, "a/lib/x.ex: "},
		{"empty", fstest.MapFS{"a/readme": {Data: []byte(`{}`)}}, "no folder holds a toolchain.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.fs, "img")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReportRead(t *testing.T) {
	tc := &Toolchain{Name: "p", Packages: []string{"elixir-nimble-parsec", "erlang-proper"}, Lib: map[string][]byte{"lib/a.ex": nil},
		Versions: Versions{Elixir: "1.20.4", OTP: "29.1.1"}}
	ok := "elixir 1.20.4\notp 29.1.1\napp elixir-nimble-parsec nimble_parsec ok\napp erlang-proper proper ok\nmodule Elixir.A ok\ndone\n"
	if r := (Report{}).read(strings.NewReader(ok), tc); !r.OK() || r.Elixir != "1.20.4" || len(r.Apps) != 2 || len(r.Modules) != 1 {
		t.Errorf("report = %+v", r)
	}
	for _, bad := range []struct{ out, want string }{
		{strings.Replace(ok, "proper ok", "proper {:error, :bad}", 1), "erlang-proper: application proper does not load"},
		{strings.Replace(ok, "app erlang-proper proper ok\n", "", 1), "package erlang-proper brings no"},
		{strings.Replace(ok, "module Elixir.A ok\n", "", 1), "lib/ holds no module"},
		{strings.Replace(ok, "otp 29.1.1", "otp 28.0", 1), "the image's labels say"},
		{strings.Replace(ok, "done\n", "", 1), "ended early"},
	} {
		if r := (Report{}).read(strings.NewReader(bad.out), tc); !strings.Contains(r.Problem, bad.want) {
			t.Errorf("problem = %q, want %q", r.Problem, bad.want)
		}
	}
}

func TestCauseNamesTheFile(t *testing.T) {
	for _, tc := range []struct{ out, want string }{
		{"I: Retrieving\nE: Couldn't find these debs: elixir-nope\nE: Couldn't find these debs: elixir-nope\n", "p/toolchain.json: no such Debian package: elixir-nope (exit status 1)"},
		{"    error: undefined variable \"y\"\n    │\n    └─ lib/a/b.ex:3:5: A.x/0\n", `error: undefined variable "y": p/lib/a/b.ex:3:5 (exit status 1)`},
	} {
		if got := cause("p", tc.out, errExit); got != tc.want {
			t.Errorf("cause = %q, want %q", got, tc.want)
		}
	}
}

var errExit = errorString("exit status 1")

type errorString string

func (e errorString) Error() string { return string(e) }
