package docker

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateSeccomp = flag.Bool("update-seccomp", false, "rewrite deploy/kubernetes/seccomp from the sandbox's profiles")

// TestKubernetesSeccompProfiles keeps the Localhost seccomp profiles
// shipped for Kubernetes nodes (deploy/kubernetes/seccomp) equal to the
// profiles this package gives Docker, so both backends filter the same
// calls. After a change to the profile, rewrite them with
// go test ./internal/docker -run TestKubernetesSeccompProfiles -update-seccomp
func TestKubernetesSeccompProfiles(t *testing.T) {
	for file, gvisor := range map[string]bool{"runc.json": false, "gvisor.json": true} {
		profile, err := seccompProfile(gvisor, false)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(profile), "", "  "); err != nil {
			t.Fatal(err)
		}
		want.WriteByte('\n')
		path := filepath.Join("..", "..", "deploy", "kubernetes", "seccomp", file)
		if *updateSeccomp {
			if err := os.WriteFile(path, want.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s differs from the profile given to Docker; rewrite it with -update-seccomp", path)
		}
	}
}
