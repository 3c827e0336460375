// Package exercises embeds the example exercises shipped with iexbox, the
// default of -exercises. Each folder holding a test.exs is one exercise,
// named by its path (enum/double); docs/exercises.md says how to write one.
package exercises

import (
	"embed"
	"io/fs"
)

//go:embed match recursion enum structs genserver
var files embed.FS

// FS returns the shipped exercises.
func FS() fs.FS { return files }
