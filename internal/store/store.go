// Package store keeps what must outlive a server process: recordings,
// and classes with their learners and results. One Store speaks to one database, the data folder's
// SQLite file by default or a PostgreSQL server that several iexbox
// servers share, behind the same methods; Open migrates its schema. The
// SQLite driver is pure Go, so the server stays one static binary.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Config says which database to open.
type Config struct {
	// Data is the folder of the SQLite database, created if missing; used
	// when Database is empty.
	Data string
	// Database is a postgres:// URL; when set, Data is not used.
	Database string
}

// dialect is what differs between the two databases.
type dialect int

const (
	sqlite dialect = iota
	postgres
)

// Store is one database with iexbox's schema. It is safe for concurrent
// use; the caller must Close it.
type Store struct {
	db *sql.DB
	d  dialect
}

// sqliteFile is the database's name in the data folder.
const sqliteFile = "iexbox.db"

// Open opens the database cfg names, creating the data folder when
// missing, and migrates its schema to this version's.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	var s Store
	var err error
	switch {
	case cfg.Database != "":
		if !strings.HasPrefix(cfg.Database, "postgres://") && !strings.HasPrefix(cfg.Database, "postgresql://") {
			return nil, errors.New("database: only postgres:// URLs are supported")
		}
		s.d = postgres
		s.db, err = sql.Open("pgx", cfg.Database)
	case cfg.Data != "":
		if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
		s.d = sqlite
		// WAL lets readers (a replay) go on while a recording is written;
		// synchronous NORMAL loses nothing when the process dies, only
		// when the machine does. The busy timeout makes concurrent
		// writers wait instead of failing.
		dsn := "file:" + filepath.Join(cfg.Data, sqliteFile) +
			"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		s.db, err = sql.Open("sqlite", dsn)
	default:
		return nil, errors.New("store: neither a data folder nor a database")
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if s.d == sqlite {
		// One writer at a time is SQLite's rule anyway: one connection
		// keeps writers in line inside the process instead of in
		// busy-waits.
		s.db.SetMaxOpenConns(1)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	return &s, nil
}

// Close closes the database. Idempotent.
func (s *Store) Close() error { return s.db.Close() }

// Kind names the database: "sqlite" or "postgres".
func (s *Store) Kind() string {
	if s.d == postgres {
		return "postgres"
	}
	return "sqlite"
}

// q turns a query written with ? placeholders into the dialect's.
func (s *Store) q(query string) string {
	if s.d == sqlite {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
