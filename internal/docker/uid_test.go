package docker

import (
	"strconv"
	"testing"

	"github.com/docker/docker/api/types/container"

	"iexbox/internal/sandbox"
)

// TestClaimUIDs: an instance claims a uid range no other instance on the
// engine holds, keeps its own claim across a restart, and hands out pairs
// from it.
func TestClaimUIDs(t *testing.T) {
	first := sandbox.FirstSlot("blue")
	name := func(n int) string { return "iexbox-uids-" + strconv.Itoa((first+n)%sandbox.UIDSlots) }
	held := func(instance string) container.InspectResponse {
		return container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{ID: "held-by-" + instance},
			Config:            &container.Config{Labels: map[string]string{LabelUIDs: instance}},
		}
	}

	f := newFakeAPI()
	f.taken = map[string]container.InspectResponse{name(0): held("green"), name(1): held("red")}
	rt := newTestRuntime(t, f, Config{Instance: "blue", Policy: sandbox.Policy{UIDBase: 100000}})
	slot, err := rt.claimUIDs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := 100000 + (first+2)%sandbox.UIDSlots*sandbox.UIDRange; slot.base != want {
		t.Errorf("range from %d, want %d: the first free one after two held by other instances", slot.base, want)
	}
	if f.createName != name(2) || f.createCfg.Labels[LabelUIDs] != "blue" {
		t.Errorf("claim %q labelled %v", f.createName, f.createCfg.Labels)
	}
	if _, ok := f.createCfg.Labels[LabelInstance]; ok {
		t.Error("the claim carries iexbox.instance: the sweep would remove it")
	}

	// After a crash the instance finds its own claim.
	f.taken[name(0)] = held("blue")
	slot, err = rt.claimUIDs(t.Context())
	if err != nil || slot.base != 100000+first*sandbox.UIDRange || slot.container != "held-by-blue" {
		t.Errorf("restart: range %+v, %v; want its own claim back", slot, err)
	}

	u := sandbox.NewUIDs(slot.base)
	a, _ := u.Take()
	b, _ := u.Take()
	if a != slot.base || b != slot.base+2 {
		t.Errorf("uids %d, %d: want pairs from the range's start", a, b)
	}
	if user, _ := apartUser(userSpec(a)); user != userSpec(a+1) {
		t.Errorf("apart user %q, want the pair's second uid", user)
	}
}
