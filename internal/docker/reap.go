package docker

import (
	"context"

	"github.com/docker/docker/api/types/container"
)

// Leftovers is signalled when a sandbox could not remove its container (the
// engine was away): Reap removes it once the engine answers again, so call
// it now and until it succeeds.
func (r *Runtime) Leftovers() <-chan struct{} { return r.owners.Left() }

// Reap force-removes the containers of this instance that no live Sandbox
// owns and reports how many it removed. Unlike Sweep it is safe while the
// server runs: call it when the engine answers again after an outage, and
// now and then, so no leftover outlives the engine's return for long.
func (r *Runtime) Reap(ctx context.Context) (int, error) {
	waiting := r.owners.Unreleased() // before the list, so none is missed
	return r.sweep(ctx, func(list []container.Summary) []container.Summary {
		listed := map[string]bool{}
		var leftovers []container.Summary
		for _, c := range list {
			session := c.Labels[LabelSession]
			listed[session] = true
			if !r.owners.Owned(session) {
				leftovers = append(leftovers, c)
			}
		}
		for _, session := range waiting { // gone some other way
			if !listed[session] {
				r.owners.Gone(session)
			}
		}
		return leftovers
	}, r.owners.Gone)
}
