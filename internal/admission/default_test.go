package admission

import "testing"

func TestDefaultMaxSessions(t *testing.T) {
	small, large := DefaultMaxSessions(48<<20), DefaultMaxSessions(64<<20)
	if large < 1 || large >= small {
		t.Errorf("default caps %d for 48 MiB sandboxes, %d for 64 MiB: want at least 1, and fewer when sandboxes cost more", small, large)
	}
	if n := DefaultMaxSessions(0); n != 50 {
		t.Errorf("cap %d for an unknown footprint, want 50", n)
	}
}
