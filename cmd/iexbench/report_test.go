package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestTableSetsRuntimesSideBySide(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, r := range []*report{
		{Runtime: "runc", Prompt: &promptResult{Warm: dist{P50: 8, P95: 12, P99: 30}, Docker: dist{P50: 620}, DockerOverWarm: 77.5},
			Eval: &evalResult{IexBox: dist{P50: 1.7, P99: 4}}},
		{Runtime: "runsc", Prompt: &promptResult{Warm: dist{P50: 11, P95: 20, P99: 140}, Docker: dist{P50: 1900}, DockerOverWarm: 172},
			Errors: []string{"density: boom"}},
	} {
		p := filepath.Join(dir, r.Runtime+".json")
		if err := writeJSON(p, r); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	var out strings.Builder
	err := run(t.Context(), []string{"iexbench", "-table", strings.Join(paths, ","), "-markdown"}, func(string) string { return "" }, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"| figure | runtime |",
		"|---|",
		"| prompt warm p50/p95/p99 ms | runc | 8.0 / 12.0 / 30.0 | 620.0 / 0.0 / 0.0 | 78x faster | p50<=20 p99<=100 >=50x | yes |",
		"| prompt warm p50/p95/p99 ms | runsc | 11.0 / 20.0 / 140.0 |",
		"| eval 1+1 p50/p99 ms | runc |",
		"error (runsc): density: boom",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want it to start with %q", i, lines[i], w)
		}
	}
	if !strings.HasSuffix(lines[3], "| NO |") {
		t.Errorf("runsc's warm p99 of 140 ms is over its target: %q", lines[3])
	}
}
