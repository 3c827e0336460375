package session

import (
	"crypto/rand"
	"sync"
)

// Directory finds live sessions by their tokens: single-use resume tokens
// and watch tokens for viewers. Tokens carry 128 random bits, so they
// cannot be guessed. It is safe for concurrent use.
type Directory struct {
	mu     sync.Mutex
	resume map[string]*Session
	watch  map[string]*Session
}

// NewDirectory returns an empty Directory.
func NewDirectory() *Directory {
	return &Directory{resume: map[string]*Session{}, watch: map[string]*Session{}}
}

// newToken returns 128 random bits as 26 base32 characters.
func newToken() string { return rand.Text() }

// issueResume makes a new resume token for s, revoking the previous one.
func (d *Directory) issueResume(s *Session, previous string) string {
	t := newToken()
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.resume, previous)
	d.resume[t] = s
	return t
}

// issueWatch makes a watch token for s.
func (d *Directory) issueWatch(s *Session) string {
	t := newToken()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.watch[t] = s
	return t
}

// Resume takes the session a resume token names; the token is spent.
func (d *Directory) Resume(token string) (*Session, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.resume[token]
	delete(d.resume, token)
	return s, ok
}

// Watch finds the session a watch token names.
func (d *Directory) Watch(token string) (*Session, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.watch[token]
	return s, ok
}

// revoke forgets tokens of an ended session.
func (d *Directory) revoke(tokens ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range tokens {
		delete(d.resume, t)
		delete(d.watch, t)
	}
}
