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
//
// The kept output is buf[start:]. Forgetting only moves start; the buffer
// is compacted when an append would not fit in historyCap, so a flood moves
// the history once per HistoryMax/4 bytes instead of on every read, and a
// session holds at most a quarter more than HistoryMax.
//
// bytes hands out views of buf, not copies, so that a joining viewer costs
// the presenter no copy under the session's lock: bytes already written
// are never changed in place while a view may hold them (compaction moves
// them into a new buffer then).
type history struct {
	buf    []byte
	start  int
	viewed bool // a view of buf was handed out since it was last replaced
}

// write appends p, forgetting what came before a clear in it.
func (h *history) write(p []byte) {
	if len(h.buf)+len(p) > cap(h.buf) && h.start > 0 {
		h.compact(len(p))
	}
	from := max(len(h.buf)-(longestClear-1), h.start) // a clear may span two writes
	h.buf = append(h.buf, p...)
	if i := lastClear(h.buf[from:]); i >= 0 {
		h.start = from + i
	}
	if over := len(h.buf) - h.start - HistoryMax; over > 0 {
		// Cut at a line start where one is near, not inside an escape
		// sequence or a UTF-8 character.
		cut := h.start + over
		if nl := bytes.IndexByte(h.buf[cut:min(len(h.buf), cut+4<<10)], '\n'); nl >= 0 {
			cut += nl + 1
		}
		h.start = cut
	}
}

// historyCap is the size of a full history's buffer: the slack above
// HistoryMax is what appends fill between two compactions.
const historyCap = HistoryMax + HistoryMax/4

// compact moves the kept output to the front of a buffer of historyCap
// bytes, or more when n more bytes need it.
func (h *history) compact(n int) {
	kept := h.buf[h.start:]
	if need := len(kept) + n; need > cap(h.buf) || cap(h.buf) < historyCap || h.viewed {
		h.viewed = false
		buf := make([]byte, len(kept), max(historyCap, need))
		copy(buf, kept)
		h.buf = buf
	} else {
		h.buf = h.buf[:copy(h.buf, kept)]
	}
	h.start = 0
}

// bytes returns the kept output. The caller must not change it; it stays
// valid after later writes.
func (h *history) bytes() []byte {
	h.viewed = true
	return h.buf[h.start:len(h.buf):len(h.buf)]
}

// lastClear is the index of the last clear sequence in p, or -1. Every
// clear starts with ESC, so only the ESC bytes are looked at: output
// without escapes (a flood) costs one fast scan.
func lastClear(p []byte) int {
	last := -1
	for i := 0; ; i++ {
		j := bytes.IndexByte(p[i:], 0x1b)
		if j < 0 {
			return last
		}
		i += j
		for _, c := range clears {
			if bytes.HasPrefix(p[i:], c) {
				last = i
				break
			}
		}
	}
}
