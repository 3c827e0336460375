package main

import (
	"strings"
	"testing"
)

// TestToolchainVerdicts: a toolchain's warm prompt is held to 1.1 times
// the default's; the default itself only reports.
func TestToolchainVerdicts(t *testing.T) {
	r := &report{Toolchains: []*toolchainResult{
		{Name: "default", Warm: dist{P50: 20}},
		{Name: "parsing", Warm: dist{P50: 21}, WarmOverDefault: 1.05},
		{Name: "slow", Warm: dist{P50: 30}, WarmOverDefault: 1.5},
	}}
	got := map[string]string{}
	toolchainRows(r, func(figure, _, _, _, _, met string) {
		if strings.Contains(figure, "warm prompt") {
			got[strings.Fields(figure)[1]] = met
		}
	})
	want := map[string]string{"default": "-", "parsing": "yes", "slow": "NO"}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: verdict %q, want %q", name, got[name], w)
		}
	}
}
