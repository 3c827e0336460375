package server

import (
	"bytes"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
)

// frameTemplate is the page's embed.html: the iframe form of the widget,
// for sites that cannot load scripts.
const frameTemplate = "embed.html"

// framePage renders /embed once: the console's page, told which origins
// may drive it over postMessage (the same -origins that may frame it, by
// the Content-Security-Policy's frame-ancestors). Nil when the page has no
// embed.html.
func framePage(page fs.FS, origins Origins, log *slog.Logger) []byte {
	src, err := fs.ReadFile(page, frameTemplate)
	if err != nil {
		return nil
	}
	t, err := template.New(frameTemplate).Parse(string(src))
	if err != nil {
		log.Error("embed.html does not parse", "err", err)
		return nil
	}
	list := make([]string, 0, len(origins))
	for o := range origins {
		list = append(list, o)
	}
	slices.Sort(list)
	var b bytes.Buffer
	if err := t.Execute(&b, struct{ Origins string }{strings.Join(list, " ")}); err != nil {
		log.Error("embed.html does not render", "err", err)
		return nil
	}
	return b.Bytes()
}

// serveFrame answers /embed?exercise=...&code=...: the query is read by
// the page's own script, never by the server.
func serveFrame(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(body)
	}
}
