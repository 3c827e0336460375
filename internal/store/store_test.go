package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// postgresEnv names the test cluster's URL (scripts/postgres-up.sh, which
// make unit and make e2e run). Without it the PostgreSQL half is skipped.
const postgresEnv = "IEXBOX_TEST_POSTGRES"

// eachDatabase runs f against a fresh SQLite folder and, when the test
// cluster is up, a fresh PostgreSQL schema.
func eachDatabase(t *testing.T, f func(t *testing.T, cfg Config)) {
	t.Run("sqlite", func(t *testing.T) { f(t, Config{Data: filepath.Join(t.TempDir(), "data")}) })
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv(postgresEnv)
		if base == "" {
			t.Skip(postgresEnv + " is not set: run scripts/postgres-up.sh")
		}
		f(t, Config{Database: freshSchema(t, base)})
	})
}

// freshSchema makes a schema of its own for one test and returns a URL
// whose connections use it; the schema is dropped after the test.
func freshSchema(t *testing.T, base string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			db.Exec("DROP SCHEMA " + name + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRecordingLife(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		s := open(t, cfg)
		ctx := t.Context()
		r := Recording{ID: "r1", DeleteToken: "secret", Address: "10.0.0.1", Created: time.UnixMilli(1_000_000), Header: `{"version":2}`}
		if err := s.CreateRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
		for i, c := range []string{"[0.1,\"o\",\"a\"]\n", "[0.2,\"o\",\"안\"]\n"} {
			if err := s.AppendRecording(ctx, "r1", i, []byte(c)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AppendRecording(ctx, "r1", 1, []byte("again")); err == nil {
			t.Fatal("a chunk stored twice under one number")
		}
		got, err := s.RecordingInfo(ctx, "r1")
		if err != nil || got.Bytes != int64(len("[0.1,\"o\",\"a\"]\n[0.2,\"o\",\"안\"]\n")) || !got.Ended.IsZero() || got.Header != r.Header {
			t.Fatalf("info %+v, %v", got, err)
		}
		if err := s.FinishRecording(ctx, "r1", time.UnixMilli(2_000_000)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.RecordingInfo(ctx, "r1")
		if got.Ended.UnixMilli() != 2_000_000 {
			t.Fatalf("ended %v", got.Ended)
		}
		chunks, err := s.RecordingChunks(ctx, "r1", 1, 10)
		if err != nil || len(chunks) != 1 || string(chunks[0]) != "[0.2,\"o\",\"안\"]\n" {
			t.Fatalf("chunks from 1: %q, %v", chunks, err)
		}
		if n, _ := s.RecordingBytes(ctx); n != got.Bytes {
			t.Fatalf("bytes of all %d, want %d", n, got.Bytes)
		}
		if err := s.DeleteRecording(ctx, "r1", "wrong"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete with a wrong token: %v", err)
		}
		if err := s.DeleteRecording(ctx, "r1", "secret"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordingInfo(ctx, "r1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if err := s.AppendRecording(ctx, "r1", 2, []byte("x")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("append after delete: %v", err)
		}
		if chunks, _ := s.RecordingChunks(ctx, "r1", 0, 10); len(chunks) != 0 {
			t.Fatalf("chunks left: %d", len(chunks))
		}
	})
}

func TestRetention(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		s := open(t, cfg)
		ctx := t.Context()
		for i, created := range []int64{1000, 2000, 3000} {
			id := string(rune('a' + i))
			s.CreateRecording(ctx, Recording{ID: id, DeleteToken: "t", Created: time.UnixMilli(created), Header: "{}"})
			s.AppendRecording(ctx, id, 0, []byte("12345"))
		}
		n, err := s.DeleteRecordingsBefore(ctx, time.UnixMilli(2500))
		if err != nil || n != 2 {
			t.Fatalf("deleted %d, %v", n, err)
		}
		if b, _ := s.RecordingBytes(ctx); b != 5 {
			t.Fatalf("bytes left %d", b)
		}
		if _, err := s.RecordingInfo(ctx, "c"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReopen: what was stored is there after a restart, and migrating
// again changes nothing.
func TestReopen(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		s, err := Open(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.CreateRecording(t.Context(), Recording{ID: "kept", DeleteToken: "t", Created: time.Now(), Header: "{}"})
		s.Close()
		s = open(t, cfg)
		if _, err := s.RecordingInfo(t.Context(), "kept"); err != nil {
			t.Fatal(err)
		}
		var v int
		s.db.QueryRow(`SELECT MAX(version) FROM schema_version`).Scan(&v)
		if v != len(migrations) {
			t.Fatalf("schema version %d, want %d", v, len(migrations))
		}
	})
}

// TestConcurrentOpen: servers starting together on one database migrate
// it once.
func TestConcurrentOpen(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				s, err := Open(context.Background(), cfg)
				if err == nil {
					s.Close()
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestConcurrentWriters: recordings written at once do not fail on a
// busy database.
func TestConcurrentWriters(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		s := open(t, cfg)
		var wg sync.WaitGroup
		errs := make(chan error, 8*20)
		for i := range 8 {
			wg.Go(func() {
				id := string(rune('a' + i))
				if err := s.CreateRecording(t.Context(), Recording{ID: id, DeleteToken: "t", Created: time.Now(), Header: "{}"}); err != nil {
					errs <- err
					return
				}
				for seq := range 20 {
					if err := s.AppendRecording(t.Context(), id, seq, []byte("[1,\"o\",\"x\"]\n")); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if b, _ := s.RecordingBytes(t.Context()); b != 8*20*12 {
			t.Fatalf("bytes %d", b)
		}
	})
}

func TestOpenRefusesOtherURLs(t *testing.T) {
	if _, err := Open(t.Context(), Config{Database: "mysql://x"}); err == nil {
		t.Fatal("a mysql URL was accepted")
	}
	if _, err := Open(t.Context(), Config{}); err == nil {
		t.Fatal("no database was accepted")
	}
}
