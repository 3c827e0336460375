package static

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestEmbeddedPage(t *testing.T) {
	for _, name := range []string{"index.html", "teach.html", "style.css", "favicon.svg", "unbuilt.html", "dist/README.txt", "demo/lesson.html"} {
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
	teach, err := fs.ReadFile(FS(), "teach.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"/style.css", "/dist/teach.css", "/dist/teach.js"} {
		if !strings.Contains(string(teach), ref) {
			t.Errorf("teach.html does not load %s", ref)
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
	want := true
	for _, name := range bundles {
		if _, err := fs.Stat(FS(), name); err != nil {
			want = false
		}
	}
	if Built() != want {
		t.Errorf("Built() = %v, want %v", Built(), want)
	}
	t.Logf("Built() = %v", Built())
}

func TestBuiltNeedsEveryBundle(t *testing.T) {
	all := func() fstest.MapFS {
		m := fstest.MapFS{"dist/README.txt": {}}
		for _, name := range []string{"dist/app.js", "dist/app.css", "dist/embed.js", "dist/embed-term.js", "dist/frame.js", "dist/replay.js", "dist/replay.css", "dist/teach.js", "dist/teach.css"} {
			m[name] = &fstest.MapFile{Data: []byte("x")}
		}
		return m
	}
	if !built(all()) {
		t.Error("built = false with every bundle present")
	}
	for _, name := range []string{"dist/app.js", "dist/app.css", "dist/embed.js", "dist/embed-term.js", "dist/frame.js", "dist/replay.js", "dist/replay.css", "dist/teach.js", "dist/teach.css"} {
		t.Run(name, func(t *testing.T) {
			missing := all()
			delete(missing, name)
			if built(missing) {
				t.Errorf("built = true without %s", name)
			}
			dir := all()
			dir[name] = &fstest.MapFile{Mode: fs.ModeDir}
			if built(dir) {
				t.Errorf("built = true with %s a directory", name)
			}
		})
	}
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
