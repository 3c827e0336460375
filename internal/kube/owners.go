package kube

import (
	"maps"
	"slices"
	"sync"
)

// owners records which of this instance's Pods someone will delete: a live
// Sandbox, or a Start in progress (recorded before the create, so a Pod
// never exists unowned while its start runs). A Pod no one owns is a
// leftover, which the keeper deletes. It is safe for concurrent use.
type owners struct {
	mu      sync.Mutex
	live    map[string]bool   // session labels of owned Pods
	release map[string]func() // frees the uid of a Pod whose deletion failed
}

func (o *owners) own(session string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.live == nil {
		o.live = map[string]bool{}
	}
	o.live[session] = true
}

// disown gives the Pod up: it is gone, or the keeper deletes it, calling
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
	}
}

func (o *owners) owned(session string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.live[session]
}

// unreleased lists the sessions whose uids wait for the keeper.
func (o *owners) unreleased() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Collect(maps.Keys(o.release))
}

// gone is told that the Pod of session is deleted.
func (o *owners) gone(session string) {
	o.mu.Lock()
	release := o.release[session]
	delete(o.release, session)
	o.mu.Unlock()
	if release != nil {
		release()
	}
}
