package server

import (
	"strings"
	"testing"
	"testing/fstest"

	"iexbox/internal/client"
	"iexbox/internal/protocol"
	"iexbox/internal/toolchain"
)

// TestToolchains: GET /toolchains lists them, a hello's toolchain is the
// session's and ready says so, an unknown one is not_found before any
// sandbox starts, and a toolchain name over the bound is a protocol error.
func TestToolchains(t *testing.T) {
	set, err := toolchain.Load(fstest.MapFS{
		"parsing/toolchain.json": {Data: []byte(`{"debian": "forky", "packages": ["erlang-proper"], "description": "d"}`)},
	}, "img")
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, serverOpts{toolchains: set})

	list, err := client.Toolchains(t.Context(), nil, ts.url)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "default" || list[1].Name != "parsing" || list[1].Description != "d" ||
		len(list[1].Packages) != 1 {
		t.Errorf("GET /toolchains = %+v", list)
	}

	p := ts.connect(t)
	p.sendText(`{"type":"hello","cols":80,"rows":24,"toolchain":"parsing"}`)
	var r protocol.Ready
	p.event(protocol.TypeReady, &r)
	if r.Toolchain != "parsing" {
		t.Errorf("ready = %+v, want the toolchain parsing", r)
	}
	if _, d := ts.start(t, 80, 24); d.Toolchain != toolchain.Default {
		t.Errorf("a hello without toolchain: ready %+v", d)
	}

	unknown := ts.connect(t)
	unknown.sendText(`{"type":"hello","cols":80,"rows":24,"toolchain":"nothing"}`)
	unknown.expectError(protocol.CodeNotFound, protocol.CloseNotFound)
	long := ts.connect(t)
	long.sendText(`{"type":"hello","cols":80,"rows":24,"toolchain":"` + strings.Repeat("t", protocol.MaxToolchainName+1) + `"}`)
	long.expectError(protocol.CodeProtocol, protocol.CloseProtocol)
	if st := ts.pool.ByToolchain(); len(st) != 2 {
		t.Errorf("pools by toolchain: %+v", st)
	}
}
