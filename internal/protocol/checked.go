package protocol

import (
	"encoding/json"
	"unicode/utf8"
)

// Bound cuts c to the bounds of a checked event: MaxCheckTests tests,
// MaxCheckText bytes per message and output, and MaxCheckedEvent bytes in
// all, marking Truncated wherever something was cut. Outputs shrink before
// messages: a failure's message is what the learner needs most.
func (c *Checked) Bound() {
	if len(c.Tests) > MaxCheckTests {
		c.Tests = c.Tests[:MaxCheckTests]
		c.Truncated = true
	}
	c.Message, _ = cutText(c.Message, MaxCheckText)
	c.ID, _ = cutText(c.ID, MaxCheckID)
	for limit := MaxCheckText; ; limit /= 2 {
		for i := range c.Tests {
			t := &c.Tests[i]
			var cutOut, cutMsg, cutName bool
			t.Output, cutOut = cutText(t.Output, limit)
			t.Message, cutMsg = cutText(t.Message, max(limit, 256))
			t.Name, cutName = cutText(t.Name, 256)
			if cutOut || cutMsg || cutName {
				t.Truncated = true
				c.Truncated = true
			}
		}
		data, _ := json.Marshal(c)
		if len(data) <= MaxCheckedEvent {
			return
		}
		if limit < 64 { // 100 tests of 256-byte messages fit: a safety net
			c.Tests = c.Tests[:len(c.Tests)/2]
			c.Truncated = true
		}
	}
}

// cutText cuts s to at most n bytes on a rune boundary, and says whether
// it did.
func cutText(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}
