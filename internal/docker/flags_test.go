package docker

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestFlagsCheckNetwork(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"none", nil, true},
		{"a bridge network", []string{"-network", "bridge"}, true},
		{"host network when asked for", []string{"-network", "host", "-unsafe-network"}, true},
		{"host network", []string{"-network", "host"}, false},
		{"another container's network", []string{"-network", "container:db"}, false},
		{"-unsafe-network=false", []string{"-network", "container:db", "-unsafe-network=false"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Flags
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := f.CheckNetwork()
			if (err == nil) != tt.ok {
				t.Fatalf("%v: %v, want ok: %v", tt.args, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "-unsafe-network") {
				t.Errorf("error %q, want it to mention -unsafe-network", err)
			}
		})
	}
}
