package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migrations are the schema's steps, in order; a step is never edited
// once released, only followed by another. {blob} and {bigint} are the
// dialect's types.
var migrations = []string{
	// 1: recordings, their chunks of asciicast events in order.
	`CREATE TABLE recordings (
		id TEXT PRIMARY KEY,
		delete_hash TEXT NOT NULL,
		address TEXT NOT NULL,
		created_ms {bigint} NOT NULL,
		ended_ms {bigint},
		header TEXT NOT NULL,
		bytes {bigint} NOT NULL DEFAULT 0
	);
	CREATE INDEX recordings_created ON recordings (created_ms);
	CREATE TABLE recording_chunks (
		recording_id TEXT NOT NULL,
		seq INTEGER NOT NULL,
		data {blob} NOT NULL,
		PRIMARY KEY (recording_id, seq)
	);`,
	// 2: classes, their learners (names only) and each learner's latest
	// check of each exercise.
	`CREATE TABLE classes (
		code TEXT PRIMARY KEY,
		title TEXT NOT NULL,
		seats INTEGER NOT NULL,
		exercises TEXT NOT NULL,
		teacher_hash TEXT NOT NULL,
		owner TEXT NOT NULL,
		created_ms {bigint} NOT NULL,
		starts_ms {bigint},
		ended_ms {bigint}
	);
	CREATE INDEX classes_created ON classes (created_ms);
	CREATE TABLE learners (
		id TEXT PRIMARY KEY,
		class_code TEXT NOT NULL,
		name TEXT NOT NULL,
		name_key TEXT NOT NULL,
		token_hash TEXT NOT NULL,
		created_ms {bigint} NOT NULL,
		UNIQUE (class_code, name_key)
	);
	CREATE INDEX learners_token ON learners (class_code, token_hash);
	CREATE TABLE class_results (
		class_code TEXT NOT NULL,
		learner_id TEXT NOT NULL,
		exercise TEXT NOT NULL,
		status TEXT NOT NULL,
		passed INTEGER NOT NULL,
		total INTEGER NOT NULL,
		attempts INTEGER NOT NULL,
		solved_ms {bigint},
		updated_ms {bigint} NOT NULL,
		PRIMARY KEY (learner_id, exercise)
	);
	CREATE INDEX class_results_class ON class_results (class_code);`,
}

// migrationLock is the PostgreSQL advisory lock servers sharing one
// database take while migrating, so only one migrates.
const migrationLock = 0x1e8b0c

// migrate brings the schema to len(migrations), each step in its own
// transaction with the version it reaches.
func (s *Store) migrate(ctx context.Context) error {
	for {
		done, err := s.step(ctx)
		if err != nil || done {
			return err
		}
	}
}

// step applies the next migration, reporting done when there is none.
// Servers opening one database at once take turns: PostgreSQL's advisory
// lock, SQLite's immediate transactions.
func (s *Store) step(ctx context.Context) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if s.d == postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return false, err
	}
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		return false, err
	}
	n := int(v.Int64)
	if n > len(migrations) {
		return false, fmt.Errorf("the database's schema (version %d) is newer than this server's (%d)", n, len(migrations))
	}
	if n == len(migrations) {
		return true, nil
	}
	for _, stmt := range strings.Split(s.types(migrations[n]), ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migration %d: %w", n+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_version (version) VALUES (?)`), n+1); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// types writes the dialect's column types into a migration.
func (s *Store) types(m string) string {
	blob, bigint := "BLOB", "INTEGER"
	if s.d == postgres {
		blob, bigint = "BYTEA", "BIGINT"
	}
	return strings.NewReplacer("{blob}", blob, "{bigint}", bigint).Replace(m)
}
