package main

import (
	"context"
	"log/slog"
	"time"
)

// Reaping leftovers while serving. A session that ends while the Docker
// Engine is away cannot remove its container, and a dockerd restart
// without live-restore leaves every container of the instance exited but
// present. The reaper removes the containers no live sandbox owns: at once
// when the engine answers again, and otherwise now and then.
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

// reapLeftovers calls reap until ctx ends, logging the engine going away
// and coming back once each.
func reapLeftovers(ctx context.Context, reap func(context.Context) (int, error), log *slog.Logger) {
	wait, down := reapInterval, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
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
