package session

import (
	"bytes"
	"math/rand/v2"
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
	if cap(h.buf) > historyCap+outputChunk {
		t.Errorf("history's buffer grew to %d bytes", cap(h.buf))
	}
}

// naiveHistory is the plain model of history: keep everything, then cut
// at the last clear and to the bound exactly as history does.
type naiveHistory struct{ buf []byte }

func (h *naiveHistory) write(p []byte) {
	from := max(len(h.buf)-(longestClear-1), 0)
	h.buf = append(h.buf, p...)
	last := -1
	for _, c := range clears {
		if i := bytes.LastIndex(h.buf[from:], c); i >= 0 {
			last = max(last, from+i)
		}
	}
	if last >= 0 {
		h.buf = h.buf[last:]
	}
	if over := len(h.buf) - HistoryMax; over > 0 {
		cut := over
		if nl := bytes.IndexByte(h.buf[over:min(len(h.buf), over+4<<10)], '\n'); nl >= 0 {
			cut = over + nl + 1
		}
		h.buf = h.buf[cut:]
	}
}

func TestHistoryMatchesTheModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"x", "hello\r\n", "\x1b[", "2J", "\x1b[3J", "\x1bc", "\x1b", "c", "\x1b[31mred\x1b[0m", "\n"}
	var h history
	var model naiveHistory
	for i := range 20000 {
		var p []byte
		for range rng.IntN(40) {
			p = append(p, pieces[rng.IntN(len(pieces))]...)
		}
		if rng.IntN(50) == 0 { // now and then a flood-sized write
			p = append(p, bytes.Repeat([]byte("y"), rng.IntN(outputChunk))...)
		}
		h.write(p)
		model.write(p)
		if got := h.bytes(); !bytes.Equal(got, model.buf) {
			t.Fatalf("after write %d: history has %d bytes, the model %d", i, len(got), len(model.buf))
		}
	}
	if cap(h.buf) > historyCap+outputChunk {
		t.Errorf("history's buffer grew to %d bytes", cap(h.buf))
	}
}

// BenchmarkHistoryFlood is the history's share of a flood: 4 KiB reads
// of plain text, as a pty delivers them.
func BenchmarkHistoryFlood(b *testing.B) {
	p := bytes.Repeat([]byte("x"), 4<<10)
	var h history
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		h.write(p)
	}
}

// A view handed out stays as it was while the history goes on, through
// compactions: viewers replay it outside the session's lock.
func TestHistoryViewStays(t *testing.T) {
	var h history
	h.write(bytes.Repeat([]byte("a"), HistoryMax))
	view := h.bytes()
	want := bytes.Clone(view)
	for range 8 { // several compactions' worth
		h.write(bytes.Repeat([]byte("b"), HistoryMax/4))
	}
	if !bytes.Equal(view, want) {
		t.Fatal("a view of the history changed under later writes")
	}
	if got := h.bytes(); !bytes.HasSuffix(got, []byte("bbbb")) || len(got) > HistoryMax {
		t.Fatalf("history after the writes: %d bytes ending %q", len(got), got[max(0, len(got)-4):])
	}
}
