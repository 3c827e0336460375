package session

import "bytes"

// HistoryMax bounds the output a session keeps for late viewers and for
// redrawing a resumed terminal.
const HistoryMax = 256 << 10

// clears are the sequences after which earlier output cannot show on the
// screen: erase display (ED 2), erase scrollback (ED 3), full reset (RIS).
var clears = [][]byte{[]byte("\x1b[2J"), []byte("\x1b[3J"), []byte("\x1bc")}

// longestClear is the length of the longest sequence in clears.
const longestClear = 4

// history is a session's recent output: everything since the last
// full-screen clear, at most HistoryMax bytes. The server never emulates a
// terminal (that would parse attacker output); replaying these bytes into a
// fresh terminal redraws the screen well enough. It is not safe for
// concurrent use.
type history struct {
	buf []byte
}

// write appends p, forgetting what came before a clear in it.
func (h *history) write(p []byte) {
	from := max(len(h.buf)-(longestClear-1), 0) // a clear may span two writes
	h.buf = append(h.buf, p...)
	if i := lastClear(h.buf[from:]); i >= 0 {
		h.drop(from + i)
	}
	if over := len(h.buf) - HistoryMax; over > 0 {
		// Cut at a line start where one is near, not inside an escape
		// sequence or a UTF-8 character.
		cut := over
		if nl := bytes.IndexByte(h.buf[over:min(len(h.buf), over+4<<10)], '\n'); nl >= 0 {
			cut = over + nl + 1
		}
		h.drop(cut)
	}
}

// drop forgets the first n bytes, keeping the backing array bounded.
func (h *history) drop(n int) {
	h.buf = h.buf[:copy(h.buf, h.buf[n:])]
}

// bytes returns a copy of the kept output.
func (h *history) bytes() []byte { return bytes.Clone(h.buf) }

// lastClear is the index of the last clear sequence in p, or -1.
func lastClear(p []byte) int {
	last := -1
	for _, c := range clears {
		if i := bytes.LastIndex(p, c); i > last {
			last = i
		}
	}
	return last
}
