package sandbox

import (
	"fmt"
	"regexp"
	"strings"
)

// iex's main prompt, with the number of the next expression.
const promptFormat = "iex(%d)> "

var (
	// Prompt is what iex prints when it is ready for its first input: a
	// sandbox is booted once its output holds it.
	Prompt = PromptNumber(1)
	// PromptAtEnd matches any of iex's main prompts at the end of its
	// output; its submatch is the prompt's number.
	PromptAtEnd = regexp.MustCompile(strings.Replace(regexp.QuoteMeta(promptFormat), "%d", `(\d+)`, 1) + `$`)
)

// PromptNumber is iex's main prompt before its n-th expression.
func PromptNumber(n int) string { return fmt.Sprintf(promptFormat, n) }
