package kube

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Sandbox uids. Every live sandbox gets two uids of its own: one for its
// terminal program, one left for programs run apart (see Exec). An
// instance takes its uids from one range of uidRange; ranges follow each
// other from the policy's UIDBase, and the range an instance holds is
// claimed with its Lease (lease.go), so two servers sharing a cluster
// never hand out the same uid.
const (
	uidRange = 1 << 12 // 2,048 live sandboxes per instance
	uidSlots = 256     // ranges; instances sharing one cluster, at most
)

// errNoUID means every uid of the range is held by a live sandbox.
var errNoUID = errors.New("no free sandbox uid")

// uids hands every live sandbox a pair of uids of its own (even, and the
// odd one above it). It is safe for concurrent use.
type uids struct {
	base int
	mu   sync.Mutex
	used map[int]bool
	next int
}

// take returns the first uid of a pair no live sandbox holds.
func (u *uids) take() (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used == nil {
		u.used = map[int]bool{}
	}
	for range uidRange / 2 {
		uid := u.base + u.next
		u.next = (u.next + 2) % uidRange // round robin: a freed pair rests before reuse
		if !u.used[uid] {
			u.used[uid] = true
			return uid, nil
		}
	}
	return 0, errNoUID
}

// give returns a pair once its sandbox's Pod is deleted.
func (u *uids) give(uid int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.used, uid)
}

// fixedUID is the numeric uid of a uid:gid user (Kubernetes takes numbers only).
func fixedUID(user string) (int64, error) {
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-user %q: the kubernetes backend needs a numeric uid other than 0", user)
	}
	return n, nil
}
