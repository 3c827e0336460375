package flagenv

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	newSet := func() (*flag.FlagSet, *int, *string) {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return fs, fs.Int("max-sessions", 1, ""), fs.String("log-level", "info", "")
	}
	env := map[string]string{"APP_MAX_SESSIONS": "7", "APP_LOG_LEVEL": "debug"}
	fs, n, level := newSet()
	if err := Parse(fs, []string{"-log-level", "warn"}, "APP", func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if *n != 7 || *level != "warn" {
		t.Errorf("max-sessions %d, log-level %q: want 7 from the variable and warn from the flag, which wins", *n, *level)
	}

	fs, _, _ = newSet()
	err := Parse(fs, nil, "APP", func(k string) string { return map[string]string{"APP_MAX_SESSIONS": "many"}[k] })
	if err == nil || !strings.Contains(err.Error(), "APP_MAX_SESSIONS") {
		t.Errorf("bad variable: %v, want an error naming it", err)
	}
	fs, _, _ = newSet()
	if err := Parse(fs, []string{"extra"}, "APP", func(string) string { return "" }); err == nil {
		t.Error("a positional argument was accepted")
	}
	fs, _, _ = newSet()
	if err := Parse(fs, []string{"-h"}, "APP", func(string) string { return "" }); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
	if got := Name("IEXBOX", "idle-timeout"); got != "IEXBOX_IDLE_TIMEOUT" {
		t.Errorf("Name = %q", got)
	}
}
