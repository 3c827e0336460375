package main

import (
	"strings"
	"testing"
	"time"
)

// TestWaveVerdicts: a client that got no prompt, whatever the cause,
// makes the wave's and the arrivals' verdict NO.
func TestWaveVerdicts(t *testing.T) {
	verdictOf := func(r *report, figure string) string {
		t.Helper()
		got := ""
		waveRows(r, func(name, _, _, _, _, met string) {
			if strings.Contains(name, figure) {
				got = met
			}
		})
		return got
	}
	for _, tt := range []struct {
		name     string
		failed   int
		refused  int
		wantNone string
	}{
		{"every client served", 0, 0, "yes"},
		{"a dial error or a timeout", 1, 0, "NO"},
		{"a refusal", 1, 1, "NO"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &report{
				Waves:    []*waveResult{{Clients: 40, Failed: tt.failed, Refused: tt.refused}},
				Arrivals: &arrivalsResult{Sessions: 10, Failed: tt.failed, Refused: tt.refused},
			}
			if got := verdictOf(r, "wave 1: 40 at once, warm at start 0, no prompt"); got != tt.wantNone {
				t.Errorf("wave: verdict %q, want %q", got, tt.wantNone)
			}
			if got := verdictOf(r, "arrivals 0.0/s from 0 addresses for 0 s, held 0 s, no prompt"); got != tt.wantNone {
				t.Errorf("arrivals: verdict %q, want %q", got, tt.wantNone)
			}
		})
	}
}

// TestLineFigures: a later arrival served first is an overtake only when
// its hello left at least arrivalMargin later; the spread of hellos
// released together is first to last.
func TestLineFigures(t *testing.T) {
	t0 := time.Unix(1000, 0)
	session := func(hello, ready time.Duration) *wsSession {
		return &wsSession{helloAt: t0.Add(hello), readyAt: t0.Add(ready),
			queued: []queuedAt{{at: t0.Add(hello + 100*time.Millisecond)}}}
	}
	clients := []*waveClient{
		{i: 0, s: session(0, 900*time.Millisecond)},
		{i: 1, s: session(20*time.Microsecond, 800*time.Millisecond)}, // within the margin: not an overtake
		{i: 2, s: session(5*time.Millisecond, 700*time.Millisecond)},  // overtakes both
		{i: 3, s: session(6*time.Millisecond, 1000*time.Millisecond)},
	}
	waited, overtaken, byMs, _ := lineFigures(clients)
	if waited != 4 || overtaken != 2 || byMs != 200 {
		t.Errorf("waited %d, overtaken %d by %.0f ms; want 4, 2 (clients 0 and 1, by client 2) by 200 ms", waited, overtaken, byMs)
	}
	first, spread := helloSpread(clients)
	if !first.Equal(t0) || spread != 6*time.Millisecond {
		t.Errorf("hellos from %v spread %v, want from %v over 6ms", first, spread, t0)
	}
}
