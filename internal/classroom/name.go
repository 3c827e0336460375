package classroom

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/rivo/uniseg"
)

// MaxName bounds a learner's name in user-perceived characters (grapheme
// clusters: a Hangul syllable, an emoji with its modifiers, a letter with
// its accents each count once).
const MaxName = 40

// ErrBadName is a name the class refuses; the error says why.
var ErrBadName = errors.New("bad name")

// CleanName trims a learner's name and checks it: 1 to MaxName
// characters of any script, no control characters and none of Unicode's
// bidirectional overrides or isolates, which could make a name on the
// teacher's page read as another.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("%w: a name is needed", ErrBadName)
	}
	for _, r := range name {
		switch {
		case r == '\uFFFD':
			return "", fmt.Errorf("%w: it is not valid UTF-8", ErrBadName)
		case unicode.IsControl(r):
			return "", fmt.Errorf("%w: it holds a control character", ErrBadName)
		case bidiControl(r):
			return "", fmt.Errorf("%w: it holds a bidirectional control character (U+%04X)", ErrBadName, r)
		}
	}
	if n := uniseg.GraphemeClusterCount(name); n > MaxName {
		return "", fmt.Errorf("%w: %d characters, at most %d", ErrBadName, n, MaxName)
	}
	return name, nil
}

// bidiControl reports the embeddings, overrides, isolates and marks that
// reorder text around them.
func bidiControl(r rune) bool {
	switch {
	case r >= '\u202A' && r <= '\u202E': // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= '\u2066' && r <= '\u2069': // LRI, RLI, FSI, PDI
		return true
	case r == '\u200E' || r == '\u200F' || r == '\u061C': // LRM, RLM, ALM
		return true
	}
	return false
}
