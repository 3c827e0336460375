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

// appendJSONString appends s as a JSON string: the recording's hot path,
// so written by hand rather than through encoding/json (a third of the
// server's CPU for a flood). Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune([]byte(s[i:min(i+utf8.UTFMax, len(s))]))
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\\ufffd"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
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
