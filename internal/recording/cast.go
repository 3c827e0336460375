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
func appendEvent(b []byte, t time.Duration, code, data string) []byte {
	b = append(b, '[')
	b = strconv.AppendFloat(b, t.Seconds(), 'f', 6, 64)
	b = append(b, ',', '"')
	b = append(b, code...)
	b = append(b, '"', ',')
	s, _ := json.Marshal(data) // invalid UTF-8 becomes U+FFFD
	b = append(b, s...)
	return append(b, ']', '\n')
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
