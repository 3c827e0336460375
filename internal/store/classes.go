package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Errors of classes and learners.
var (
	// ErrNoClass means no class has that code (or it was deleted).
	ErrNoClass = errors.New("no such class")
	// ErrNameTaken means another learner of the class has that name.
	ErrNameTaken = errors.New("the name is taken in this class")
	// ErrNoLearner means the class has no such learner, or the learner
	// token does not match.
	ErrNoLearner = errors.New("no such learner")
)

// Class is one class's row.
type Class struct {
	Code      string
	Title     string
	Seats     int
	Exercises []string
	// TeacherToken is only given to CreateClass; it is stored hashed.
	TeacherToken string
	// Owner is the hash of the key or token that opened the class, for
	// the per-key limit.
	Owner   string
	Created time.Time
	Starts  time.Time // zero: at once
	Ended   time.Time // zero while open
}

// Open reports whether the class has not ended.
func (c Class) Open() bool { return c.Ended.IsZero() }

// Learner is one learner of a class. Only a name is kept: no e-mail,
// no address.
type Learner struct {
	ID    string
	Class string
	Name  string
	// Token is only given to AddLearner; it is stored hashed.
	Token   string
	Created time.Time
}

// Result is a learner's latest check of one exercise, as the learner's
// own sandbox reported it.
type Result struct {
	Class    string
	Learner  string
	Exercise string
	Status   string // "pass", "fail" or "error"
	Passed   int
	Total    int
	Attempts int
	Solved   time.Time // the first passing check; zero if none
	Updated  time.Time
}

// CreateClass stores a new, open class.
func (s *Store) CreateClass(ctx context.Context, c Class) error {
	ex, err := json.Marshal(c.Exercises)
	if err != nil {
		return err
	}
	var starts sql.NullInt64
	if !c.Starts.IsZero() {
		starts = sql.NullInt64{Int64: c.Starts.UnixMilli(), Valid: true}
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO classes (code, title, seats, exercises, teacher_hash, owner, created_ms, starts_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		c.Code, c.Title, c.Seats, string(ex), hashToken(c.TeacherToken), c.Owner, c.Created.UnixMilli(), starts)
	return err
}

const classColumns = `code, title, seats, exercises, owner, created_ms, starts_ms, ended_ms`

func scanClass(row interface{ Scan(...any) error }) (Class, error) {
	var c Class
	var ex string
	var created int64
	var starts, ended sql.NullInt64
	if err := row.Scan(&c.Code, &c.Title, &c.Seats, &ex, &c.Owner, &created, &starts, &ended); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(ex), &c.Exercises); err != nil {
		return c, err
	}
	c.Created = time.UnixMilli(created)
	if starts.Valid {
		c.Starts = time.UnixMilli(starts.Int64)
	}
	if ended.Valid {
		c.Ended = time.UnixMilli(ended.Int64)
	}
	return c, nil
}

// Class reads a class by its code.
func (s *Store) Class(ctx context.Context, code string) (Class, error) {
	c, err := scanClass(s.db.QueryRowContext(ctx, s.q(`SELECT `+classColumns+` FROM classes WHERE code = ?`), code))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNoClass
	}
	return c, err
}

// TeacherOf reads a class by its code when token is its teacher token;
// otherwise ErrNoClass (the caller cannot tell the two apart).
func (s *Store) TeacherOf(ctx context.Context, code, token string) (Class, error) {
	var h string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT teacher_hash FROM classes WHERE code = ?`), code).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare([]byte(h), []byte(hashToken(token))) != 1) {
		return Class{}, ErrNoClass
	}
	if err != nil {
		return Class{}, err
	}
	return s.Class(ctx, code)
}

// OpenClasses lists the classes not yet ended, oldest first.
func (s *Store) OpenClasses(ctx context.Context) ([]Class, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+classColumns+` FROM classes WHERE ended_ms IS NULL ORDER BY created_ms`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Class
	for rows.Next() {
		c, err := scanClass(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CountOpenClasses counts the open classes owner opened.
func (s *Store) CountOpenClasses(ctx context.Context, owner string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM classes WHERE owner = ? AND ended_ms IS NULL`), owner).Scan(&n)
	return n, err
}

// EndClass marks the class ended at t; ending an ended class keeps its
// first end.
func (s *Store) EndClass(ctx context.Context, code string, t time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE classes SET ended_ms = COALESCE(ended_ms, ?) WHERE code = ?`), t.UnixMilli(), code)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoClass
	}
	return nil
}

// DeleteClass deletes the class, its learners and their results.
func (s *Store) DeleteClass(ctx context.Context, code string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := deleteClasses(ctx, tx, s, `code = ?`, code); err != nil {
		return err
	}
	return tx.Commit()
}

// DeleteClassesBefore deletes the classes created before t (the
// retention), with their learners and results, and reports how many.
func (s *Store) DeleteClassesBefore(ctx context.Context, t time.Time) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM classes WHERE created_ms < ?`), t.UnixMilli()).Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	if err := deleteClasses(ctx, tx, s, `created_ms < ?`, t.UnixMilli()); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// deleteClasses deletes the classes matching where, results and learners
// first.
func deleteClasses(ctx context.Context, tx *sql.Tx, s *Store, where string, arg any) error {
	for _, table := range []string{"class_results", "learners"} {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE class_code IN (SELECT code FROM classes WHERE `+where+`)`), arg); err != nil {
			return err
		}
	}
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM classes WHERE `+where), arg)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 && where == `code = ?` {
		return ErrNoClass
	}
	return nil
}

// nameKey is how names are compared for uniqueness in a class: case
// does not make a new name.
func nameKey(name string) string { return strings.ToLower(name) }

// AddLearner stores a new learner of an open class; ErrNameTaken when
// another learner of the class has the name.
func (s *Store) AddLearner(ctx context.Context, l Learner) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var ended sql.NullInt64
	err = tx.QueryRowContext(ctx, s.q(`SELECT ended_ms FROM classes WHERE code = ?`), l.Class).Scan(&ended)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && ended.Valid) {
		return ErrNoClass
	}
	if err != nil {
		return err
	}
	var taken int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM learners WHERE class_code = ? AND name_key = ?`), l.Class, nameKey(l.Name)).Scan(&taken); err != nil {
		return err
	}
	if taken > 0 {
		return ErrNameTaken
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO learners (id, class_code, name, name_key, token_hash, created_ms) VALUES (?, ?, ?, ?, ?, ?)`),
		l.ID, l.Class, l.Name, nameKey(l.Name), hashToken(l.Token), l.Created.UnixMilli()); err != nil {
		// Two joins with one name at once: the unique index decides.
		if strings.Contains(strings.ToLower(err.Error()), "unique") {
			return ErrNameTaken
		}
		return err
	}
	return tx.Commit()
}

// LearnerByToken finds the learner of the class whose learner token is
// token; ErrNoLearner otherwise.
func (s *Store) LearnerByToken(ctx context.Context, class, token string) (Learner, error) {
	l := Learner{Class: class}
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, name, created_ms FROM learners WHERE class_code = ? AND token_hash = ?`), class, hashToken(token)).
		Scan(&l.ID, &l.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNoLearner
	}
	l.Created = time.UnixMilli(created)
	return l, err
}

// Learners lists the class's learners in the order they joined.
func (s *Store) Learners(ctx context.Context, class string) ([]Learner, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, name, created_ms FROM learners WHERE class_code = ? ORDER BY created_ms, id`), class)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Learner
	for rows.Next() {
		l := Learner{Class: class}
		var created int64
		if err := rows.Scan(&l.ID, &l.Name, &created); err != nil {
			return nil, err
		}
		l.Created = time.UnixMilli(created)
		out = append(out, l)
	}
	return out, rows.Err()
}

// DeleteLearner deletes a learner of the class and their results.
func (s *Store) DeleteLearner(ctx context.Context, class, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM class_results WHERE class_code = ? AND learner_id = ?`), class, id); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM learners WHERE class_code = ? AND id = ?`), class, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoLearner
	}
	return tx.Commit()
}

// RecordResult stores a learner's check of an exercise: the latest
// status and counts, one more attempt, and the time of the first pass.
// It returns the row as stored.
func (s *Store) RecordResult(ctx context.Context, r Result) (Result, error) {
	var solved sql.NullInt64
	if r.Status == "pass" {
		solved = sql.NullInt64{Int64: r.Updated.UnixMilli(), Valid: true}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return r, err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO class_results (class_code, learner_id, exercise, status, passed, total, attempts, solved_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
		ON CONFLICT (learner_id, exercise) DO UPDATE SET status = excluded.status, passed = excluded.passed, total = excluded.total,
			attempts = class_results.attempts + 1, solved_ms = COALESCE(class_results.solved_ms, excluded.solved_ms), updated_ms = excluded.updated_ms`),
		r.Class, r.Learner, r.Exercise, r.Status, r.Passed, r.Total, solved, r.Updated.UnixMilli())
	if err != nil {
		return r, err
	}
	row := tx.QueryRowContext(ctx, s.q(`SELECT `+resultColumns+` FROM class_results WHERE learner_id = ? AND exercise = ?`), r.Learner, r.Exercise)
	stored, err := scanResult(row)
	if err != nil {
		return r, err
	}
	return stored, tx.Commit()
}

const resultColumns = `class_code, learner_id, exercise, status, passed, total, attempts, solved_ms, updated_ms`

func scanResult(row interface{ Scan(...any) error }) (Result, error) {
	var r Result
	var solved sql.NullInt64
	var updated int64
	if err := row.Scan(&r.Class, &r.Learner, &r.Exercise, &r.Status, &r.Passed, &r.Total, &r.Attempts, &solved, &updated); err != nil {
		return r, err
	}
	if solved.Valid {
		r.Solved = time.UnixMilli(solved.Int64)
	}
	r.Updated = time.UnixMilli(updated)
	return r, nil
}

// Results lists every result of the class.
func (s *Store) Results(ctx context.Context, class string) ([]Result, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+resultColumns+` FROM class_results WHERE class_code = ? ORDER BY learner_id, exercise`), class)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Result
	for rows.Next() {
		r, err := scanResult(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
