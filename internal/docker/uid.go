package docker

import (
	"errors"
	"strconv"
	"sync"
)

// uidRange is how many uids a Runtime hands out from its base.
const uidRange = 1 << 16

// errNoUID means every uid of the range is held by a live sandbox.
var errNoUID = errors.New("no free sandbox uid")

// uids hands every live sandbox its own uid, so per-user kernel limits and
// uid-keyed state are never shared between two people's sessions. It is safe
// for concurrent use.
type uids struct {
	base int
	mu   sync.Mutex
	used map[int]bool
	next int
}

// take returns a uid no live sandbox holds.
func (u *uids) take() (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used == nil {
		u.used = map[int]bool{}
	}
	for range uidRange {
		uid := u.base + u.next
		u.next = (u.next + 1) % uidRange // round robin: a freed uid rests before reuse
		if !u.used[uid] {
			u.used[uid] = true
			return uid, nil
		}
	}
	return 0, errNoUID
}

// give returns a uid once its sandbox is removed.
func (u *uids) give(uid int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.used, uid)
}

func userSpec(uid int) string {
	s := strconv.Itoa(uid)
	return s + ":" + s
}
