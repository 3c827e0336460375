//go:build recordingcost

// A measure, not a check (CI fails on a skipped test, so it is built only
// when asked): go test -tags recordingcost -count=1 -v -run TestRecordingCost ./e2e

package e2e

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"iexbox/internal/client"
)

// serverCPU is the server process's user and system time so far.
func serverCPU(t *testing.T, s *testServer) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
}

// echoTimes types keys one at a time at the prompt and times each echo.
func echoTimes(t *testing.T, c *wsClient, keys int) []time.Duration {
	t.Helper()
	var out []time.Duration
	for i := range keys {
		ch := string(rune('a' + i%26))
		c.mu.Lock()
		before := len(c.out)
		c.mu.Unlock()
		start := time.Now()
		c.send(t, ch)
		if !c.waitFor(evalWait, func() bool { return len(c.out) > before }) {
			t.Fatal("no echo")
		}
		out = append(out, time.Since(start))
		c.send(t, "\x7f") // backspace
		c.waitFor(evalWait, func() bool { return len(c.out) > before+1 })
		time.Sleep(10 * time.Millisecond)
	}
	return out
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

// TestRecordingCost measures what recording costs the presenter (echo
// latency) and the server (CPU for a flood of output), in alternating
// rounds on one server, recorded and not.
func TestRecordingCost(t *testing.T) {
	s := startServer(t, "-pool", "0", "-record-max-bytes", "1g")
	open := func(record bool) *wsClient {
		c := s.connect(t)
		c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Record: record})
		c.waitEvent(t, "ready", readyWait)
		c.waitPrompt(t, readyWait)
		return c
	}
	plain, rec := open(false), open(true)
	echo := map[bool][]time.Duration{}
	cpu := map[bool]time.Duration{}
	const rounds, keys = 6, 100
	// 1 MiB in 16 KiB writes (one huge IO.write costs iex far more memory).
	flood := `for _ <- 1..64, do: IO.write(String.duplicate("0123456789abcdef", 1024))`
	for range rounds {
		for _, record := range []bool{false, true} {
			c := plain
			if record {
				c = rec
			}
			echo[record] = append(echo[record], echoTimes(t, c, keys)...)
			c.mu.Lock()
			had := len(c.out)
			c.mu.Unlock()
			before := serverCPU(t, s)
			c.send(t, flood+"\r")
			if !c.waitFor(60*time.Second, func() bool { return len(c.out) >= had+1<<20 }) {
				t.Fatal("the flood did not arrive")
			}
			cpu[record] += serverCPU(t, s) - before
			c.waitFor(evalWait, func() bool { return prompt.Match(c.out[len(c.out)-min(len(c.out), 16):]) })
		}
	}
	for _, record := range []bool{false, true} {
		t.Logf("record=%v: echo p50 %v p95 %v (%d keys); server CPU for %d MiB of output %v",
			record, pct(echo[record], 0.5).Round(10*time.Microsecond), pct(echo[record], 0.95).Round(10*time.Microsecond),
			len(echo[record]), rounds, cpu[record])
	}
}
