package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"iexbox/internal/docker"
	"iexbox/internal/sandbox"
)

// serverSeccomp finds the seccomp profile the server gives its sandboxes,
// from the security options of one of its containers, and writes it to a
// file for docker run's --security-opt, so that the baseline is filtered
// exactly like a sandbox. A server whose sandboxes are not containers of
// this engine (the Kubernetes backend's Pods) has none to copy from: the
// baseline then gets the profile the Docker adapter gives the same policy,
// as the Pods' Localhost profile is. It returns "" when the server's
// containers use Docker's default profile. The caller removes the file.
func serverSeccomp(ctx context.Context, instance string, policy sandbox.Policy) (string, error) {
	ids := containerIDs(ctx, "iexbox.instance="+instance)
	if len(ids) == 0 {
		profile, err := docker.SeccompProfile(docker.Config{Policy: policy})
		if err != nil {
			return "", err
		}
		return writeProfile(profile)
	}
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{json .HostConfig.SecurityOpt}}", ids[0]).Output()
	if err != nil {
		return "", fmt.Errorf("docker inspect: %w", err)
	}
	var opts []string
	if err := json.Unmarshal(out, &opts); err != nil {
		return "", fmt.Errorf("security options of %.12s: %w", ids[0], err)
	}
	for _, o := range opts {
		profile, ok := strings.CutPrefix(o, "seccomp=")
		if !ok || profile == "unconfined" {
			continue
		}
		return writeProfile(profile)
	}
	return "", nil
}

// writeProfile writes a seccomp profile to a new file ("" for none).
func writeProfile(profile string) (string, error) {
	if profile == "" {
		return "", nil
	}
	f, err := os.CreateTemp("", "iexbench-seccomp-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.WriteString(profile); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), f.Close()
}
