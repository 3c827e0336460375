package sandbox

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
)

// parseFlags parses args as the policy's flags, then the policy.
func parseFlags(args ...string) (PolicyFlags, error) {
	var f PolicyFlags
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	return f, f.Parse()
}

func TestPolicyFlagsDefaults(t *testing.T) {
	f, err := parseFlags()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Policy, Default()) {
		t.Errorf("policy from the default flags\n got %+v\nwant %+v", f.Policy, Default())
	}
}

func TestPolicyFlagsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"memory not a size", []string{"-memory", "lots"}, `-memory "lots"`},
		{"memory too small", []string{"-memory", "1k"}, `-memory "1k"`},
		{"memory empty", []string{"-memory", ""}, "-memory"},
		{"tmpfs size", []string{"-tmpfs-size", "x"}, "-tmpfs-size"},
		{"unknown runtime", []string{"-runtime", "kata"}, "want auto, runsc or runc"},
		{"zero cpus", []string{"-cpus", "0"}, "positive"},
		{"zero pids", []string{"-pids", "0"}, "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args...)
			if err == nil {
				t.Fatalf("accepted %v", tt.args)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}
