package classroom

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// codeAlphabet has no look-alikes: no 0/O, 1/I/L. 31 characters: a code
// of 8 is 39.6 bits, and failed joins are rate-limited per address.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// codeLen is a code's length without its dash.
const codeLen = 8

// newCode returns a fresh random class code, as stored (no dash).
func newCode() string {
	// Bytes from 248 up are drawn again: 248 is 8 × 31, so every
	// character is equally likely.
	const fair = 256 / len(codeAlphabet) * len(codeAlphabet)
	out := make([]byte, 0, codeLen)
	b := make([]byte, 1)
	for len(out) < codeLen {
		rand.Read(b)
		if int(b[0]) < fair {
			out = append(out, codeAlphabet[int(b[0])%len(codeAlphabet)])
		}
	}
	return string(out)
}

// NormalizeCode turns what a person typed (any case, with or without the
// dash or spaces) into a code as stored; ok is false when it cannot be
// one.
func NormalizeCode(typed string) (code string, ok bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r < 128 && strings.IndexByte(codeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != codeLen {
		return "", false
	}
	return b.String(), true
}

// FormatCode is a stored code as shown: ABCD-EFGH.
func FormatCode(code string) string {
	if len(code) != codeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// newSecret returns a 128-bit secret, hex-encoded.
func newSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
