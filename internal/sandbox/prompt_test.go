package sandbox

import "testing"

func TestPromptAtEnd(t *testing.T) {
	for _, tt := range []struct {
		out, num string
	}{
		{"Interactive Elixir\r\n" + Prompt, "1"},
		{"2\r\niex(12)> ", "12"},
		{"iex(3)> 1+1", ""},
		{"...(3)> ", ""},
	} {
		m := PromptAtEnd.FindStringSubmatch(tt.out)
		got := ""
		if m != nil {
			got = m[1]
		}
		if got != tt.num {
			t.Errorf("%q: prompt number %q, want %q", tt.out, got, tt.num)
		}
	}
}
