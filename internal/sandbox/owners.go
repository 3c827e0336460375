package sandbox

import (
	"maps"
	"slices"
	"sync"
)

// Owners records, by session id, which of an instance's sandboxes someone
// will remove: a live Sandbox, or a start in progress (recorded before the
// engine is asked, so a sandbox never exists unowned while its start
// runs). A sandbox no one owns is a leftover: its removal failed (the
// engine was away when its session ended), or a create cut off by an
// engine crash made it anyway. A backend's reaper removes those. It is
// safe for concurrent use.
type Owners struct {
	mu sync.Mutex
	// live holds the session ids of owned sandboxes.
	live map[string]bool
	// release frees the uids of a sandbox whose removal failed, once the
	// reaper has removed it: until then it may still run under them.
	release map[string]func()
	// left is signalled when a sandbox is left for the reaper.
	left chan struct{}
}

// NewOwners returns an empty record.
func NewOwners() *Owners {
	return &Owners{live: map[string]bool{}, release: map[string]func(){}, left: make(chan struct{}, 1)}
}

// Own records that someone will remove the sandbox of session.
func (o *Owners) Own(session string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.live[session] = true
}

// Disown gives the sandbox up: it is gone, or the reaper removes it,
// calling release (when not nil) once it has.
func (o *Owners) Disown(session string, release func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.live, session)
	if release != nil {
		o.release[session] = release
		select {
		case o.left <- struct{}{}:
		default: // one signal pending is enough
		}
	}
}

// Owned reports whether someone will remove the sandbox of session.
func (o *Owners) Owned(session string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.live[session]
}

// Unreleased lists the sessions whose sandboxes' uids wait for the reaper.
func (o *Owners) Unreleased() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Collect(maps.Keys(o.release))
}

// Gone is told that the sandbox of session is removed: its uids are freed.
func (o *Owners) Gone(session string) {
	o.mu.Lock()
	release := o.release[session]
	delete(o.release, session)
	o.mu.Unlock()
	if release != nil {
		release()
	}
}

// Left is signalled when a sandbox is left for the reaper: remove it now,
// and until a removal succeeds.
func (o *Owners) Left() <-chan struct{} { return o.left }
