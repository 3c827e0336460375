package server

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Recordings serves stored recordings; the server asks nothing else of
// them. nil in Config: the server records nothing.
type Recordings interface {
	// WriteCast writes recording id's asciicast to w, or returns
	// ErrRecordingNotFound before writing anything.
	WriteCast(ctx context.Context, id string, w io.Writer) error
	// Delete deletes recording id when token is its delete token, else
	// returns ErrRecordingNotFound.
	Delete(ctx context.Context, id, token string) error
	// NotFound reports whether err means there is no such recording.
	NotFound(err error) bool
}

// recordingID is what a recording id looks like: 128 bits in hex.
var recordingID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// castWriteWait bounds the write of one part of a cast: a recording of
// many megabytes to a slow client is not cut by the server's write
// timeout, and a client that stops reading is.
const castWriteWait = 30 * time.Second

// serveCast answers GET /recordings/ID.cast with the recording as an
// asciicast v2 file, readable from the -origins sites.
func (s *Server) serveCast(w http.ResponseWriter, r *http.Request) {
	s.corsRecording(w, r)
	id, ok := strings.CutSuffix(r.PathValue("file"), ".cast")
	if !ok || !recordingID.MatchString(id) {
		http.NotFound(w, r)
		return
	}
	rc := http.NewResponseController(w)
	cw := &deadlineWriter{w: w, rc: rc}
	w.Header().Set("Content-Type", "application/x-asciicast")
	w.Header().Set("Cache-Control", "no-store") // a live recording grows
	err := s.cfg.Recordings.WriteCast(r.Context(), id, cw)
	switch {
	case err != nil && s.cfg.Recordings.NotFound(err) && !cw.wrote:
		w.Header().Del("Content-Type")
		http.NotFound(w, r)
	case err != nil && !cw.wrote:
		s.cfg.Log.Warn("serve recording", "err", err)
		http.Error(w, "the recording could not be read", http.StatusInternalServerError)
	case err != nil:
		s.cfg.Log.Debug("serve recording", "err", err)
	}
}

// deadlineWriter moves the write deadline on before each write.
type deadlineWriter struct {
	w     io.Writer
	rc    *http.ResponseController
	wrote bool
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.rc.SetWriteDeadline(time.Now().Add(castWriteWait))
	d.wrote = true
	return d.w.Write(p)
}

// deleteRecording answers DELETE /recordings/ID(.cast) with the bearer
// delete token: 204 once deleted, 404 for an unknown id or a wrong token
// (the two are not told apart).
func (s *Server) deleteRecording(w http.ResponseWriter, r *http.Request) {
	s.corsRecording(w, r)
	id := strings.TrimSuffix(r.PathValue("file"), ".cast")
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !recordingID.MatchString(id) || !ok || token == "" {
		http.NotFound(w, r)
		return
	}
	err := s.cfg.Recordings.Delete(r.Context(), id, strings.TrimSpace(token))
	switch {
	case err == nil:
		s.cfg.Log.Info("recording deleted", "recording", id)
		w.WriteHeader(http.StatusNoContent)
	case s.cfg.Recordings.NotFound(err):
		http.NotFound(w, r)
	default:
		s.cfg.Log.Warn("delete recording", "err", err)
		http.Error(w, "the recording could not be deleted", http.StatusInternalServerError)
	}
}

// corsRecording lets the -origins sites read (and, with the token,
// delete) recordings.
func (s *Server) corsRecording(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	u, err := url.Parse(origin)
	if err != nil || !s.cfg.Origins[normalOrigin(u.Scheme, u.Host)] {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
}

// preflightRecording answers a CORS preflight of a DELETE from an
// -origins site.
func (s *Server) preflightRecording(w http.ResponseWriter, r *http.Request) {
	s.corsRecording(w, r)
	w.Header().Set("Access-Control-Allow-Methods", "GET, DELETE")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization")
	w.WriteHeader(http.StatusNoContent)
}
