package classroom

import (
	"errors"
	"strings"
	"testing"
)

// TestCodes: codes use the alphabet without look-alikes, and a code typed
// in any case, with or without its dash, is the same code.
func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := newCode()
		if len(c) != codeLen || strings.Trim(c, codeAlphabet) != "" {
			t.Fatalf("code %q: want %d of %q", c, codeLen, codeAlphabet)
		}
		seen[c] = true
	}
	if len(seen) < 999 {
		t.Fatalf("%d distinct codes of 1000", len(seen))
	}
	for typed, want := range map[string]string{
		"ABCD-EFGH": "ABCDEFGH", "abcd efgh": "ABCDEFGH", " abcdefgh ": "ABCDEFGH",
		"ABCD-EFG": "", "ABCD-EFGO": "", "ABCD-EFG1": "", "ABCD-EFGÉ": "", "ABCD-EFGH-J": "",
	} {
		got, ok := NormalizeCode(typed)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", typed, got, ok, want)
		}
	}
	if got := FormatCode("ABCDEFGH"); got != "ABCD-EFGH" {
		t.Errorf("FormatCode: %q", got)
	}
}

// TestNames: any script up to 40 user-perceived characters, trimmed;
// control and bidirectional characters refused.
func TestNames(t *testing.T) {
	family := "👩‍👩‍👧‍👦" // one character of seven code points
	for name, want := range map[string]string{
		"  Ana ":                      "Ana",
		"민준":                          "민준",
		strings.Repeat("가", 40):       strings.Repeat("가", 40),
		strings.Repeat(family, 40):    strings.Repeat(family, 40),
		strings.Repeat("e\u0301", 40): strings.Repeat("e\u0301", 40),
		"":                            "",
		"   ":                         "",
		strings.Repeat("가", 41):       "",
		"Bo\u202Eb":                   "",
		"Bo\u2066b":                   "",
		"Bo\u200Fb":                   "",
		"Bo\nb":                       "",
		"Bo\x00b":                     "",
		"Bo\xffb":                     "",
	} {
		got, err := CleanName(name)
		if want == "" {
			if !errors.Is(err, ErrBadName) {
				t.Errorf("CleanName(%q) = %q, %v; want ErrBadName", name, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("CleanName(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}
