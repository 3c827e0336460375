package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// serverSeccomp finds the seccomp profile the server gives its sandboxes,
// from the security options of one of its containers, and writes it to a
// file for docker run's --security-opt, so that the baseline is filtered
// exactly like a sandbox. It returns "" when the server's containers use
// Docker's default profile. The caller removes the file.
func serverSeccomp(ctx context.Context, instance string) (string, error) {
	ids := containerIDs(ctx, "iexbox.instance="+instance)
	if len(ids) == 0 {
		return "", fmt.Errorf("no container of %s to copy the seccomp profile from (is its pool empty?)", instance)
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
	return "", nil
}
