package classroom

import (
	"cmp"
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"time"

	"iexbox/internal/protocol"
	"iexbox/internal/store"
)

// The roster's views are the protocol's: clients decode them too.
type (
	Roster          = protocol.ClassRoster
	LearnerView     = protocol.ClassLearner
	ConsoleView     = protocol.ClassConsole
	ResultView      = protocol.ClassResult
	ExerciseSummary = protocol.ClassSummary
)

// state is the class's state at t.
func state(c store.Class, t time.Time) string {
	switch {
	case !c.Open():
		return "ended"
	case c.Starts.After(t):
		return "waiting"
	}
	return "open"
}

// Roster reads the class, its learners and results, and what this
// server serves of them now.
func (s *Service) Roster(ctx context.Context, c store.Class) (Roster, error) {
	if fresh, err := s.cfg.Store.Class(ctx, c.Code); err == nil {
		c = fresh // the state may have changed since the caller read it
	}
	learners, err := s.cfg.Store.Learners(ctx, c.Code)
	if err != nil {
		return Roster{}, err
	}
	results, err := s.cfg.Store.Results(ctx, c.Code)
	if err != nil {
		return Roster{}, err
	}
	r := Roster{Code: FormatCode(c.Code), Title: c.Title, Seats: c.Seats, State: state(c, s.now()), Exercises: c.Exercises,
		Learners: []LearnerView{}, Summary: map[string]ExerciseSummary{}}
	if !c.Starts.IsZero() {
		r.StartsAt = &c.Starts
	}
	for _, ex := range c.Exercises {
		r.Summary[ex] = ExerciseSummary{}
	}
	consoles := s.consoles(c.Code)
	byID := map[string]int{}
	for _, l := range learners {
		v := LearnerView{ID: l.ID, Name: l.Name, Consoles: []ConsoleView{}, Exercises: map[string]ResultView{}}
		for _, con := range consoles[l.ID] {
			idle := int(con.IdleFor() / time.Second)
			v.Consoles = append(v.Consoles, ConsoleView{Session: con.ID(), Exercise: con.Exercise(), IdleS: idle})
			if !v.Connected || idle < v.IdleS {
				v.IdleS = idle
			}
			v.Connected = true
		}
		slices.SortFunc(v.Consoles, func(a, b ConsoleView) int { return cmp.Compare(a.Session, b.Session) })
		v.Sessions = len(v.Consoles)
		byID[l.ID] = len(r.Learners)
		r.Learners = append(r.Learners, v)
	}
	for _, res := range results {
		i, ok := byID[res.Learner]
		if !ok {
			continue
		}
		rv := ResultView{Status: res.Status, Passed: res.Passed, Total: res.Total, Attempts: res.Attempts}
		if !res.Solved.IsZero() {
			solved := res.Solved.UTC()
			rv.SolvedAt = &solved
		}
		r.Learners[i].Exercises[res.Exercise] = rv
		sum := r.Summary[res.Exercise]
		sum.Attempted++
		if rv.SolvedAt != nil {
			sum.Solved++
		}
		if rv.Status == "pass" {
			sum.Passing++
		}
		r.Summary[res.Exercise] = sum
	}
	return r, nil
}

// WriteCSV writes the roster's results as CSV: one row per learner and
// exercise of the class, blank where the learner never checked it. The
// source column says where each result comes from.
func WriteCSV(w io.Writer, r Roster) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"learner", "exercise", "status", "passed", "total", "attempts", "solved_at", "source"})
	for _, l := range r.Learners {
		names := slices.Clone(r.Exercises)
		for ex := range l.Exercises {
			if !slices.Contains(names, ex) {
				names = append(names, ex)
			}
		}
		for _, ex := range names {
			res, ok := l.Exercises[ex]
			if !ok {
				cw.Write([]string{csvSafe(l.Name), ex, "", "", "", "0", "", ""})
				continue
			}
			solved := ""
			if res.SolvedAt != nil {
				solved = res.SolvedAt.Format(time.RFC3339)
			}
			cw.Write([]string{csvSafe(l.Name), ex, res.Status, strconv.Itoa(res.Passed), strconv.Itoa(res.Total),
				strconv.Itoa(res.Attempts), solved, "reported by the learner's own sandbox"})
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a learner's name as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
