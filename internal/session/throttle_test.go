package session

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestInputThrottle: with -input-rate 256k and -input-burst 1m, a paste of
// a megabyte reaches the sandbox at once; 3 MiB sent as fast as the
// session reads them reach it after exactly (3 MiB - 1 MiB) / 256 KiB/s,
// 8 s, and the session has read the last frame a frame's worth earlier
// (it reads a frame, then waits for its tokens). Once idle long enough to
// refill, a megabyte passes at once again.
func TestInputThrottle(t *testing.T) {
	const (
		rate  = 256 << 10
		burst = 1 << 20
		frame = maxInputFrame // how a client splits a paste
	)
	seconds := func(bytes int) time.Duration { return time.Duration(bytes) * time.Second / rate }
	synctest.Test(t, func(t *testing.T) {
		sb, c := newFakeSandbox(), newFakeClient()
		startRun(t, t.Context(), sb, c, Limits{InputRate: rate, InputBurst: burst})
		line := strings.Repeat("a", 63) + "\r"
		// send sends n bytes in frames and returns when the session has
		// read the last, then when the sandbox has had them all.
		send := func(n int) (read, written time.Duration) {
			t.Helper()
			start, before := time.Now(), len(sb.gotInput())
			for i := 0; i < n; i += frame {
				c.input(strings.Repeat(line, frame/len(line)))
			}
			read = time.Since(start)
			for len(sb.gotInput()) < before+n {
				time.Sleep(time.Millisecond)
			}
			return read, time.Since(start)
		}

		if read, written := send(burst); read != 0 || written > time.Millisecond {
			t.Errorf("a 1 MiB paste was read after %v and written after %v, want both at once: it is the burst", read, written)
		}
		time.Sleep(seconds(burst)) // the bucket refills

		const n = 3 << 20
		read, written := send(n)
		if want := seconds(n - burst); written < want || written > want+time.Millisecond {
			t.Errorf("3 MiB reached the sandbox after %v, want %v: 1 MiB at once, then 256 KiB a second", written, want)
		}
		if want := seconds(n - burst - frame); read != want {
			t.Errorf("the session read the last frame after %v, want %v", read, want)
		}

		time.Sleep(seconds(burst))
		if read, written := send(burst); read != 0 || written > time.Millisecond {
			t.Errorf("after 4 s idle, a 1 MiB paste was read after %v and written after %v, want both at once", read, written)
		}
	})
}
