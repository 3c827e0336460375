package server

import (
	"encoding/json"
	"net/http"
)

// exerciseInfo is the JSON of GET /exercises/<name>: what a page shows
// before any session exists. Tests and the reference solution stay on the
// server.
type exerciseInfo struct {
	Name    string `json:"name"`
	Starter string `json:"starter"`
	// Toolchain is the toolchain the exercise runs in, absent for any.
	Toolchain string `json:"toolchain,omitempty"`
}

// serveExercise answers an exercise's starter code. Lesson sites on other
// origins fetch it, like /embed.js: the answer may be read from anywhere.
func (s *Server) serveExercise(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/json")
	name := r.PathValue("name")
	starter, ok := s.adm.Exercises().Starter(name)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": "not_found", "message": "no exercise is called " + name})
		return
	}
	json.NewEncoder(w).Encode(exerciseInfo{Name: name, Starter: starter, Toolchain: s.adm.Exercises().Toolchain(name)})
}
