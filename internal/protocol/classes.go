package protocol

import "time"

// The classes' HTTP API (docs/classes.md) answers with these.

// ClassRoster is a class as its teacher sees it (GET /classes/CODE).
type ClassRoster struct {
	Code      string                  `json:"code"` // as shown: ABCD-EFGH
	Title     string                  `json:"title"`
	Seats     int                     `json:"seats"`
	State     string                  `json:"state"` // "waiting" (before starts_at), "open" or "ended"
	StartsAt  *time.Time              `json:"starts_at,omitempty"`
	Exercises []string                `json:"exercises"`
	Learners  []ClassLearner          `json:"learners"`
	Summary   map[string]ClassSummary `json:"summary"`
}

// ClassLearner is one learner in a ClassRoster. Connected, IdleS, Sessions and
// Consoles are what this server serves of them.
type ClassLearner struct {
	ID        string                 `json:"id"`
	Name      string                 `json:"name"`
	Connected bool                   `json:"connected"`
	IdleS     int                    `json:"idle_s"`
	Sessions  int                    `json:"sessions"`
	Consoles  []ClassConsole         `json:"consoles"`
	Exercises map[string]ClassResult `json:"exercises"`
}

// ClassConsole is one running session of a learner.
type ClassConsole struct {
	Session  string `json:"session"`
	Exercise string `json:"exercise"`
	IdleS    int    `json:"idle_s"`
}

// ClassResult is a learner's latest check of an exercise, as the
// learner's own sandbox reported it.
type ClassResult struct {
	Status   string     `json:"status"` // "pass", "fail" or "error"
	Passed   int        `json:"passed"`
	Total    int        `json:"total"`
	Attempts int        `json:"attempts"`
	SolvedAt *time.Time `json:"solved_at"`
}

// ClassSummary counts one exercise's results over the class.
type ClassSummary struct {
	Attempted int `json:"attempted"` // learners who checked it at least once
	Solved    int `json:"solved"`    // learners who passed it at least once
	Passing   int `json:"passing"`   // learners whose latest check passed
}

// ClassCreated answers POST /classes.
type ClassCreated struct {
	Code         string `json:"code"` // as shown: ABCD-EFGH
	TeacherToken string `json:"teacher_token"`
	JoinURL      string `json:"join_url"`
	TeacherURL   string `json:"teacher_url"` // the teacher token in its fragment
}

// ClassShown answers POST /classes/CODE/show: the watch token the class's
// learners are told, and how many of their sessions were told now.
type ClassShown struct {
	Watch     string `json:"watch"`
	URL       string `json:"url"` // "/watch/<watch>"
	Delivered int    `json:"delivered"`
}

// ClassError is every error answer of the classes' API.
type ClassError struct {
	Error   string `json:"error"` // bad_request, unauthorized, forbidden, not_found, no_room, rate_limited, internal
	Message string `json:"message"`
	Fits    *int   `json:"fits,omitempty"` // no_room: how many seats fit now
}
