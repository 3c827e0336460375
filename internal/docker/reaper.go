package docker

import (
	"context"
	"log/slog"
	"time"
)

// Reaping leftovers while serving. A session that ends while the Docker
// Engine is away cannot remove its container, and a dockerd restart
// without live-restore leaves every container of the instance exited but
// present. The reaper removes the containers no live sandbox owns: as soon
// as the engine answers again after a removal failed, and otherwise now
// and then.
const (
	// reapInterval is the pause between checks while the engine answers:
	// one container list, cheap against the cost of a leftover.
	reapInterval = 30 * time.Second
	// reapRetry is the pause while it does not, so leftovers go within
	// about a second of its return.
	reapRetry = time.Second
	// reapTimeout bounds one check.
	reapTimeout = 30 * time.Second
)

// reapLeftovers calls reap until ctx ends: every reapInterval, at once when
// leftovers signals a container left behind, and then every reapRetry until
// a reap succeeds. It logs the engine failing and answering again once each.
func reapLeftovers(ctx context.Context, reap func(context.Context) (int, error), leftovers <-chan struct{}, log *slog.Logger) {
	wait, down := reapInterval, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-leftovers:
		}
		callCtx, cancel := context.WithTimeout(ctx, reapTimeout)
		n, err := reap(callCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if n > 0 {
			log.Info("removed leftover containers", "count", n)
		}
		switch {
		case err != nil && !down:
			log.Warn("docker engine failing: leftover containers are removed once it answers", "err", err)
			wait, down = reapRetry, true
		case err == nil && down:
			log.Info("docker engine answers again")
			wait, down = reapInterval, false
		}
	}
}
