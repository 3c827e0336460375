package client

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/leakcheck"
	"iexbox/internal/protocol"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// patience bounds every wait in these tests.
const patience = 10 * time.Second

// server is a fake iexbox.v1 server under httptest: each connection runs
// the script, which plays the server's side frame by frame.
type server struct {
	url      string // ws://127.0.0.1:port/ws
	requests chan *http.Request
}

// serve starts a server running script on every connection it upgrades;
// the cleanup closes it and joins every script.
func serve(t *testing.T, script func(ws *websocket.Conn)) *server {
	t.Helper()
	return serveWith(t, websocket.Upgrader{
		Subprotocols: []string{protocol.Subprotocol},
		CheckOrigin:  func(*http.Request) bool { return true },
	}, script)
}

func serveWith(t *testing.T, up websocket.Upgrader, script func(ws *websocket.Conn)) *server {
	t.Helper()
	s, ts := newServer(t, up, script)
	ts.Start()
	s.url = "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	return s
}

// serveTLS is serve on wss://, with the TLS configuration that trusts it.
func serveTLS(t *testing.T, script func(ws *websocket.Conn)) (*server, *tls.Config) {
	t.Helper()
	s, ts := newServer(t, websocket.Upgrader{Subprotocols: []string{protocol.Subprotocol}}, script)
	ts.StartTLS()
	s.url = "wss" + strings.TrimPrefix(ts.URL, "https") + "/ws"
	return s, ts.Client().Transport.(*http.Transport).TLSClientConfig
}

// newServer makes the server, not started yet.
func newServer(t *testing.T, up websocket.Upgrader, script func(ws *websocket.Conn)) (*server, *httptest.Server) {
	s := &server{requests: make(chan *http.Request, 10)}
	var wg sync.WaitGroup
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.requests <- r:
		default:
		}
		if !websocket.IsWebSocketUpgrade(r) {
			http.Error(w, "not a WebSocket", http.StatusBadRequest)
			return
		}
		// Counted before the upgrade: httptest's Close stops waiting for
		// a request once it is hijacked.
		wg.Add(1)
		defer wg.Done()
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		script(ws)
	}))
	t.Cleanup(func() {
		ts.Close()
		wg.Wait()
	})
	return s, ts
}

// dial dials s and drops the connection at cleanup.
func dial(t *testing.T, s *server, opts Options) *Conn {
	t.Helper()
	c, _, err := Dial(t.Context(), s.url, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Drop() })
	return c
}

// frame is one frame the fake server read.
type frame struct {
	typ  int
	data []byte
}

// record reads every frame into frames until the connection ends.
func record(ws *websocket.Conn, frames chan<- frame) {
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			close(frames)
			return
		}
		frames <- frame{typ, data}
	}
}

// next returns the next frame the server read, failing the test when none
// comes.
func next(t *testing.T, frames <-chan frame) frame {
	t.Helper()
	select {
	case f, ok := <-frames:
		if !ok {
			t.Fatal("the connection ended")
		}
		return f
	case <-time.After(patience):
		t.Fatal("no frame")
	}
	return frame{}
}

// send writes text frames then binary ones as the server would.
func send(ws *websocket.Conn, texts ...string) {
	for _, s := range texts {
		ws.WriteMessage(websocket.TextMessage, []byte(s))
	}
}
