package e2e

// gVisor's seccomp, verified rather than assumed: runsc enforces the
// container's profile only when registered with --oci-seccomp, and the
// server's start-up probe checks that it does.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const daemonJSON = "/etc/docker/daemon.json"

// daemonMu serialises this test binary's edits of daemon.json.
var daemonMu sync.Mutex

// registerRuntime registers an OCI runtime with dockerd (daemon.json, then
// SIGHUP, which reloads runtimes without touching containers) for the
// test, and unregisters it afterwards.
func registerRuntime(t *testing.T, name string, entry map[string]any) {
	t.Helper()
	edit := func(f func(runtimes map[string]any)) {
		t.Helper()
		daemonMu.Lock()
		defer daemonMu.Unlock()
		cfg := map[string]any{}
		if b, err := os.ReadFile(daemonJSON); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatalf("%s: %v", daemonJSON, err)
			}
		}
		runtimes, _ := cfg["runtimes"].(map[string]any)
		if runtimes == nil {
			runtimes = map[string]any{}
		}
		f(runtimes)
		cfg["runtimes"] = runtimes
		b, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		tmp := daemonJSON + ".iexbox-e2e"
		if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
			t.Fatalf("write %s: %v (the test edits dockerd's configuration: run it as root)", tmp, err)
		}
		if err := os.Rename(tmp, daemonJSON); err != nil {
			t.Fatal(err)
		}
		// The engine's own pid file, not pidof: another dockerd (of other
		// work on the machine) must not get the signal instead.
		pid, err := os.ReadFile("/var/run/docker.pid")
		if err != nil {
			t.Fatalf("dockerd's pid: %v", err)
		}
		if err := exec.Command("kill", "-HUP", strings.TrimSpace(string(pid))).Run(); err != nil {
			t.Fatalf("reload dockerd: %v", err)
		}
	}
	registered := func() bool {
		out, err := exec.Command("docker", "info", "--format", "{{json .Runtimes}}").Output()
		return err == nil && strings.Contains(string(out), `"`+name+`"`)
	}
	waitFor := func(want bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); registered() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("dockerd: runtime %s registered %v, want %v", name, !want, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	edit(func(r map[string]any) { r[name] = entry })
	waitFor(true)
	t.Cleanup(func() {
		edit(func(r map[string]any) { delete(r, name) })
		waitFor(false)
	})
}

// TestGVisorSeccompVerified: runsc registered without --oci-seccomp runs
// the container's calls unfiltered (a new user namespace is made); the
// server's start-up probe catches it and refuses to run on it, leaving no
// container.
func TestGVisorSeccompVerified(t *testing.T) {
	if !slices.Contains(runtimesUnderTest(), "runsc") {
		t.Skip("runsc is not among " + runtimesEnv)
	}
	requireRuntime(t, "runsc")
	const name = "runsc-no-oci-seccomp"
	registerRuntime(t, name, map[string]any{
		"path":        "/usr/local/bin/runsc",
		"runtimeArgs": []string{"--network=none", "--platform=systrap"},
	})
	// What the probe guards against: without --oci-seccomp the profile's
	// unshare denial does not hold.
	for rt, want := range map[string]string{name: "made", "runsc": "refused"} {
		out, _ := execOutput("docker", "run", "--rm", "--runtime", rt, "--network", "none", "--cap-drop", "ALL",
			"--security-opt", "no-new-privileges", "--security-opt", "seccomp="+denyUnshareProfile(t),
			"--user", "100000:100000", sandboxImage, "sh", "-c", "unshare -U true 2>/dev/null && echo made || echo refused")
		if got := strings.TrimSpace(out); got != want {
			t.Errorf("a user namespace under %s with a profile that denies unshare: %q, want %s", rt, got, want)
		}
	}

	instance := uniqueInstance(t)
	cmd := exec.Command(serverBinary, "-addr", freeAddr(t), "-instance", instance, "-runtime", name, "-pool", "0")
	cmd.Env = serverEnv()
	out, err := cmd.CombinedOutput()
	t.Logf("server with -runtime %s:\n%s", name, tail(string(out)))
	if err == nil {
		t.Fatalf("the server started on %s, which does not enforce the seccomp profile", name)
	}
	if !strings.Contains(string(out), "seccomp profile is not enforced") {
		t.Errorf("the server's refusal does not say the profile is not enforced")
	}
	if ids := containersLabelled(t, labelInstance+"="+instance); len(ids) > 0 {
		exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		t.Errorf("the refused probe left containers: %v", ids)
	}
}

// denyUnshareProfile writes a seccomp profile that denies unshare and
// allows everything else, so that `docker run` shows whether the runtime
// enforces a profile at all.
func denyUnshareProfile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "deny-unshare.json")
	profile := `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["unshare"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`
	if err := os.WriteFile(p, []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
