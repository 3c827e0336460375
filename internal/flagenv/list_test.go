package flagenv

import (
	"strings"
	"testing"
)

func TestList(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "[]",
		"127.0.0.1":           "[127.0.0.1]",
		" 1.1.1.1 , ,8.8.8.8": "[1.1.1.1 8.8.8.8]",
	} {
		if got := List(in); strings.Join(got, " ") != strings.Trim(want, "[]") {
			t.Errorf("List(%q) = %q, want %s", in, got, want)
		}
	}
}
