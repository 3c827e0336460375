package flagenv

import "strings"

// List reads a comma-separated flag value, dropping blanks and empty
// items.
func List(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
