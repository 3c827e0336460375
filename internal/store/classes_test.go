package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestClassLife: a class, its learners and their results, from creation
// to deletion, in both databases.
func TestClassLife(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		s := open(t, cfg)
		ctx := t.Context()
		c := Class{Code: "ABCDEFGH", Title: "Enum", Seats: 40, Exercises: []string{"enum/double", "enum/sum"},
			TeacherToken: "teach-secret", Owner: "k1", Created: time.UnixMilli(1_000_000), Starts: time.UnixMilli(2_000_000)}
		if err := s.CreateClass(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateClass(ctx, c); err == nil {
			t.Fatal("two classes with one code")
		}
		got, err := s.Class(ctx, "ABCDEFGH")
		if err != nil || got.Title != "Enum" || got.Seats != 40 || !slices.Equal(got.Exercises, c.Exercises) || !got.Open() ||
			got.Starts.UnixMilli() != 2_000_000 || got.TeacherToken != "" {
			t.Fatalf("class %+v, %v", got, err)
		}
		if _, err := s.TeacherOf(ctx, "ABCDEFGH", "wrong"); !errors.Is(err, ErrNoClass) {
			t.Fatalf("teacher with a wrong token: %v", err)
		}
		if _, err := s.TeacherOf(ctx, "ABCDEFGH", "teach-secret"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountOpenClasses(ctx, "k1"); n != 1 {
			t.Fatalf("%d open classes of k1, want 1", n)
		}

		ana := Learner{ID: "l1", Class: c.Code, Name: "Ana", Token: "t1", Created: time.UnixMilli(3_000_000)}
		if err := s.AddLearner(ctx, ana); err != nil {
			t.Fatal(err)
		}
		if err := s.AddLearner(ctx, Learner{ID: "l2", Class: c.Code, Name: "ANA", Token: "t2", Created: time.UnixMilli(3_000_001)}); !errors.Is(err, ErrNameTaken) {
			t.Fatalf("a name taken twice, in another case: %v", err)
		}
		if err := s.AddLearner(ctx, Learner{ID: "l3", Class: c.Code, Name: "민준", Token: "t3", Created: time.UnixMilli(3_000_002)}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddLearner(ctx, Learner{ID: "l4", Class: "NOSUCHCL", Name: "Bo", Token: "t4"}); !errors.Is(err, ErrNoClass) {
			t.Fatalf("join an unknown class: %v", err)
		}
		if l, err := s.LearnerByToken(ctx, c.Code, "t1"); err != nil || l.ID != "l1" || l.Name != "Ana" {
			t.Fatalf("learner by token: %+v, %v", l, err)
		}
		if _, err := s.LearnerByToken(ctx, c.Code, "t2"); !errors.Is(err, ErrNoLearner) {
			t.Fatalf("a refused learner's token: %v", err)
		}

		// Two failing checks, then a pass, then a fail: four attempts,
		// solved at the pass, the latest status kept.
		for i, st := range []string{"fail", "fail", "pass", "fail"} {
			r, err := s.RecordResult(ctx, Result{Class: c.Code, Learner: "l1", Exercise: "enum/double", Status: st, Passed: i, Total: 3,
				Updated: time.UnixMilli(int64(4_000_000 + i))})
			if err != nil {
				t.Fatal(err)
			}
			if r.Attempts != i+1 {
				t.Fatalf("attempt %d stored as %d", i+1, r.Attempts)
			}
		}
		results, err := s.Results(ctx, c.Code)
		if err != nil || len(results) != 1 {
			t.Fatalf("results %+v, %v", results, err)
		}
		if r := results[0]; r.Status != "fail" || r.Passed != 3 || r.Attempts != 4 || r.Solved.UnixMilli() != 4_000_002 || r.Updated.UnixMilli() != 4_000_003 {
			t.Fatalf("result %+v", r)
		}

		if err := s.DeleteLearner(ctx, c.Code, "l1"); err != nil {
			t.Fatal(err)
		}
		if rs, _ := s.Results(ctx, c.Code); len(rs) != 0 {
			t.Fatalf("a removed learner's results stayed: %+v", rs)
		}
		if ls, _ := s.Learners(ctx, c.Code); len(ls) != 1 || ls[0].Name != "민준" {
			t.Fatalf("learners after a removal: %+v", ls)
		}

		if err := s.EndClass(ctx, c.Code, time.UnixMilli(5_000_000)); err != nil {
			t.Fatal(err)
		}
		if err := s.EndClass(ctx, c.Code, time.UnixMilli(6_000_000)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Class(ctx, c.Code); got.Ended.UnixMilli() != 5_000_000 {
			t.Fatalf("ended at %v, want the first end kept", got.Ended)
		}
		if open, _ := s.OpenClasses(ctx); len(open) != 0 {
			t.Fatalf("open classes after the end: %+v", open)
		}
		if err := s.AddLearner(ctx, Learner{ID: "l5", Class: c.Code, Name: "Late", Token: "t5"}); !errors.Is(err, ErrNoClass) {
			t.Fatalf("join an ended class: %v", err)
		}
		if err := s.DeleteClass(ctx, c.Code); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Class(ctx, c.Code); !errors.Is(err, ErrNoClass) {
			t.Fatalf("after delete: %v", err)
		}
		if ls, _ := s.Learners(ctx, c.Code); len(ls) != 0 {
			t.Fatalf("learners outlived their class: %+v", ls)
		}
		if err := s.DeleteClass(ctx, c.Code); !errors.Is(err, ErrNoClass) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

// TestClassRetention: classes older than the retention go, with their
// learners and results; younger ones stay.
func TestClassRetention(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		s := open(t, cfg)
		ctx := t.Context()
		for i, code := range []string{"OLDCLASS", "NEWCLASS"} {
			if err := s.CreateClass(ctx, Class{Code: code, Title: code, Seats: 1, TeacherToken: "x", Owner: "k", Created: time.UnixMilli(int64(1000 + i*1000))}); err != nil {
				t.Fatal(err)
			}
			if err := s.AddLearner(ctx, Learner{ID: code + "-l", Class: code, Name: "Ana", Token: code}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.DeleteClassesBefore(ctx, time.UnixMilli(1500))
		if err != nil || n != 1 {
			t.Fatalf("deleted %d, %v; want 1", n, err)
		}
		if _, err := s.Class(ctx, "OLDCLASS"); !errors.Is(err, ErrNoClass) {
			t.Fatalf("the old class stayed: %v", err)
		}
		if ls, _ := s.Learners(ctx, "OLDCLASS"); len(ls) != 0 {
			t.Fatalf("the old class's learners stayed: %+v", ls)
		}
		if _, err := s.Class(ctx, "NEWCLASS"); err != nil {
			t.Fatalf("the new class went: %v", err)
		}
	})
}
