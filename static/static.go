// Package static embeds the browser page of iexbox: index.html, the iframe
// form of the widget (embed.html, a template the server fills), the replay
// page (replay.html), the teacher's page (teach.html), style.css,
// favicon.svg, the demo lesson in demo/ and the front-end bundles in dist/
// (dist/app.js and dist/app.css for the page, dist/embed.js for the
// <iex-console> widget and dist/embed-term.js, its terminal, loaded when a
// console first starts, dist/replay.js and dist/replay.css for the replay
// page, dist/teach.js and dist/teach.css for the teacher's page), built
// from src/ with `make web` (npm run build).
//
// The bundles are build output and not checked in; only dist/README.txt is,
// so the package compiles on a clean checkout. In that case Built reports
// false and the server should answer / with unbuilt.html, which tells the
// operator how to build the page.
package static

import (
	"embed"
	"io/fs"
)

//go:embed index.html embed.html replay.html teach.html style.css favicon.svg unbuilt.html dist demo
var files embed.FS

// FS returns the embedded page. Paths are relative to this directory, e.g.
// "index.html", "style.css", "dist/app.js"; it can be served as is with
// http.FileServerFS.
func FS() fs.FS {
	return files
}

// bundles lists every file in dist/ that the server serves; `make web`
// (static/build.mjs) writes them all.
var bundles = []string{"dist/app.js", "dist/app.css", "dist/embed.js", "dist/embed-term.js", "dist/frame.js", "dist/replay.js", "dist/replay.css",
	"dist/teach.js", "dist/teach.css"}

// Built reports whether every front-end bundle (bundles: the page's, the
// widget's, the replay page's and the teacher page's) was present when the
// binary was compiled.
func Built() bool {
	return built(files)
}

func built(fsys fs.FS) bool {
	for _, name := range bundles {
		if fi, err := fs.Stat(fsys, name); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// Page is the page to serve: the embedded one, or, before `make web` has
// built its bundles, one whose index is unbuilt.html, which tells the
// operator how to build it.
func Page() fs.FS {
	if Built() {
		return files
	}
	return unbuiltPage{files}
}

// unbuiltPage serves unbuilt.html as the index.
type unbuiltPage struct{ fs.FS }

func (p unbuiltPage) Open(name string) (fs.File, error) {
	if name == "index.html" {
		name = "unbuilt.html"
	}
	return p.FS.Open(name)
}
