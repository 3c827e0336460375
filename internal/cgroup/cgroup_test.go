package cgroup

import (
	"os"
	"path/filepath"
	"testing"
)

// The real cgroup file system needs root and changes the host: these tests
// run against a fake tree with the same files; e2e proves the real one.
func TestSetupV1(t *testing.T) {
	root := t.TempDir()
	for _, c := range []string{"memory", "cpu", "cpuset", "pids", "unified"} {
		os.MkdirAll(filepath.Join(root, c), 0o755)
	}
	os.WriteFile(filepath.Join(root, "cpuset", "cpuset.cpus"), []byte("0-1\n"), 0o644)
	os.WriteFile(filepath.Join(root, "cpuset", "cpuset.mems"), []byte("0\n"), 0o644)

	p, err := Setup(root, "iexbox", 1<<30, 1.5)
	if err != nil {
		t.Fatal(err)
	}
	if p.Path != "/iexbox" {
		t.Errorf("path %q", p.Path)
	}
	want := map[string]string{
		"memory/iexbox/memory.limit_in_bytes": "1073741824",
		"cpu/iexbox/cpu.cfs_quota_us":         "150000",
		"cpu/iexbox/cpu.cfs_period_us":        "100000",
		"cpuset/iexbox/cpuset.cpus":           "0-1",
		"cpuset/iexbox/cpuset.mems":           "0",
	}
	for f, v := range want {
		got, err := os.ReadFile(filepath.Join(root, f))
		if err != nil || string(got) != v {
			t.Errorf("%s = %q (%v), want %q", f, got, err, v)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "pids", "iexbox")); err != nil {
		t.Error("parent missing in the pids controller")
	}
	if _, err := os.Stat(filepath.Join(root, "unified", "iexbox")); err == nil {
		t.Error("parent created in the v2 mount of a hybrid host")
	}
}

func TestSetupV2(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory pids"), 0o644)
	if _, err := Setup(root, "iexbox", 2<<30, 1); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[string]string{"iexbox/memory.max": "2147483648", "iexbox/cpu.max": "100000 100000"} {
		if got, _ := os.ReadFile(filepath.Join(root, f)); string(got) != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
}

func TestSetupRejectsPaths(t *testing.T) {
	for _, name := range []string{"", "a/b", "..", "x.y"} {
		if _, err := Setup(t.TempDir(), name, 0, 0); err == nil {
			t.Errorf("Setup accepted name %q", name)
		}
	}
}
