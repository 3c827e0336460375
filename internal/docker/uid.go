package docker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"

	"iexbox/internal/sandbox"
)

// LabelUIDs marks the container that holds an instance's uid range; its
// value is the instance. It is not an iexbox.instance container: it never
// runs, and the sweep and the reaper leave it alone.
const LabelUIDs = "iexbox.uids"

// uidSlot is the range an instance holds, and the container holding it.
type uidSlot struct {
	base      int
	container string
}

// claimUIDs claims a uid range (see sandbox.UIDs) for this instance on the
// engine. A range is
// held by a container created (never started) under the name
// iexbox-uids-<n>: the engine's names are unique, so the claim is atomic
// however many servers start at once. A server restarted after a crash
// finds its own claim and keeps it. The search starts from a range derived
// from the instance name, so a restarted instance tends to get its old
// range back.
func (r *Runtime) claimUIDs(ctx context.Context) (*uidSlot, error) {
	first := sandbox.FirstSlot(r.cfg.Instance)
	for i := range sandbox.UIDSlots {
		n := (first + i) % sandbox.UIDSlots
		slot := &uidSlot{base: r.cfg.SlotBase(n)}
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
