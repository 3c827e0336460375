package static

import (
	"io/fs"
	"strings"
	"testing"
)

func TestEmbeddedPage(t *testing.T) {
	for _, name := range []string{"index.html", "style.css", "favicon.svg", "unbuilt.html", "dist/README.txt", "demo/lesson.html"} {
		if _, err := fs.Stat(FS(), name); err != nil {
			t.Errorf("%s not embedded: %v", name, err)
		}
	}
	index, err := fs.ReadFile(FS(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"/dist/app.css", "/style.css", "/dist/app.js"} {
		if !strings.Contains(string(index), ref) {
			t.Errorf("index.html does not load %s", ref)
		}
	}
	unbuilt, err := fs.ReadFile(FS(), "unbuilt.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unbuilt), "make web") {
		t.Error("unbuilt.html does not mention `make web`")
	}
}

func TestBuiltMatchesBundle(t *testing.T) {
	_, errJS := fs.Stat(FS(), "dist/app.js")
	_, errCSS := fs.Stat(FS(), "dist/app.css")
	if want := errJS == nil && errCSS == nil; Built() != want {
		t.Errorf("Built() = %v, want %v", Built(), want)
	}
	t.Logf("Built() = %v", Built())
}

func TestLessonUsesTheWidget(t *testing.T) {
	lesson, err := fs.ReadFile(FS(), "demo/lesson.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lesson), `<script src="/embed.js"`) || strings.Count(string(lesson), "<iex-console") != 5 || !strings.Contains(string(lesson), `exercise="enum/double"`) {
		t.Error("demo/lesson.html should load /embed.js and hold five <iex-console> elements, enum/double among them")
	}
}
