package docker

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
)

// Sandbox uids. Every live sandbox gets two uids of its own: one for its
// terminal program, one for the programs Exec runs apart. An instance
// takes its uids from one range of uidRange; ranges follow each other from
// the policy's UIDBase, and the range an instance holds is claimed on the
// engine, so two servers sharing an engine never hand out the same uid.
const (
	uidRange = 1 << 12 // 2,048 live sandboxes per instance
	uidSlots = 256     // ranges; instances sharing one engine, at most
)

// LabelUIDs marks the container that holds an instance's uid range; its
// value is the instance. It is not an iexbox.instance container: it never
// runs, and the sweep and the reaper leave it alone.
const LabelUIDs = "iexbox.uids"

// errNoUID means every uid of the range is held by a live sandbox.
var errNoUID = errors.New("no free sandbox uid")

// uidSlot is the range an instance holds, and the container holding it.
type uidSlot struct {
	base      int
	container string
}

// claimUIDs claims a uid range for this instance on the engine. A range is
// held by a container created (never started) under the name
// iexbox-uids-<n>: the engine's names are unique, so the claim is atomic
// however many servers start at once. A server restarted after a crash
// finds its own claim and keeps it. The search starts from a range derived
// from the instance name, so a restarted instance tends to get its old
// range back.
func (r *Runtime) claimUIDs(ctx context.Context) (*uidSlot, error) {
	h := fnv.New32a()
	h.Write([]byte(r.cfg.Instance))
	first := int(h.Sum32() % uidSlots)
	for i := range uidSlots {
		n := (first + i) % uidSlots
		slot := &uidSlot{base: r.cfg.UIDBase + n*uidRange}
		name := "iexbox-uids-" + strconv.Itoa(n)
		created, err := r.create(ctx, &container.Config{
			Image:  r.cfg.Image,
			Cmd:    []string{"true"},
			Labels: map[string]string{LabelUIDs: r.cfg.Instance},
		}, &container.HostConfig{
			NetworkMode: "none",
			LogConfig:   container.LogConfig{Type: "none"},
		}, name)
		if err == nil {
			slot.container = created.ID
			return slot, nil
		}
		if !errdefs.IsConflict(err) {
			return nil, fmt.Errorf("claim sandbox uids: %w", err)
		}
		info, err := r.api.ContainerInspect(ctx, name)
		if err == nil && info.Config != nil && info.Config.Labels[LabelUIDs] == r.cfg.Instance {
			slot.container = info.ID // ours, left by a crash
			return slot, nil
		}
	}
	return nil, errors.New("claim sandbox uids: every range is held by another instance on this engine")
}

// uids hands every live sandbox a pair of uids of its own (even, and the
// odd one above it), so per-user kernel limits and uid-keyed state are
// never shared between two people's sessions. It is safe for concurrent
// use.
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

// give returns a pair once its sandbox is removed.
func (u *uids) give(uid int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.used, uid)
}

func userSpec(uid int) string {
	s := strconv.Itoa(uid)
	return s + ":" + s
}

// apartUser is the user of programs a sandbox running as user runs apart:
// the uid above its own, with a group of the same number.
func apartUser(user string) (string, error) {
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.Atoi(uid)
	if err != nil {
		return "", fmt.Errorf("sandbox user %q has no numeric uid", user)
	}
	return userSpec(n + 1), nil
}
