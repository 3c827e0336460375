package docker

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"iexbox/internal/sandbox"
)

// allowed reports whether the profile lets name through unconditionally,
// and whether any rule names it at all.
func allowed(t *testing.T, profile, name string) (allow, named bool) {
	t.Helper()
	var p seccomp.Seccomp
	if err := json.Unmarshal([]byte(profile), &p); err != nil {
		t.Fatalf("decode profile: %v", err)
	}
	for _, sc := range p.Syscalls {
		if !slices.Contains(sc.Names, name) {
			continue
		}
		named = true
		if sc.Action == specs.ActAllow && len(sc.Args) == 0 && sc.Includes == nil {
			allow = true
		}
	}
	return allow, named
}

func TestSeccompProfiles(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		gvisor, dockerDefault bool
		denied, clone3        bool // deniedSyscalls refused; clone3 allowed outright
	}{
		{"own, runc", false, false, true, false},
		{"own, gVisor", true, false, true, true},
		// Docker's default under gVisor must still let the BEAM make threads.
		{"Docker's default, gVisor", true, true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			profile, err := seccompProfile(tc.gvisor, tc.dockerDefault)
			if err != nil {
				t.Fatal(err)
			}
			if tc.denied {
				for _, name := range deniedSyscalls {
					if _, named := allowed(t, profile, name); named {
						t.Errorf("%s is named by a rule, want it left to the default action (refused)", name)
					}
				}
			} else if _, named := allowed(t, profile, "ptrace"); !named {
				// Docker's default keeps ptrace (kernel 4.8 and later).
				t.Error("ptrace is named by no rule: not Docker's default")
			}
			if allow, _ := allowed(t, profile, "clone3"); allow != tc.clone3 {
				t.Errorf("clone3 allowed outright: %v, want %v", allow, tc.clone3)
			}
		})
	}
}

// TestSeccompOption: the daemon's default is used only under runc; under
// gVisor the server always sends a profile.
func TestSeccompOption(t *testing.T) {
	for _, tc := range []struct {
		runtime       string
		dockerSeccomp bool
		want          bool // a seccomp= option is sent
	}{
		{"runc", false, true},
		{"runc", true, false},
		{"runsc", false, true},
		{"runsc", true, true},
	} {
		r := &Runtime{cfg: Config{Policy: sandbox.Policy{Isolation: tc.runtime, EngineSeccomp: tc.dockerSeccomp}}.withDefaults()}
		host, err := r.hostConfig(80, 24, "100000:100000")
		if err != nil {
			t.Fatal(err)
		}
		sent := slices.ContainsFunc(host.SecurityOpt, func(o string) bool { return strings.HasPrefix(o, "seccomp=") })
		if sent != tc.want {
			t.Errorf("runtime %s, Docker's default %v: seccomp option sent %v, want %v", tc.runtime, tc.dockerSeccomp, sent, tc.want)
		}
	}
}
