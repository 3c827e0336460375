package e2e

import (
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWaitingFlood: clients waiting in line that send a flood of empty
// frames (no byte of input, but a message each) are closed with protocol
// 4004 once past the bound on queued messages, and the server's memory
// stays where it was.
func TestWaitingFlood(t *testing.T) {
	requireRuntime(t, "runc")
	s := startServer(t, "-runtime", "runc", "-max-sessions", "1", "-pool", "0")
	first, _ := s.openSession(t, defaultCols, defaultRows)

	const flooders = 3
	clients := make([]*wsClient, flooders)
	for i := range clients {
		clients[i] = s.connect(t)
		clients[i].hello(t, defaultCols, defaultRows)
		clients[i].waitEvent(t, "queued", eventWait)
	}
	before := s.rss(t)
	var wg sync.WaitGroup
	sent := make([]int, flooders)
	for i, c := range clients {
		wg.Go(func() {
			stop := time.Now().Add(3 * time.Second)
			for time.Now().Before(stop) {
				if err := c.conn.WriteRaw(websocket.BinaryMessage, nil); err != nil {
					return // closed by the server
				}
				sent[i]++
			}
		})
	}
	wg.Wait()
	after := s.rss(t)
	t.Logf("server resident memory %d KiB before the flood, %d KiB after; frames sent %v", before>>10, after>>10, sent)
	if grew := after - before; grew > 16<<20 {
		t.Errorf("server memory grew by %d KiB under a flood of empty frames, want at most 16 MiB", grew>>10)
	}
	for i, c := range clients {
		e := c.waitEvent(t, "error", eventWait)
		if e.errorCode() != "protocol" {
			t.Errorf("flooder %d (sent %d frames): error %s, want protocol", i, sent[i], e.raw)
		}
		c.requireClose(t, closeProtocol, eventWait)
	}
	s.waitStatus(t, "the line empty", eventWait, func(st serverStatus) bool { return st.Pool.Queued == 0 })
	if got := first.eval(t, "1+1"); got != "2" {
		t.Errorf("the running session: 1+1 printed %q", got)
	}
	first.closeNormally()
}
