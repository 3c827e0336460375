package admission

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestFlagsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"negative idle", []string{"-idle-timeout", "-1s"}, "negative"},
		{"negative sessions", []string{"-max-sessions", "-1"}, "-max-sessions"},
		{"duration not a duration", []string{"-idle-timeout", "5"}, "idle-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Flags
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f.RegisterFlags(fs)
			err := fs.Parse(tt.args)
			if err == nil {
				err = f.Validate()
			}
			if err == nil {
				t.Fatalf("accepted %v", tt.args)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}
