package docker

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/docker/docker/api/types/container"
)

// owners records which of this instance's containers someone will remove:
// a live Sandbox, or a Start in progress (recorded before the create, so a
// container never exists unowned while its start runs). A container no one
// owns is a leftover: its removal failed (the engine was down when its
// session ended), or a create cut off by an engine crash made it anyway.
// Reap removes those. It is safe for concurrent use.
type owners struct {
	mu sync.Mutex
	// live holds the session labels of owned containers.
	live map[string]bool
	// release frees the uid of a container whose removal failed, once Reap
	// has removed it: until then it may still run under that uid.
	release map[string]func()
	// left is signalled when a container is left for Reap.
	left chan struct{}
}

func (o *owners) own(session string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.live == nil {
		o.live = map[string]bool{}
	}
	o.live[session] = true
}

// disown gives the container up: it is gone, or Reap removes it, calling
// release (when not nil) once it has.
func (o *owners) disown(session string, release func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.live, session)
	if release != nil {
		if o.release == nil {
			o.release = map[string]func(){}
		}
		o.release[session] = release
		select {
		case o.left <- struct{}{}:
		default: // one signal pending is enough
		}
	}
}

func (o *owners) owned(session string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.live[session]
}

// unreleased lists the containers whose uids wait for Reap.
func (o *owners) unreleased() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Collect(maps.Keys(o.release))
}

// reaped is told that the container of session is gone.
func (o *owners) reaped(session string) {
	o.mu.Lock()
	release := o.release[session]
	delete(o.release, session)
	o.mu.Unlock()
	if release != nil {
		release()
	}
}

// Leftovers is signalled when a sandbox could not remove its container (the
// engine was away): Reap removes it once the engine answers again, so call
// it now and until it succeeds.
func (r *Runtime) Leftovers() <-chan struct{} { return r.owners.left }

// Reap force-removes the containers of this instance that no live Sandbox
// owns and reports how many it removed. Unlike Sweep it is safe while the
// server runs: call it when the engine answers again after an outage, and
// now and then, so no leftover outlives the engine's return for long.
func (r *Runtime) Reap(ctx context.Context) (int, error) {
	waiting := r.owners.unreleased() // before the list, so none is missed
	return r.sweep(ctx, func(list []container.Summary) []container.Summary {
		listed := map[string]bool{}
		var leftovers []container.Summary
		for _, c := range list {
			session := c.Labels[LabelSession]
			listed[session] = true
			if !r.owners.owned(session) {
				leftovers = append(leftovers, c)
			}
		}
		for _, session := range waiting { // gone some other way
			if !listed[session] {
				r.owners.reaped(session)
			}
		}
		return leftovers
	}, r.owners.reaped)
}
