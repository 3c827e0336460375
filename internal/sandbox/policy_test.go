package sandbox

import (
	"strings"
	"testing"
)

func TestWithDefaultsFillsOnlyZeroFields(t *testing.T) {
	p := Policy{Memory: 512 << 20, Isolation: "runc"}.WithDefaults()
	d := Default()
	if p.Memory != 512<<20 || p.Isolation != "runc" {
		t.Errorf("set fields changed: memory %d, isolation %q", p.Memory, p.Isolation)
	}
	if p.Pids != d.Pids || p.CPUs != d.CPUs || p.Image != d.Image || p.ErlangFlags != d.ErlangFlags || len(p.Cmd) == 0 {
		t.Errorf("zero fields not filled: %+v", p)
	}
	if p.UIDBase != 0 {
		t.Errorf("UIDBase %d: 0 is a choice (run as User), not a gap", p.UIDBase)
	}
}

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("the default policy: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Policy)
		want string
	}{
		{"unknown runtime", func(p *Policy) { p.Isolation = "kata" }, "-runtime"},
		{"tiny memory", func(p *Policy) { p.Memory = 1 << 20 }, "-memory"},
		{"no cpu", func(p *Policy) { p.CPUs = 0 }, "positive"},
		{"no pids", func(p *Policy) { p.Pids = 0 }, "positive"},
		{"no tmpfs", func(p *Policy) { p.TmpfsSize = 0 }, "-tmpfs-size"},
		{"root by uid", func(p *Policy) { p.UIDBase, p.User = 0, "0:0" }, "root"},
		{"root by name", func(p *Policy) { p.UIDBase, p.User = 0, "root" }, "root"},
		{"negative base", func(p *Policy) { p.UIDBase = -1 }, "root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Default()
			tc.edit(&p)
			if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	if n, err := ParseSize("memory", "256m", 32<<20); err != nil || n != 256<<20 {
		t.Errorf("256m = %d, %v", n, err)
	}
	for _, bad := range []string{"", "lots", "1k", "-5m"} {
		if _, err := ParseSize("memory", bad, 32<<20); err == nil || !strings.Contains(err.Error(), "-memory") {
			t.Errorf("%q: %v, want an error naming -memory", bad, err)
		}
	}
}
