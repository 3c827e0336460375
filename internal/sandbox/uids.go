package sandbox

import (
	"errors"
	"hash/fnv"
	"sync"
)

// Sandbox uids. Every live sandbox gets two uids of its own: one for its
// terminal program, one for programs run apart (exercise checks). A server
// instance takes its uids from one range of UIDRange; ranges follow each
// other from the policy's UIDBase, and each backend claims the range its
// instance holds on the engine or cluster it shares with other servers, so
// that no two servers hand out the same uid.
const (
	UIDRange = 1 << 12 // 2,048 live sandboxes per instance
	UIDSlots = 256     // ranges: instances sharing one engine or cluster, at most
)

// ErrNoUID means every uid of a range is held by a live sandbox.
var ErrNoUID = errors.New("no free sandbox uid")

// FirstSlot is the range an instance tries first: derived from its name, so
// a restarted instance tends to get its old range back.
func FirstSlot(instance string) int {
	h := fnv.New32a()
	h.Write([]byte(instance))
	return int(h.Sum32() % UIDSlots)
}

// SlotBase is the first uid of range n.
func (p Policy) SlotBase(n int) int { return p.UIDBase + n*UIDRange }

// UIDs hands every live sandbox a pair of uids of its own (an even one,
// and the odd one above it) from one range, so per-user kernel limits and
// uid-keyed state are never shared between two people's sessions. It is
// safe for concurrent use.
type UIDs struct {
	base int
	mu   sync.Mutex
	used map[int]bool
	next int
}

// NewUIDs hands out pairs from the range that starts at base.
func NewUIDs(base int) *UIDs { return &UIDs{base: base, used: map[int]bool{}} }

// Base is the range's first uid.
func (u *UIDs) Base() int { return u.base }

// Take returns the first uid of a pair no live sandbox holds.
func (u *UIDs) Take() (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for range UIDRange / 2 {
		uid := u.base + u.next
		u.next = (u.next + 2) % UIDRange // round robin: a freed pair rests before reuse
		if !u.used[uid] {
			u.used[uid] = true
			return uid, nil
		}
	}
	return 0, ErrNoUID
}

// Give returns a pair once its sandbox is gone.
func (u *UIDs) Give(uid int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.used, uid)
}

// Len is how many pairs are held.
func (u *UIDs) Len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.used)
}

// Held reports whether the pair starting at uid is held.
func (u *UIDs) Held(uid int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.used[uid]
}
