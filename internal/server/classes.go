package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"iexbox/internal/classroom"
	"iexbox/internal/protocol"
	"iexbox/internal/store"
)

// Classes over HTTP (docs/classes.md): a teacher opens a class with a
// teacher key or a token that may teach, then follows it with the class's
// teacher token. Every answer but the event stream is JSON; every error
// is {"error": code, "message": ...}.

// maxClassBody bounds a request's JSON body.
const maxClassBody = 16 << 10

// classEvery is how often an event stream looks for changes made on
// other servers (this server's own changes wake it at once).
const classEvery = time.Second

// classError is an error answer of the classes' API.
type classError = protocol.ClassError

func writeClassJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func classFail(w http.ResponseWriter, status int, code, message string) {
	writeClassJSON(w, status, classError{Error: code, Message: message})
}

// registerClasses adds the classes' routes.
func (s *Server) registerClasses() {
	s.mux.HandleFunc("POST /classes", s.openClass)
	s.mux.HandleFunc("GET /classes/{code}", s.teacherOnly(s.getClass))
	s.mux.HandleFunc("DELETE /classes/{code}", s.teacherOnly(s.deleteClass))
	s.mux.HandleFunc("GET /classes/{code}/events", s.teacherOnly(s.classEvents))
	s.mux.HandleFunc("POST /classes/{code}/end", s.teacherOnly(s.endClass))
	s.mux.HandleFunc("POST /classes/{code}/message", s.teacherOnly(s.messageClass))
	s.mux.HandleFunc("POST /classes/{code}/watch", s.teacherOnly(s.watchLearner))
	s.mux.HandleFunc("POST /classes/{code}/show", s.teacherOnly(s.showConsole))
	s.mux.HandleFunc("DELETE /classes/{code}/show", s.teacherOnly(s.unshowConsole))
	s.mux.HandleFunc("DELETE /classes/{code}/learners/{id}", s.teacherOnly(s.removeLearner))
	s.mux.HandleFunc("GET /classes/{code}/results.csv", s.teacherOnly(s.classCSV))
	s.mux.HandleFunc("GET /classes/{code}/results.json", s.teacherOnly(s.getClass))
	if s.cfg.Page != nil {
		s.mux.HandleFunc("GET /teach", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Referrer-Policy", "no-referrer")
			http.ServeFileFS(w, r, s.cfg.Page, "teach.html")
		})
	}
}

// bearer is the request's Authorization bearer credential, "" if none.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// HashTeacherKeys reads -teacher-keys: one key per line, blank lines and
// lines starting with # skipped. Only the keys' hashes are kept.
func HashTeacherKeys(text string) ([][32]byte, error) {
	var out [][32]byte
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) < 16 {
			return nil, fmt.Errorf("line %d: a teacher key must be at least 16 characters", i+1)
		}
		out = append(out, sha256.Sum256([]byte(line)))
	}
	return out, nil
}

// classOwner decides who asks to open a class: the key's or token's
// hash, for the per-key limit, or an HTTP status and why not.
func (s *Server) classOwner(r *http.Request) (owner string, status int, code, message string) {
	cred := bearer(r)
	if len(s.cfg.TeacherKeys) == 0 && len(s.cfg.TokenSecret) == 0 {
		// Neither configured: this machine only, never through a proxy.
		addr, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !addr.Addr().Unmap().IsLoopback() || s.proxies.viaProxy(r) || forwarded(r) {
			return "", http.StatusForbidden, "forbidden", "opening a class needs a teacher key (-teacher-keys) or a token with \"teach\"; with neither configured, only this machine may"
		}
		return "loopback", 0, "", ""
	}
	if cred == "" {
		return "", http.StatusUnauthorized, "unauthorized", "send a teacher key or a token with \"teach\" as Authorization: Bearer"
	}
	sum := sha256.Sum256([]byte(cred))
	match := 0
	for _, k := range s.cfg.TeacherKeys {
		match |= subtle.ConstantTimeCompare(sum[:], k[:])
	}
	if match == 1 {
		return "key:" + hex.EncodeToString(sum[:8]), 0, "", ""
	}
	if len(s.cfg.TokenSecret) > 0 {
		claims, err := verifyToken(s.cfg.TokenSecret, cred, time.Now(), s.cfg.TokenMaxLifetime)
		if err == nil && claims.Teach {
			who := cred
			if claims.Teacher != "" {
				who = "teacher:" + claims.Teacher
			}
			h := sha256.Sum256([]byte(who))
			return "token:" + hex.EncodeToString(h[:8]), 0, "", ""
		}
		if err == nil {
			return "", http.StatusForbidden, "forbidden", "this token may not open classes (no \"teach\" claim)"
		}
	}
	return "", http.StatusForbidden, "forbidden", "the teacher key or token is not valid"
}

// classCreated answers POST /classes.
type classCreated = protocol.ClassCreated

// readClassBody decodes a JSON body of at most maxClassBody into v.
func readClassBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxClassBody+1))
	switch {
	case err != nil:
		classFail(w, http.StatusBadRequest, "bad_request", "the body could not be read")
		return false
	case len(body) > maxClassBody:
		classFail(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("the body is larger than %d KiB", maxClassBody>>10))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		classFail(w, http.StatusBadRequest, "bad_request", "the body is not the JSON expected: "+err.Error())
		return false
	}
	return true
}

// openClass answers POST /classes.
func (s *Server) openClass(w http.ResponseWriter, r *http.Request) {
	owner, status, code, msg := s.classOwner(r)
	if status != 0 {
		s.cfg.Observer.Refused("class_" + code)
		classFail(w, status, code, msg)
		return
	}
	var req struct {
		Title     string   `json:"title"`
		Seats     int      `json:"seats"`
		Exercises []string `json:"exercises"`
		StartsAt  string   `json:"starts_at"`
	}
	if !readClassBody(w, r, &req) {
		return
	}
	open := classroom.OpenRequest{Title: req.Title, Seats: req.Seats, Exercises: req.Exercises}
	if req.StartsAt != "" {
		t, err := time.Parse(time.RFC3339, req.StartsAt)
		if err != nil {
			classFail(w, http.StatusBadRequest, "bad_request", "starts_at is not an RFC 3339 time")
			return
		}
		open.StartsAt = t
	}
	c, token, err := s.cfg.Classes.Open(r.Context(), owner, open)
	var room *classroom.RoomError
	switch {
	case errors.As(err, &room):
		writeClassJSON(w, http.StatusConflict, classError{Error: "no_room", Message: err.Error(), Fits: &room.Fits})
		return
	case errors.Is(err, classroom.ErrBadRequest):
		classFail(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case errors.Is(err, classroom.ErrTooManyClasses):
		classFail(w, http.StatusTooManyRequests, "rate_limited", err.Error())
		return
	case err != nil:
		s.cfg.Log.Warn("open a class", "err", err)
		classFail(w, http.StatusInternalServerError, "internal", "the class could not be stored")
		return
	}
	shown := classroom.FormatCode(c.Code)
	base := s.baseURL(r)
	// The links name this server: behind a load balancer the class's
	// learners and teacher all reach it, and its warm seats
	// (docs/deploy.md, "Classes across servers").
	pin := "instance=" + url.QueryEscape(s.cfg.Instance)
	writeClassJSON(w, http.StatusCreated, classCreated{
		Code: shown, TeacherToken: token,
		JoinURL: base + "/?classroom=" + url.QueryEscape(shown) + "&" + pin,
		// The token travels in the fragment: never sent to a server,
		// never in a log or a Referer.
		TeacherURL: base + "/teach?" + pin + "#class=" + url.QueryEscape(shown) + "&token=" + token,
	})
}

// baseURL is the scheme and host the client used.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || (s.proxies.viaProxy(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// teacherOnly runs h for the class the path names when the request
// carries its teacher token.
func (s *Server) teacherOnly(h func(http.ResponseWriter, *http.Request, store.Class)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			classFail(w, http.StatusUnauthorized, "unauthorized", "send the class's teacher token as Authorization: Bearer")
			return
		}
		c, err := s.cfg.Classes.Teacher(r.Context(), r.PathValue("code"), tok)
		if errors.Is(err, classroom.ErrNoClass) {
			// The same answer for an unknown class and a wrong token.
			classFail(w, http.StatusForbidden, "forbidden", "no class has that code, or the teacher token is not its")
			return
		}
		if err != nil {
			classFail(w, http.StatusInternalServerError, "internal", "the class could not be read")
			return
		}
		h(w, r, c)
	}
}

func (s *Server) getClass(w http.ResponseWriter, r *http.Request, c store.Class) {
	roster, err := s.cfg.Classes.Roster(r.Context(), c)
	if err != nil {
		classFail(w, http.StatusInternalServerError, "internal", "the class could not be read")
		return
	}
	writeClassJSON(w, http.StatusOK, roster)
}

func (s *Server) classCSV(w http.ResponseWriter, r *http.Request, c store.Class) {
	roster, err := s.cfg.Classes.Roster(r.Context(), c)
	if err != nil {
		classFail(w, http.StatusInternalServerError, "internal", "the class could not be read")
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="class-`+c.Code+`-results.csv"`)
	classroom.WriteCSV(w, roster)
}

func (s *Server) endClass(w http.ResponseWriter, r *http.Request, c store.Class) {
	if err := s.cfg.Classes.End(r.Context(), c); err != nil {
		classFail(w, http.StatusInternalServerError, "internal", "the class could not be ended")
		return
	}
	s.getClass(w, r, c)
}

func (s *Server) deleteClass(w http.ResponseWriter, r *http.Request, c store.Class) {
	if err := s.cfg.Classes.Delete(r.Context(), c); err != nil {
		classFail(w, http.StatusInternalServerError, "internal", "the class could not be deleted")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeLearner(w http.ResponseWriter, r *http.Request, c store.Class) {
	err := s.cfg.Classes.RemoveLearner(r.Context(), c, r.PathValue("id"))
	switch {
	case errors.Is(err, classroom.ErrNoLearner):
		classFail(w, http.StatusNotFound, "not_found", err.Error())
	case err != nil:
		classFail(w, http.StatusInternalServerError, "internal", "the learner could not be removed")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) messageClass(w http.ResponseWriter, r *http.Request, c store.Class) {
	var req struct {
		Text string `json:"text"`
	}
	if !readClassBody(w, r, &req) {
		return
	}
	n, err := s.cfg.Classes.Message(c, req.Text)
	if err != nil {
		classFail(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	writeClassJSON(w, http.StatusOK, map[string]int{"delivered": n})
}

func (s *Server) watchLearner(w http.ResponseWriter, r *http.Request, c store.Class) {
	var req struct {
		Learner string `json:"learner"`
	}
	if !readClassBody(w, r, &req) {
		return
	}
	tok, err := s.cfg.Classes.Watch(c, req.Learner)
	if err != nil {
		classFail(w, http.StatusNotFound, "not_found", "that learner has no console open on this server")
		return
	}
	writeClassJSON(w, http.StatusOK, map[string]string{"watch": tok, "url": "/watch/" + tok})
}

// showConsole shows the shared session a watch token names (the
// teacher's console) to every learner of the class.
func (s *Server) showConsole(w http.ResponseWriter, r *http.Request, c store.Class) {
	var req struct {
		Watch string `json:"watch"`
	}
	if !readClassBody(w, r, &req) {
		return
	}
	n, err := s.cfg.Classes.Show(c, req.Watch)
	switch {
	case errors.Is(err, classroom.ErrNotShared):
		classFail(w, http.StatusNotFound, "not_found", err.Error())
	case err != nil:
		classFail(w, http.StatusBadRequest, "bad_request", err.Error())
	default:
		writeClassJSON(w, http.StatusOK, protocol.ClassShown{Watch: req.Watch, URL: "/watch/" + req.Watch, Delivered: n})
	}
}

// unshowConsole stops showing the teacher's console; showing nothing, it
// does nothing.
func (s *Server) unshowConsole(w http.ResponseWriter, r *http.Request, c store.Class) {
	writeClassJSON(w, http.StatusOK, map[string]int{"delivered": s.cfg.Classes.Unshow(c)})
}

// classEvents streams the class as Server-Sent Events: a roster snapshot
// first, then a learner event for each learner that changed (removed
// ones as removed), and a class event when the class's state changes.
// No write deadline cuts the stream; a comment every 15 s keeps proxies
// from closing it.
func (s *Server) classEvents(w http.ResponseWriter, r *http.Request, c store.Class) {
	changed, cancel, err := s.cfg.Classes.Subscribe(c.Code)
	if err != nil {
		classFail(w, http.StatusTooManyRequests, "rate_limited", err.Error())
		return
	}
	defer cancel()
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) bool {
		data, _ := json.Marshal(v)
		rc.SetWriteDeadline(time.Now().Add(writeWait))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		rc.SetWriteDeadline(time.Time{})
		return rc.Flush() == nil
	}
	roster, err := s.cfg.Classes.Roster(r.Context(), c)
	if err != nil || !send("roster", roster) {
		return
	}
	sent := map[string]string{}
	for _, l := range roster.Learners {
		sent[l.ID] = learnerKey(l)
	}
	state := roster.State
	poll := time.NewTicker(classEvery)
	defer poll.Stop()
	lastWrite := time.Now()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-poll.C:
		}
		now, err := s.cfg.Classes.Roster(r.Context(), c)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, l := range now.Learners {
			seen[l.ID] = true
			if k := learnerKey(l); sent[l.ID] != k {
				if !send("learner", l) {
					return
				}
				sent[l.ID], lastWrite = k, time.Now()
			}
		}
		for id := range sent {
			if !seen[id] {
				if !send("removed", map[string]string{"id": id}) {
					return
				}
				delete(sent, id)
				lastWrite = time.Now()
			}
		}
		if now.State != state {
			if !send("class", map[string]any{"state": now.State, "summary": now.Summary}) {
				return
			}
			state, lastWrite = now.State, time.Now()
		}
		if time.Since(lastWrite) > 15*time.Second {
			rc.SetWriteDeadline(time.Now().Add(writeWait))
			if _, err := io.WriteString(w, ": still here\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			rc.SetWriteDeadline(time.Time{})
			lastWrite = time.Now()
		}
	}
}

// learnerKey is what makes a learner event worth sending: anything but
// the idle seconds, which the page counts itself.
func learnerKey(l classroom.LearnerView) string {
	l.IdleS = 0
	// l is a copy, its Consoles are not: the event sent next is l itself.
	l.Consoles = slices.Clone(l.Consoles)
	for i := range l.Consoles {
		l.Consoles[i].IdleS = 0
	}
	b, _ := json.Marshal(l)
	return string(b)
}
