package session

import (
	"strings"
	"testing"
)

func TestHistoryKeepsOutputSinceTheLastClear(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"no clear", []string{"iex(1)> ", "1+1\r\n2\r\n"}, "iex(1)> 1+1\r\n2\r\n"},
		{"erase display", []string{"old\r\n", "\x1b[H\x1b[2Jnew"}, "\x1b[2Jnew"},
		{"erase scrollback", []string{"old", "\x1b[3Jnew"}, "\x1b[3Jnew"},
		{"full reset", []string{"old", "\x1bcnew"}, "\x1bcnew"},
		{"the last of several", []string{"a\x1b[2Jb\x1bcc"}, "\x1bcc"},
		{"split across writes", []string{"old\x1b[", "2Jnew"}, "\x1b[2Jnew"},
		{"split after the escape", []string{"old\x1b", "cnew"}, "\x1bcnew"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h history
			for _, w := range tt.writes {
				h.write([]byte(w))
			}
			if got := string(h.bytes()); got != tt.want {
				t.Errorf("history = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHistoryIsBounded(t *testing.T) {
	var h history
	line := strings.Repeat("x", 99) + "\n"
	for range 10 * HistoryMax / len(line) {
		h.write([]byte(line))
	}
	got := h.bytes()
	if len(got) > HistoryMax || len(got) < HistoryMax-len(line) {
		t.Fatalf("history holds %d bytes, want at most %d and nearly that", len(got), HistoryMax)
	}
	if !strings.HasPrefix(string(got), line) {
		t.Errorf("history starts mid-line: %q", got[:20])
	}
	if cap(h.buf) > 2*HistoryMax {
		t.Errorf("history's buffer grew to %d bytes", cap(h.buf))
	}
}
