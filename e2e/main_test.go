// Package e2e runs the real iexbox binary against the real Docker Engine
// and talks to it as a client would: over iexbox.v1 WebSockets (this
// package's protocol tests) and, later, through a real browser. Every test
// starts its own server process with a unique instance name and, when it
// ends, asserts that no container of that instance is left.
//
// TestMain builds cmd/iexbox once. Without a Docker Engine (or without the
// sandbox image) the tests skip with the reason, except under CI=true, where
// that is a failure.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sandboxImage is the image the server runs by default (`make image`).
const sandboxImage = "iexbox-sandbox:latest"

var (
	// serverBinary is the iexbox binary built by TestMain.
	serverBinary string
	// dockerProblem, when set, is why the tests that need Docker skip.
	dockerProblem string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "iexbox-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	serverBinary = filepath.Join(dir, "iexbox")
	if err := buildServer(serverBinary); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build cmd/iexbox:", err)
		return 1
	}
	if problem := checkDocker(); problem != "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "e2e: %s (CI=true: the e2e suite needs a Docker Engine and the image)\n", problem)
			return 1
		}
		dockerProblem = problem + "; start one with scripts/docker-up.sh and build the image with `make image`"
		fmt.Fprintln(os.Stderr, "e2e: skipping the tests that need Docker:", dockerProblem)
	}
	return m.Run()
}

// buildServer builds cmd/iexbox from the module root into out.
func buildServer(out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/iexbox")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, b)
	}
	return nil
}

// moduleRoot is the directory holding go.mod, or ".." (this package's
// parent) when the go command cannot say.
func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(b)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod), nil
	}
	return filepath.Abs("..")
}

// checkDocker reports why the suite cannot run against Docker, or "".
func checkDocker() string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := exec.LookPath("docker"); err != nil {
		return "no docker command on PATH"
	}
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return fmt.Sprintf("the Docker Engine does not answer (docker info: %v: %s)", err, strings.TrimSpace(string(out)))
	}
	if err := exec.CommandContext(ctx, "docker", "image", "inspect", sandboxImage).Run(); err != nil {
		return fmt.Sprintf("the sandbox image %s is missing", sandboxImage)
	}
	return ""
}
