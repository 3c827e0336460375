package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/container"
)

// probeScript is what the probe container runs: a call the seccomp
// profile denies (unshare, by the image's own unshare program) must fail.
// Exit 0: the runtime works and enforces the profile; probeNotEnforced:
// the call went through (runsc registered without --oci-seccomp makes its
// own kernel take every call, namespaces included); probeNoTool: the image
// lacks the program, so nothing was shown.
const (
	probeScript      = `command -v unshare >/dev/null || exit 43; unshare -U true 2>/dev/null && exit 42; exit 0`
	probeNotEnforced = 42
	probeNoTool      = 43
)

// Probe starts one throw-away container with the full hardening under the
// configured OCI runtime and waits for it to exit cleanly. It tells whether
// the runtime (gVisor's runsc in particular) really works on this host, not
// just whether it is registered, and whether it enforces the seccomp
// profile: a call the profile denies must be refused.
func (r *Runtime) Probe(ctx context.Context) (err error) {
	cfg := r.cfg.containerConfig("probe")
	cfg.Cmd = []string{"sh", "-c", probeScript}
	cfg.Tty, cfg.OpenStdin, cfg.AttachStdin = false, false, false
	host, err := r.hostConfig(80, 24, r.cfg.fixedUser())
	if err != nil {
		return err
	}
	created, err := r.create(ctx, cfg, host, "")
	if err != nil {
		return fmt.Errorf("probe %s: create: %w", r.cfg.Isolation, err)
	}
	defer func() {
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
		defer cancel()
		if rmErr := r.remove(rmCtx, created.ID); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	waitCh, errCh := r.api.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
	if err := r.api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("probe %s: start: %w", r.cfg.Isolation, err)
	}
	select {
	case st := <-waitCh:
		switch st.StatusCode {
		case 0:
			return nil
		case probeNotEnforced:
			return fmt.Errorf("probe %s: the seccomp profile is not enforced (a denied call, unshare, went through): register runsc with --oci-seccomp (scripts/gvisor-up.sh)", r.cfg.Isolation)
		case probeNoTool:
			return fmt.Errorf("probe %s: the image has no unshare program to check the seccomp profile with", r.cfg.Isolation)
		}
		return fmt.Errorf("probe %s: exit status %d", r.cfg.Isolation, st.StatusCode)
	case err := <-errCh:
		return fmt.Errorf("probe %s: wait: %w", r.cfg.Isolation, err)
	case <-ctx.Done():
		return fmt.Errorf("probe %s: %w", r.cfg.Isolation, ctx.Err())
	}
}
