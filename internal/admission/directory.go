package admission

import (
	"crypto/rand"
	"sync"

	"iexbox/internal/session"
)

// Directory finds live sessions by their tokens: single-use resume tokens
// and watch tokens for viewers. Tokens carry 128 random bits, so they
// cannot be guessed. It is safe for concurrent use.
type Directory struct {
	mu     sync.Mutex
	resume map[string]*session.Session
	watch  map[string]*session.Session
}

// NewDirectory returns an empty Directory.
func NewDirectory() *Directory {
	return &Directory{resume: map[string]*session.Session{}, watch: map[string]*session.Session{}}
}

// newToken returns 128 random bits as 26 base32 characters.
func newToken() string { return rand.Text() }

// IssueResume makes a new resume token for s, revoking the previous one.
func (d *Directory) IssueResume(s *session.Session, previous string) string {
	t := newToken()
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.resume, previous)
	d.resume[t] = s
	return t
}

// IssueWatch makes a watch token for s.
func (d *Directory) IssueWatch(s *session.Session) string {
	t := newToken()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.watch[t] = s
	return t
}

// Resume takes the session a resume token names; the token is spent.
func (d *Directory) Resume(token string) (*session.Session, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.resume[token]
	delete(d.resume, token)
	return s, ok
}

// Watch finds the session a watch token names.
func (d *Directory) Watch(token string) (*session.Session, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.watch[token]
	return s, ok
}

// Revoke forgets tokens of an ended session.
func (d *Directory) Revoke(tokens ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range tokens {
		delete(d.resume, t)
		delete(d.watch, t)
	}
}

var _ session.Tokens = (*Directory)(nil)
