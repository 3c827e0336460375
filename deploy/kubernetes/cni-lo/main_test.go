package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(env(map[string]string{"CNI_COMMAND": "VERSION"}), strings.NewReader(""), &out); err != nil {
		t.Fatal(err)
	}
	var v struct{ SupportedVersions []string }
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || len(v.SupportedVersions) == 0 {
		t.Fatalf("VERSION printed %q (%v)", out.String(), err)
	}
}

// TestDelegatesToIPAM runs DEL against a fake IPAM plugin that records its
// command and configuration: the plugin must hand both on unchanged.
func TestDelegatesToIPAM(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "record")
	script := "#!/bin/sh\necho \"$CNI_COMMAND $CNI_CONTAINERID\" > " + rec + "\ncat >> " + rec + "\n"
	if err := os.WriteFile(filepath.Join(dir, "fake-ipam"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := `{"cniVersion":"1.0.0","name":"t","type":"cni-lo","ipam":{"type":"fake-ipam"}}`
	e := env(map[string]string{"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c1", "CNI_PATH": "/nonexistent:" + dir})
	if err := run(e, strings.NewReader(conf), new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := "DEL c1\n" + conf; string(got) != want {
		t.Fatalf("IPAM got %q, want %q", got, want)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ name, cmd, conf, want string }{
		{"no ipam", "ADD", `{"cniVersion":"1.0.0"}`, "no ipam.type"},
		{"bad json", "ADD", `{`, "parse configuration"},
		{"ipam missing", "DEL", `{"ipam":{"type":"nope"}}`, "not found in CNI_PATH"},
		{"ipam path", "DEL", `{"ipam":{"type":"../nope"}}`, "invalid ipam.type"},
		{"no netns", "ADD", `{"ipam":{"type":"host-local"}}`, "CNI_NETNS is empty"},
		{"unknown command", "FROB", `{"ipam":{"type":"host-local"}}`, "unknown CNI_COMMAND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(env(map[string]string{"CNI_COMMAND": tc.cmd, "CNI_PATH": t.TempDir()}), strings.NewReader(tc.conf), new(bytes.Buffer))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFirstAddress(t *testing.T) {
	a, err := firstAddress([]byte(`{"ips":[{"address":"10.244.0.7/16","gateway":"10.244.0.1"}]}`))
	if err != nil || a.String() != "10.244.0.7" {
		t.Fatalf("got %v, %v", a, err)
	}
	if _, err := firstAddress([]byte(`{"ips":[]}`)); err == nil {
		t.Fatal("an empty result gave no error")
	}
}
