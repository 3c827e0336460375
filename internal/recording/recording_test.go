package recording

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"iexbox/internal/store"
)

func TestCutUTF8(t *testing.T) {
	han := []byte("안") // 3 bytes
	for _, tc := range []struct {
		in, whole, rest string
	}{
		{"abc", "abc", ""},
		{"a" + string(han[:1]), "a", string(han[:1])},
		{"a" + string(han[:2]), "a", string(han[:2])},
		{"a안", "a안", ""},
		{"", "", ""},
		{"\xff", "\xff", ""}, // not a lead byte: passed on, JSON makes it U+FFFD
	} {
		w, r := cutUTF8([]byte(tc.in))
		if string(w) != tc.whole || string(r) != tc.rest {
			t.Errorf("cutUTF8(%q) = %q, %q; want %q, %q", tc.in, w, r, tc.whole, tc.rest)
		}
	}
}

func newService(t *testing.T, cfg Config) *Service {
	t.Helper()
	st, err := store.Open(t.Context(), store.Config{Data: filepath.Join(t.TempDir(), "d")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(cfg, st, nil, slog.New(slog.NewTextHandler(t.Output(), nil)))
}

// events reads a cast back: its header and its events.
func events(t *testing.T, s *Service, id string) (map[string]any, [][]any) {
	t.Helper()
	var b bytes.Buffer
	if err := s.WriteCast(t.Context(), id, &b); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&b)
	sc.Scan()
	var h map[string]any
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		t.Fatalf("header %q: %v", sc.Text(), err)
	}
	var evs [][]any
	for sc.Scan() {
		var e []any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || len(e) != 3 {
			t.Fatalf("event %q: %v", sc.Text(), err)
		}
		evs = append(evs, e)
	}
	return h, evs
}

func TestRecordingCast(t *testing.T) {
	s := newService(t, Config{})
	r, err := s.Begin(t.Context(), "a", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	han := []byte("안녕")
	r.Output([]byte("iex(1)> "))
	r.Output(han[:4]) // 안 and the first byte of 녕
	r.Output(han[4:])
	r.Resize(100, 30)
	r.Mark("check enum/double: 2/3 passed")
	r.Output(han[:1]) // a cut the session's end leaves: kept as it is
	r.Close()
	r.Close()
	h, evs := events(t, s, r.ID())
	if h["version"] != 2.0 || h["width"] != 80.0 || h["height"] != 24.0 {
		t.Fatalf("header %v", h)
	}
	var text strings.Builder
	var kinds []string
	last := -1.0
	for _, e := range evs {
		at := e[0].(float64)
		if at < last {
			t.Fatalf("time goes back: %v", evs)
		}
		last = at
		kinds = append(kinds, e[1].(string))
		if e[1] == "o" {
			if s := e[2].(string); strings.ContainsRune(s, '\uFFFD') && !strings.HasSuffix(s, "\uFFFD") {
				t.Fatalf("a broken character in %q", s)
			}
			text.WriteString(e[2].(string))
		}
	}
	if !strings.HasPrefix(text.String(), "iex(1)> 안녕") {
		t.Fatalf("output %q", text.String())
	}
	if got := strings.Join(kinds, ","); got != "o,o,o,r,m,o" {
		t.Fatalf("events %s", got)
	}
	if evs[3][2] != "100x30" || evs[4][2] != "check enum/double: 2/3 passed" {
		t.Fatalf("events %v", evs)
	}
	info, err := s.Stat(t.Context(), r.ID())
	if err != nil || !info.Complete {
		t.Fatalf("stat %+v %v", info, err)
	}
}

func TestRecordingFlushesWhileLive(t *testing.T) {
	s := newService(t, Config{})
	r, _ := s.Begin(t.Context(), "a", 80, 24)
	defer r.Close()
	r.Output([]byte("hello"))
	deadline := time.Now().Add(3 * FlushEvery)
	for {
		if _, evs := events(t, s, r.ID()); len(evs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("output not stored within a second or so")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if info, _ := s.Stat(t.Context(), r.ID()); info.Complete {
		t.Fatal("a live recording is complete")
	}
}

func TestRecordingByteBound(t *testing.T) {
	s := newService(t, Config{MaxBytes: 10})
	r, _ := s.Begin(t.Context(), "a", 80, 24)
	if r.Output([]byte("12345678")) {
		t.Fatal("stopped below the bound")
	}
	if !r.Output([]byte("9ab")) {
		t.Fatal("not stopped at the bound")
	}
	if r.Output([]byte("c")) {
		t.Fatal("stopped twice")
	}
	r.Close()
	_, evs := events(t, s, r.ID())
	if len(evs) != 2 || evs[0][2] != "12345678" || evs[1][2] != "9a" {
		t.Fatalf("events %v: want what fits, then nothing", evs)
	}
	// The bound never splits a character.
	r, _ = s.Begin(t.Context(), "a", 80, 24)
	r.max = 4
	if !r.Output([]byte("ab안")) {
		t.Fatal("not stopped at the bound")
	}
	r.Close()
	if _, evs := events(t, s, r.ID()); len(evs) != 1 || evs[0][2] != "ab" {
		t.Fatalf("events %v", evs)
	}
}

func TestStorageBound(t *testing.T) {
	s := newService(t, Config{Storage: 5})
	r, err := s.Begin(t.Context(), "a", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	r.Output([]byte("a long enough output"))
	r.Close()
	if _, err := s.Begin(t.Context(), "a", 80, 24); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("beyond the storage bound: %v", err)
	}
}

func TestDelete(t *testing.T) {
	s := newService(t, Config{})
	r, _ := s.Begin(t.Context(), "a", 80, 24)
	r.Close()
	if err := s.Delete(t.Context(), r.ID(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("wrong token: %v", err)
	}
	if err := s.Delete(t.Context(), r.ID(), r.DeleteToken()); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteCast(t.Context(), r.ID(), &bytes.Buffer{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

// FuzzJSONString: the hand-written encoder reads back as encoding/json
// reads it: the same text for valid UTF-8, U+FFFD for invalid bytes.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "iex(1)> ", "\x1b[0m\r\n", "안녕\"\\\t\x00\x7f", "\xff\xfe", "a\xe2\x82"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		enc := appendJSONString(nil, p)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q encodes as %s: %v", p, enc, err)
		}
		want, _ := json.Marshal(string(p))
		var w string
		json.Unmarshal(want, &w)
		if got != w {
			t.Fatalf("%q reads back as %q, want %q", p, got, w)
		}
	})
}

// BenchmarkOutput is the recording's cost per 32 KiB read of output.
func BenchmarkOutput(b *testing.B) {
	p := bytes.Repeat([]byte("iex(1)> Enum.map(1..3, &(&1 * 2))\r\n[2, 4, 6]\r\n안녕 \x1b[32m:ok\x1b[0m\r\n"), 32<<10/64)
	b.SetBytes(int64(len(p)))
	var buf []byte
	for b.Loop() {
		buf = appendEvent(buf[:0], time.Second, "o", p)
	}
}

// BenchmarkFlood is a recording's whole cost for a flood of output as the
// pump hands it over: 32 KiB reads, encoded, and stored by the flusher
// into SQLite once per 1.4 MB, the rate iex's own shell writes at.
func BenchmarkFlood(b *testing.B) {
	st, err := store.Open(b.Context(), store.Config{Data: filepath.Join(b.TempDir(), "d")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(Config{MaxBytes: 1 << 40}, st, nil, slog.New(slog.DiscardHandler))
	r, err := s.Begin(b.Context(), "a", 80, 24)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	p := bytes.Repeat([]byte("0123456789abcdef"), 32<<10/16)
	const perFlush = 1400 << 10 / (32 << 10)
	b.SetBytes(int64(len(p)))
	n := 0
	for b.Loop() {
		r.Output(p)
		if n++; n%perFlush == 0 {
			r.flush()
		}
	}
}
