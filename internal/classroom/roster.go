package classroom

import (
	"cmp"
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"time"

	"iexbox/internal/store"
)

// Roster is a class as its teacher sees it (GET /classes/CODE).
type Roster struct {
	Code      string                     `json:"code"` // as shown: ABCD-EFGH
	Title     string                     `json:"title"`
	Seats     int                        `json:"seats"`
	State     string                     `json:"state"` // "waiting" (before starts_at), "open" or "ended"
	StartsAt  *time.Time                 `json:"starts_at,omitempty"`
	Exercises []string                   `json:"exercises"`
	Learners  []LearnerView              `json:"learners"`
	Summary   map[string]ExerciseSummary `json:"summary"`
}

// LearnerView is one learner in a Roster. Connected, IdleS, Sessions and
// Consoles are what this server serves of them.
type LearnerView struct {
	ID        string                `json:"id"`
	Name      string                `json:"name"`
	Connected bool                  `json:"connected"`
	IdleS     int                   `json:"idle_s"`
	Sessions  int                   `json:"sessions"`
	Consoles  []ConsoleView         `json:"consoles"`
	Exercises map[string]ResultView `json:"exercises"`
}

// ConsoleView is one running session of a learner.
type ConsoleView struct {
	Session  string `json:"session"`
	Exercise string `json:"exercise"`
	IdleS    int    `json:"idle_s"`
}

// ResultView is a learner's latest check of an exercise, as the
// learner's own sandbox reported it.
type ResultView struct {
	Status   string     `json:"status"` // "pass", "fail" or "error"
	Passed   int        `json:"passed"`
	Total    int        `json:"total"`
	Attempts int        `json:"attempts"`
	SolvedAt *time.Time `json:"solved_at"`
}

// ExerciseSummary counts one exercise's results over the class.
type ExerciseSummary struct {
	Attempted int `json:"attempted"` // learners who checked it at least once
	Solved    int `json:"solved"`    // learners who passed it at least once
	Passing   int `json:"passing"`   // learners whose latest check passed
}

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
func (r Roster) WriteCSV(w io.Writer) error {
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
