package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"iexbox/internal/protocol"
	"iexbox/internal/toolchain"
)

// errNoToolchain is a hello naming a toolchain the server does not have.
var errNoToolchain = errors.New("no such toolchain")

// toolchainOf is the toolchain a presenter's hello asks for: its own, else
// its exercise's, else the default. A toolchain the server does not have
// wraps errNoToolchain; one that contradicts the exercise's is a protocol
// error.
func (s *Server) toolchainOf(hello protocol.ClientMessage) (string, error) {
	name := hello.Toolchain
	if ex := s.adm.Exercises(); hello.Exercise != "" && ex != nil {
		if bound := ex.Toolchain(hello.Exercise); bound != "" {
			switch {
			case name == "":
				name = bound
			case name != bound:
				return "", fmt.Errorf("the exercise %q runs in the toolchain %q, not %q", hello.Exercise, bound, name)
			}
		}
	}
	if name == "" {
		name = toolchain.Default
	}
	if _, ok := s.adm.Toolchains().Get(name); !ok {
		return "", fmt.Errorf("%w: no toolchain is called %s", errNoToolchain, strconv.Quote(name))
	}
	return name, nil
}

// serveToolchains lists the toolchains a hello may name. Lesson sites on
// other origins read it too, like an exercise's starter code.
func (s *Server) serveToolchains(w http.ResponseWriter, _ *http.Request) {
	set := s.adm.Toolchains()
	list := []protocol.Toolchain{}
	for _, n := range set.Names() {
		tc, _ := set.Get(n)
		pkgs := map[string]string{}
		for _, p := range tc.Packages {
			pkgs[p] = tc.Versions.Packages[p]
		}
		list = append(list, protocol.Toolchain{Name: n, Description: tc.Description, Elixir: tc.Versions.Elixir,
			OTP: tc.Versions.OTP, Packages: pkgs})
	}
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	json.NewEncoder(w).Encode(list)
}
