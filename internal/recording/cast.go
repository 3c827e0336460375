package recording

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// header is an asciicast v2 header line.
type header struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// headerLine is the cast's first line for a terminal of cols×rows whose
// recording began at start, without its newline.
func headerLine(cols, rows int, start time.Time) string {
	b, _ := json.Marshal(header{Version: 2, Width: cols, Height: rows, Timestamp: start.Unix(), Title: "iex",
		Env: map[string]string{"TERM": "xterm-256color", "SHELL": "iex"}})
	return string(b)
}

// appendEvent appends one event line, [t, code, data], to b. Times have
// microsecond precision, as asciinema writes them.
func appendEvent[T string | []byte](b []byte, t time.Duration, code string, data T) []byte {
	b = append(b, '[')
	b = strconv.AppendFloat(b, t.Seconds(), 'f', 6, 64)
	b = append(b, ',', '"')
	b = append(b, code...)
	b = append(b, '"', ',')
	b = appendJSONString(b, data)
	return append(b, ']', '\n')
}

const hexDigits = "0123456789abcdef"

// jsonPlain marks the ASCII bytes a JSON string holds as they are.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string: the recording's hot path,
// so written by hand rather than through encoding/json (a third of the
// server's CPU for a flood), and copying runs of bytes that need no
// escape at once rather than byte by byte. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	run := 0 // the start of bytes not yet appended, all plain
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(b, s[run:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // other controls and DEL
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			run = i
			continue
		}
		r, size := utf8.DecodeRune([]byte(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[run:i]...)
			b = append(b, "\\ufffd"...)
			i++
			run = i
			continue
		}
		i += size
	}
	b = append(b, s[run:]...)
	return append(b, '"')
}

// cutUTF8 splits p before a UTF-8 sequence that p ends in the middle of,
// so no event ends with half a character: whole is p without it, rest is
// the start of that character (at most 3 bytes), to go before the next
// read.
func cutUTF8(p []byte) (whole, rest []byte) {
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax+1; i-- {
		c := p[i]
		if c < utf8.RuneSelf { // ASCII: nothing after it is a lead
			return p, nil
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(p[i:]) {
				return p[:i], p[i:]
			}
			return p, nil
		}
	}
	return p, nil
}
