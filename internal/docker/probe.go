package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/container"
)

// Probe starts one throw-away container with the full hardening under the
// configured OCI runtime and waits for it to exit cleanly. It tells whether
// the runtime (gVisor's runsc in particular) really works on this host, not
// just whether it is registered.
func (r *Runtime) Probe(ctx context.Context) (err error) {
	cfg := r.cfg.containerConfig("probe")
	cfg.Cmd = []string{"true"}
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
		if st.StatusCode != 0 {
			return fmt.Errorf("probe %s: exit status %d", r.cfg.Isolation, st.StatusCode)
		}
		return nil
	case err := <-errCh:
		return fmt.Errorf("probe %s: wait: %w", r.cfg.Isolation, err)
	case <-ctx.Done():
		return fmt.Errorf("probe %s: %w", r.cfg.Isolation, ctx.Err())
	}
}
