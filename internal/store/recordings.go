package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"
)

// ErrNotFound means no recording has that id (or, for a delete, the
// token does not match: the caller cannot tell the two apart).
var ErrNotFound = errors.New("no such recording")

// Recording is one recording's row.
type Recording struct {
	ID          string
	DeleteToken string // only given to CreateRecording; stored hashed
	Address     string // the client address key that asked, for the rate
	Created     time.Time
	Ended       time.Time // zero while the recording is open
	Header      string    // the asciicast header line, without newline
	Bytes       int64     // the events stored so far
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// CreateRecording stores a new, open recording with no events.
func (s *Store) CreateRecording(ctx context.Context, r Recording) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO recordings (id, delete_hash, address, created_ms, header) VALUES (?, ?, ?, ?, ?)`),
		r.ID, hashToken(r.DeleteToken), r.Address, r.Created.UnixMilli(), r.Header)
	return err
}

// AppendRecording stores the recording's next chunk of events, numbered
// seq from 0. A chunk already stored under seq is an error.
func (s *Store) AppendRecording(ctx context.Context, id string, seq int, events []byte) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE recordings SET bytes = bytes + ? WHERE id = ?`), len(events), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound // deleted while recording
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO recording_chunks (recording_id, seq, data) VALUES (?, ?, ?)`), id, seq, events); err != nil {
		return err
	}
	return tx.Commit()
}

// FinishRecording marks the recording complete.
func (s *Store) FinishRecording(ctx context.Context, id string, ended time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE recordings SET ended_ms = ? WHERE id = ?`), ended.UnixMilli(), id)
	return err
}

// RecordingInfo reads a recording's row (DeleteToken empty).
func (s *Store) RecordingInfo(ctx context.Context, id string) (Recording, error) {
	r := Recording{ID: id}
	var created int64
	var ended sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT address, created_ms, ended_ms, header, bytes FROM recordings WHERE id = ?`), id).
		Scan(&r.Address, &created, &ended, &r.Header, &r.Bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	r.Created = time.UnixMilli(created)
	if ended.Valid {
		r.Ended = time.UnixMilli(ended.Int64)
	}
	return r, nil
}

// RecordingChunks returns the recording's chunks from seq from on, at
// most limit of them, in order. Reading a long recording page by page
// holds no connection while the caller writes to a slow client.
func (s *Store) RecordingChunks(ctx context.Context, id string, from, limit int) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT data FROM recording_chunks WHERE recording_id = ? AND seq >= ? ORDER BY seq LIMIT ?`), id, from, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// DeleteRecording deletes the recording when token is its delete token;
// otherwise ErrNotFound.
func (s *Store) DeleteRecording(ctx context.Context, id, token string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var h string
	err = tx.QueryRowContext(ctx, s.q(`SELECT delete_hash FROM recordings WHERE id = ?`), id).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare([]byte(h), []byte(hashToken(token))) != 1) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := deleteRecordings(ctx, tx, s, `id = ?`, id); err != nil {
		return err
	}
	return tx.Commit()
}

// DeleteRecordingsBefore deletes the recordings created before t (the
// retention) and reports how many.
func (s *Store) DeleteRecordingsBefore(ctx context.Context, t time.Time) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM recordings WHERE created_ms < ?`), t.UnixMilli()).Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	if err := deleteRecordings(ctx, tx, s, `created_ms < ?`, t.UnixMilli()); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// deleteRecordings deletes the recordings matching where, chunks first.
func deleteRecordings(ctx context.Context, tx *sql.Tx, s *Store, where string, arg any) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM recording_chunks WHERE recording_id IN (SELECT id FROM recordings WHERE `+where+`)`), arg); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, s.q(`DELETE FROM recordings WHERE `+where), arg)
	return err
}

// RecordingBytes is the size of every recording's events together.
func (s *Store) RecordingBytes(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT SUM(bytes) FROM recordings`).Scan(&n)
	return n.Int64, err
}
