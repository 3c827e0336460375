// Package classroom keeps classes: a teacher opens one, learners join it
// with its code and a name, each learner's sessions belong to the class,
// their checks become the class's results, and the teacher follows them
// live. Classes, learners (names only) and results live in the store, so
// a restart or another server loses none; who is connected now is each
// server's own knowledge.
package classroom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"iexbox/internal/sandbox"
	"iexbox/internal/session"
	"iexbox/internal/store"
)

// Errors a caller turns into answers.
var (
	ErrNoClass        = errors.New("no class has that code, or it has ended")
	ErrBadRequest     = errors.New("bad class request")
	ErrTooManyClasses = errors.New("too many open classes for this key")
	ErrNoRoom         = errors.New("more seats than fit now")
	ErrJoinRate       = errors.New("too many failed joins from your address: wait a minute")
	ErrNameTaken      = errors.New("another learner of this class has that name")
	ErrSessions       = errors.New("too many sessions open for this learner")
	ErrStreams        = errors.New("too many event streams for this class")
	ErrNoLearner      = errors.New("no such learner in this class")
)

// Bounds of a class.
const (
	MaxTitle     = 200 // characters
	MaxExercises = 50
	MaxSeats     = 1000
	// streamsPerClass bounds the teacher's event streams open per class.
	streamsPerClass = 16
	// showEvery is how often the consoles classes show are checked for
	// being still shared.
	showEvery = time.Second
	// failedJoinsPerMinute and failedJoinBurst bound the joins per
	// address that name no class (or a learner token it does not know):
	// 39.6 bits of code are not found that way.
	failedJoinsPerMinute = 10
	failedJoinBurst      = 10
)

// Console is one session of a learner, as the class drives it.
// *session.Session is one.
type Console interface {
	ID() string
	Exercise() string
	IdleFor() time.Duration
	EndWith(session.Reason)
	Share() string
	Tell(session.Event)
}

// Seats holds warm sandboxes for classes: Hold sets how many the classes
// want kept warm now.
type Seats interface {
	Hold(n int)
}

// Config is what the classes need.
type Config struct {
	Store *store.Store
	// Exercise reports whether an exercise of that name exists.
	Exercise func(name string) bool
	// MaxPerOwner bounds the classes one key keeps open at once.
	MaxPerOwner int
	// LearnerSessions bounds the sessions one learner has open at once.
	LearnerSessions int
	// SeatRoom is how many seats all open classes may hold together.
	SeatRoom int
	// WarmFor is how long after its start a class's seats are kept warm.
	WarmFor time.Duration
	// Retention deletes classes, learners and results this long after the
	// class was opened; 0 keeps them.
	Retention time.Duration
	// Seats keeps the warm seats; nil keeps none.
	Seats Seats
	// Shared reports whether a watch token names a live shared session
	// on this server, for the teacher's console a class shows; nil: none
	// does.
	Shared func(watch string) bool
	// Observer counts refused joins; nil counts nothing.
	Observer Observer
	Log      *slog.Logger
}

// Observer is told of refused joins, by reason: no_class, no_learner,
// bad_name, name_taken, rate, sessions.
type Observer interface {
	JoinRefused(reason string)
}

type noObserver struct{}

func (noObserver) JoinRefused(string) {}

// Service keeps the classes. It is safe for concurrent use.
type Service struct {
	cfg Config
	now func() time.Time

	mu      sync.Mutex
	classes map[string]*live // by code, those with anything live here
	failed  map[string]*rate.Limiter
	held    int                // seats held warm now, all classes together
	open    []store.Class      // the open classes, as last read
	shown   map[string]showing // by code: the teacher's console each shows
}

// live is what this server knows of a class now.
type live struct {
	consoles map[string]map[Console]struct{} // by learner id
	streams  map[chan struct{}]struct{}
}

// New returns the classes kept in cfg.Store.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Exercise == nil {
		cfg.Exercise = func(string) bool { return false }
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	return &Service{cfg: cfg, now: time.Now, classes: map[string]*live{}, failed: map[string]*rate.Limiter{},
		shown: map[string]showing{}}
}

// liveLocked is code's live state, made on first use. The caller holds
// s.mu.
func (s *Service) liveLocked(code string) *live {
	l := s.classes[code]
	if l == nil {
		l = &live{consoles: map[string]map[Console]struct{}{}, streams: map[chan struct{}]struct{}{}}
		s.classes[code] = l
	}
	return l
}

// forgetLocked drops code's live state once nothing is left in it.
func (s *Service) forgetLocked(code string) {
	if l := s.classes[code]; l != nil && len(l.consoles) == 0 && len(l.streams) == 0 {
		delete(s.classes, code)
	}
}

// changed wakes the class's event streams.
func (s *Service) changed(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.classes[code]; l != nil {
		for ch := range l.streams {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// OpenRequest is a teacher's request for a class.
type OpenRequest struct {
	Title     string    `json:"title"`
	Seats     int       `json:"seats"`
	Exercises []string  `json:"exercises"`
	StartsAt  time.Time `json:"starts_at"`
}

// RoomError is ErrNoRoom with how many seats do fit now.
type RoomError struct{ Fits int }

func (e *RoomError) Error() string {
	return fmt.Sprintf("%s: %d fit", ErrNoRoom, e.Fits)
}

func (e *RoomError) Unwrap() error { return ErrNoRoom }

// Open opens a class for owner (a hash naming the key or token that
// asked). It returns the class, its teacher token (never stored in the
// clear) and nothing half-made on error.
func (s *Service) Open(ctx context.Context, owner string, req OpenRequest) (store.Class, string, error) {
	req.Title = strings.TrimSpace(req.Title)
	switch {
	case req.Title == "":
		return store.Class{}, "", fmt.Errorf("%w: a title is needed", ErrBadRequest)
	case len([]rune(req.Title)) > MaxTitle:
		return store.Class{}, "", fmt.Errorf("%w: the title is longer than %d characters", ErrBadRequest, MaxTitle)
	case req.Seats < 0 || req.Seats > MaxSeats:
		return store.Class{}, "", fmt.Errorf("%w: seats must be from 0 to %d", ErrBadRequest, MaxSeats)
	case len(req.Exercises) > MaxExercises:
		return store.Class{}, "", fmt.Errorf("%w: at most %d exercises", ErrBadRequest, MaxExercises)
	}
	for _, ex := range req.Exercises {
		if !s.cfg.Exercise(ex) {
			return store.Class{}, "", fmt.Errorf("%w: no exercise is called %q", ErrBadRequest, ex)
		}
	}
	if n, err := s.cfg.Store.CountOpenClasses(ctx, owner); err != nil {
		return store.Class{}, "", err
	} else if s.cfg.MaxPerOwner > 0 && n >= s.cfg.MaxPerOwner {
		return store.Class{}, "", fmt.Errorf("%w (%d)", ErrTooManyClasses, s.cfg.MaxPerOwner)
	}
	if fits, err := s.seatsFree(ctx); err != nil {
		return store.Class{}, "", err
	} else if req.Seats > fits {
		return store.Class{}, "", &RoomError{Fits: fits}
	}
	c := store.Class{Title: req.Title, Seats: req.Seats, Exercises: req.Exercises, Owner: owner,
		Created: s.now(), Starts: req.StartsAt, TeacherToken: newSecret()}
	if c.Exercises == nil {
		c.Exercises = []string{}
	}
	var err error
	for range 5 { // a clash of 39.6-bit codes is rare; retry it anyway
		c.Code = newCode()
		if err = s.cfg.Store.CreateClass(ctx, c); err == nil {
			break
		}
	}
	if err != nil {
		return store.Class{}, "", fmt.Errorf("store the class: %w", err)
	}
	s.cfg.Log.Info("class opened", "class", c.Code, "seats", c.Seats, "exercises", len(c.Exercises))
	s.Reseat(ctx)
	token := c.TeacherToken
	c.TeacherToken = ""
	return c, token, nil
}

// seatsFree is how many more seats fit beside those of the open classes.
func (s *Service) seatsFree(ctx context.Context) (int, error) {
	open, err := s.cfg.Store.OpenClasses(ctx)
	if err != nil {
		return 0, err
	}
	taken := 0
	for _, c := range open {
		if s.warming(c, s.now()) || c.Starts.After(s.now()) {
			taken += c.Seats
		}
	}
	return max(s.cfg.SeatRoom-taken, 0), nil
}

// warming reports whether c's seats are to be kept warm at t: from its
// start (or its opening) for WarmFor.
func (s *Service) warming(c store.Class, t time.Time) bool {
	start := c.Starts
	if start.IsZero() {
		start = c.Created
	}
	return c.Open() && !t.Before(start) && (s.cfg.WarmFor <= 0 || t.Before(start.Add(s.cfg.WarmFor)))
}

// Reseat reads the open classes and tells Seats how many seats they
// want warm now.
func (s *Service) Reseat(ctx context.Context) {
	open, err := s.cfg.Store.OpenClasses(ctx)
	if err != nil {
		s.cfg.Log.Warn("read open classes", "err", err)
		return
	}
	s.mu.Lock()
	s.open = open
	s.mu.Unlock()
	s.rehold()
}

// rehold tells Seats how many seats the open classes want warm now: each
// warming class its seats less the sessions of it this server runs or is
// starting, so a class holds seats sandboxes in all, warm or in use, and
// a learner taking a seat starts no boot.
func (s *Service) rehold() {
	s.mu.Lock()
	n := 0
	for _, c := range s.open {
		if !s.warming(c, s.now()) {
			continue
		}
		inUse := 0
		if l := s.classes[c.Code]; l != nil {
			for _, cs := range l.consoles {
				inUse += len(cs)
			}
		}
		n += max(c.Seats-inUse, 0)
	}
	n = min(n, s.cfg.SeatRoom)
	changed := n != s.held
	s.held = n
	s.mu.Unlock()
	if changed && s.cfg.Seats != nil {
		s.cfg.Seats.Hold(n)
		s.cfg.Log.Debug("class seats", "warm", n)
	}
}

// Held is how many seats the classes keep warm now.
func (s *Service) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// OpenCount is how many classes are open, as last read (every few
// seconds).
func (s *Service) OpenCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// Connected is how many learners have a session on this server.
func (s *Service) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.classes {
		for _, cs := range l.consoles {
			for c := range cs {
				if _, pending := c.(*seat); !pending {
					n++
					break
				}
			}
		}
	}
	return n
}

// Run keeps seats and retention up to date until ctx ends: seats warm
// from each class's start, and classes past the retention deleted.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	// A shown console that ends or is unshared is noticed within
	// showEvery: nothing tells the classes when a session stops sharing.
	shows := time.NewTicker(showEvery)
	defer shows.Stop()
	s.Reseat(ctx)
	s.prune(ctx)
	last := s.now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-shows.C:
			s.checkShown()
			continue
		case <-t.C:
		}
		s.Reseat(ctx)
		s.sweep(ctx)
		if s.now().Sub(last) >= time.Hour {
			s.prune(ctx)
			last = s.now()
		}
	}
}

// sweep ends the sessions this server runs of classes ended, and of
// learners removed, elsewhere: by another server sharing the store.
func (s *Service) sweep(ctx context.Context) {
	s.mu.Lock()
	codes := make([]string, 0, len(s.classes))
	for code, l := range s.classes {
		if len(l.consoles) > 0 {
			codes = append(codes, code)
		}
	}
	s.mu.Unlock()
	for _, code := range codes {
		c, err := s.cfg.Store.Class(ctx, code)
		if err != nil && !errors.Is(err, store.ErrNoClass) {
			continue // the store is unreachable: end nothing on a guess
		}
		var keep map[string]bool
		if err == nil && c.Open() {
			learners, err := s.cfg.Store.Learners(ctx, code)
			if err != nil {
				continue
			}
			keep = map[string]bool{}
			for _, l := range learners {
				keep[l.ID] = true
			}
		}
		for id, cs := range s.consoles(code) {
			if keep[id] {
				continue
			}
			for _, con := range cs {
				con.EndWith(session.ReasonClassEnded)
			}
		}
	}
}

func (s *Service) prune(ctx context.Context) {
	if s.cfg.Retention <= 0 {
		return
	}
	n, err := s.cfg.Store.DeleteClassesBefore(ctx, s.now().Add(-s.cfg.Retention))
	if err != nil {
		s.cfg.Log.Warn("class retention", "err", err)
	} else if n > 0 {
		s.cfg.Log.Info("classes past their retention deleted", "count", n)
	}
}

// Member is a learner of a class, as a hello names them.
type Member struct {
	Class   store.Class
	Learner store.Learner
	// Token is the learner token the learner's page keeps: new when the
	// hello named the learner by a name, the same when by a token.
	Token string
}

// failedJoin counts one failed join of addr.
func (s *Service) failedJoin(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.failed[addr]
	if l == nil {
		if len(s.failed) > 10000 { // forget the full ones first
			for k, v := range s.failed {
				if v.Tokens() >= failedJoinBurst {
					delete(s.failed, k)
				}
			}
		}
		l = rate.NewLimiter(rate.Every(time.Minute/failedJoinsPerMinute), failedJoinBurst)
		s.failed[addr] = l
	}
	l.Allow()
}

// joinBarred reports whether addr failed too many joins lately.
func (s *Service) joinBarred(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.failed[addr]
	return l != nil && l.Tokens() < 1
}

// Join finds the learner a hello names in the class of code (as typed):
// by learner token, or by a name, which makes a new learner. addr is the
// client's address key, for the failed-join rate. Errors: ErrJoinRate,
// ErrNoClass, ErrNoLearner, ErrNameTaken, ErrBadName.
func (s *Service) Join(ctx context.Context, addr, typed, name, token string) (*Member, error) {
	m, err := s.join(ctx, addr, typed, name, token)
	if err != nil {
		s.cfg.Observer.JoinRefused(refusal(err))
	}
	return m, err
}

// refusal is a refused join's reason, for the Observer.
func refusal(err error) string {
	switch {
	case errors.Is(err, ErrJoinRate):
		return "rate"
	case errors.Is(err, ErrNoClass):
		return "no_class"
	case errors.Is(err, ErrNoLearner):
		return "no_learner"
	case errors.Is(err, ErrBadName):
		return "bad_name"
	case errors.Is(err, ErrNameTaken):
		return "name_taken"
	}
	return "error"
}

func (s *Service) join(ctx context.Context, addr, typed, name, token string) (*Member, error) {
	if s.joinBarred(addr) {
		return nil, ErrJoinRate
	}
	code, ok := NormalizeCode(typed)
	if !ok {
		s.failedJoin(addr)
		return nil, ErrNoClass
	}
	c, err := s.cfg.Store.Class(ctx, code)
	if errors.Is(err, store.ErrNoClass) || (err == nil && !c.Open()) {
		s.failedJoin(addr)
		return nil, ErrNoClass
	}
	if err != nil {
		return nil, err
	}
	if token != "" {
		l, err := s.cfg.Store.LearnerByToken(ctx, code, token)
		if errors.Is(err, store.ErrNoLearner) {
			s.failedJoin(addr)
			return nil, ErrNoLearner
		}
		if err != nil {
			return nil, err
		}
		return &Member{Class: c, Learner: l, Token: token}, nil
	}
	clean, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	l := store.Learner{ID: uuid.NewString(), Class: code, Name: clean, Token: newSecret(), Created: s.now()}
	switch err := s.cfg.Store.AddLearner(ctx, l); {
	case errors.Is(err, store.ErrNameTaken):
		return nil, ErrNameTaken
	case errors.Is(err, store.ErrNoClass):
		return nil, ErrNoClass
	case err != nil:
		return nil, err
	}
	s.cfg.Log.Info("learner joined", "class", code, "learner", l.ID)
	s.changed(code)
	token, l.Token = l.Token, ""
	return &Member{Class: c, Learner: l, Token: token}, nil
}

// Seat counts one more session of m before it is admitted: ErrSessions
// beyond LearnerSessions. The caller calls release if the session never
// starts; once it does, Attach takes the place over.
func (s *Service) Seat(m *Member) (release func(), err error) {
	s.mu.Lock()
	if l := s.classes[m.Class.Code]; l != nil && s.cfg.LearnerSessions > 0 && len(l.consoles[m.Learner.ID]) >= s.cfg.LearnerSessions {
		s.mu.Unlock()
		s.cfg.Observer.JoinRefused("sessions")
		return nil, ErrSessions
	}
	placeholder := &seat{}
	s.addLocked(m, placeholder)
	s.mu.Unlock()
	// Before the learner takes a warm sandbox: the hold falls with the
	// take, so the pool boots no replacement for a seat.
	s.rehold()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.dropLocked(m, placeholder)
			s.mu.Unlock()
			s.rehold()
		})
	}, nil
}

// seat is a session of a learner that is not yet running.
type seat struct{ _ byte } // not zero-sized: each is a distinct map key

func (*seat) ID() string             { return "" }
func (*seat) Exercise() string       { return "" }
func (*seat) IdleFor() time.Duration { return 0 }
func (*seat) EndWith(session.Reason) {}
func (*seat) Share() string          { return "" }
func (*seat) Tell(session.Event)     {}

// addLocked records c as one of m's sessions. The caller holds s.mu.
func (s *Service) addLocked(m *Member, c Console) {
	l := s.liveLocked(m.Class.Code)
	consoles := l.consoles[m.Learner.ID]
	if consoles == nil {
		consoles = map[Console]struct{}{}
		l.consoles[m.Learner.ID] = consoles
	}
	consoles[c] = struct{}{}
}

// dropLocked forgets c, one of m's sessions. The caller holds s.mu.
func (s *Service) dropLocked(m *Member, c Console) {
	l := s.classes[m.Class.Code]
	if l == nil {
		return
	}
	if consoles := l.consoles[m.Learner.ID]; consoles != nil {
		delete(consoles, c)
		if len(consoles) == 0 {
			delete(l.consoles, m.Learner.ID)
		}
	}
	s.forgetLocked(m.Class.Code)
}

// Attach records c as a running session of m, in place of the seat
// release held; detach, once the session has ended, forgets it. A
// session of an ended or deleted class is ended at once.
func (s *Service) Attach(ctx context.Context, m *Member, c Console, release func()) (detach func()) {
	s.mu.Lock()
	s.addLocked(m, c)
	s.mu.Unlock()
	release()
	s.changed(m.Class.Code)
	if cl, err := s.cfg.Store.Class(ctx, m.Class.Code); err != nil || !cl.Open() {
		c.EndWith(session.ReasonClassEnded) // ended while this one started
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.dropLocked(m, c)
			s.mu.Unlock()
			s.rehold()
			s.changed(m.Class.Code)
		})
	}
}

// Checked stores a check's result for m's exercise, as m's own sandbox
// reported it.
func (s *Service) Checked(m *Member, exercise string, res sandbox.CheckResult) {
	if exercise == "" {
		return
	}
	passed := 0
	for _, t := range res.Tests {
		if t.Status == sandbox.CheckPass {
			passed++
		}
	}
	status := res.Status
	if status != sandbox.CheckPass && status != sandbox.CheckFail {
		status = sandbox.CheckError
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.cfg.Store.RecordResult(ctx, store.Result{Class: m.Class.Code, Learner: m.Learner.ID, Exercise: exercise,
		Status: status, Passed: passed, Total: len(res.Tests), Updated: s.now()})
	if err != nil {
		s.cfg.Log.Warn("store a check's result", "class", m.Class.Code, "err", err)
		return
	}
	s.changed(m.Class.Code)
}

// Teacher finds the class code names when token is its teacher token.
func (s *Service) Teacher(ctx context.Context, typed, token string) (store.Class, error) {
	code, ok := NormalizeCode(typed)
	if !ok || token == "" {
		return store.Class{}, ErrNoClass
	}
	c, err := s.cfg.Store.TeacherOf(ctx, code, token)
	if errors.Is(err, store.ErrNoClass) {
		return c, ErrNoClass
	}
	return c, err
}

// consoles is a snapshot of the class's running consoles by learner.
func (s *Service) consoles(code string) map[string][]Console {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]Console{}
	if l := s.classes[code]; l != nil {
		for id, cs := range l.consoles {
			for c := range cs {
				if _, pending := c.(*seat); !pending {
					out[id] = append(out[id], c)
				}
			}
		}
	}
	return out
}

// End ends the class: no one joins any more, every session of it ends
// with class_ended, its seats are released. Ending it again does nothing.
func (s *Service) End(ctx context.Context, c store.Class) error {
	if err := s.cfg.Store.EndClass(ctx, c.Code, s.now()); err != nil {
		return err
	}
	n := 0
	for _, cs := range s.consoles(c.Code) {
		for _, con := range cs {
			con.EndWith(session.ReasonClassEnded)
			n++
		}
	}
	s.mu.Lock()
	delete(s.shown, c.Code) // its sessions are ending: no one to tell
	s.mu.Unlock()
	s.cfg.Log.Info("class ended", "class", c.Code, "sessions", n)
	s.Reseat(ctx)
	s.changed(c.Code)
	return nil
}

// Delete ends the class and deletes it with its learners and results.
func (s *Service) Delete(ctx context.Context, c store.Class) error {
	if err := s.End(ctx, c); err != nil && !errors.Is(err, store.ErrNoClass) {
		return err
	}
	if err := s.cfg.Store.DeleteClass(ctx, c.Code); err != nil && !errors.Is(err, store.ErrNoClass) {
		return err
	}
	s.cfg.Log.Info("class deleted", "class", c.Code)
	return nil
}

// RemoveLearner ends the learner's sessions and deletes the learner with
// their results.
func (s *Service) RemoveLearner(ctx context.Context, c store.Class, id string) error {
	if err := s.cfg.Store.DeleteLearner(ctx, c.Code, id); err != nil {
		if errors.Is(err, store.ErrNoLearner) {
			return ErrNoLearner
		}
		return err
	}
	for _, con := range s.consoles(c.Code)[id] {
		con.EndWith(session.ReasonClassEnded)
	}
	s.changed(c.Code)
	return nil
}

// Message sends text to every running session of the class and reports
// how many it reached.
func (s *Service) Message(c store.Class, text string) (int, error) {
	text = strings.TrimSpace(text)
	if text == "" || len([]rune(text)) > maxMessage {
		return 0, fmt.Errorf("%w: a message is 1 to %d characters", ErrBadRequest, maxMessage)
	}
	n := 0
	for _, cs := range s.consoles(c.Code) {
		for _, con := range cs {
			con.Tell(session.Event{Kind: session.TeacherMessage, Text: text})
			n++
		}
	}
	return n, nil
}

// maxMessage bounds a teacher's message in characters (the protocol's
// MaxMessage).
const maxMessage = 280

// Watch returns a watch token for the learner's most recently started
// running session, and tells that learner the teacher watches.
func (s *Service) Watch(c store.Class, learner string) (string, error) {
	cs := s.consoles(c.Code)[learner]
	if len(cs) == 0 {
		return "", ErrNoLearner
	}
	// The one idle the least is the one the learner uses.
	best := cs[0]
	for _, con := range cs[1:] {
		if con.IdleFor() < best.IdleFor() {
			best = con
		}
	}
	tok := best.Share()
	if tok == "" {
		return "", ErrNoLearner
	}
	best.Tell(session.Event{Kind: session.Watched})
	return tok, nil
}

// Subscribe opens one of the class's event streams: changed gets a
// value, at most one pending, whenever something of the class changes
// on this server. The caller must call cancel.
func (s *Service) Subscribe(code string) (changed <-chan struct{}, cancel func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.liveLocked(code)
	if len(l.streams) >= streamsPerClass {
		s.forgetLocked(code)
		return nil, nil, ErrStreams
	}
	ch := make(chan struct{}, 1)
	l.streams[ch] = struct{}{}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if l := s.classes[code]; l != nil {
				delete(l.streams, ch)
			}
			s.forgetLocked(code)
		})
	}, nil
}
