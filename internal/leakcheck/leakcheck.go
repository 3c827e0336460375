// Package leakcheck fails a test binary whose goroutines outlive its tests:
// every goroutine a session starts must be joined, and this is the cheap
// check that they are.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// settleTime is how long goroutines that are already ending may take.
const settleTime = 5 * time.Second

// Main runs the tests, then exits non-zero when more goroutines are left
// than there were before them. Call it from TestMain.
func Main(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		if err := settled(before, settleTime); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// settled waits up to d for the goroutine count to fall back to before.
func settled(before int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return nil
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return fmt.Errorf("leaked %d goroutine(s):\n%s", n-before, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
