package client

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/protocol"
)

// TestDialOptions: what Options says reaches the server.
func TestDialOptions(t *testing.T) {
	s := serve(t, func(ws *websocket.Conn) { ws.ReadMessage() })
	c := dial(t, s, Options{
		Header:    http.Header{"Origin": {"http://lessons.example"}},
		Instance:  "web1-8080",
		LocalAddr: net.ParseIP("127.0.0.2"),
	})
	r := <-s.requests
	if got := r.Header.Get("Origin"); got != "http://lessons.example" {
		t.Errorf("Origin %q", got)
	}
	if got := r.URL.Query().Get("instance"); got != "web1-8080" || r.URL.Path != "/ws" {
		t.Errorf("URL %s, want /ws?instance=web1-8080", r.URL)
	}
	if host, _, _ := net.SplitHostPort(r.RemoteAddr); host != "127.0.0.2" {
		t.Errorf("came from %s, want 127.0.0.2", r.RemoteAddr)
	}
	if c.Subprotocol() != protocol.Subprotocol {
		t.Errorf("Subprotocol %q", c.Subprotocol())
	}

	// NetDialContext wins over the URL's host.
	addr := strings.TrimPrefix(strings.TrimSuffix(s.url, "/ws"), "ws://")
	dial(t, s, Options{NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}})
	if r := <-s.requests; r.Host != addr {
		t.Errorf("Host %q", r.Host)
	}
}

// TestTLS: wss:// with the caller's trusted roots, as through a proxy
// that terminates TLS.
func TestTLS(t *testing.T) {
	s, config := serveTLS(t, func(ws *websocket.Conn) { send(ws, `{"type":"ready"}`) })
	if c, _, err := Dial(t.Context(), s.url, Options{}); err == nil {
		c.Drop()
		t.Error("Dial trusted a certificate outside the system's roots")
	}
	c := dial(t, s, Options{TLSClientConfig: config})
	if _, err := c.Ready(t.Context()); err != nil {
		t.Errorf("Ready over TLS: %v", err)
	}
}

// TestRefusedHandshake: the response of a refused upgrade is returned,
// body and all.
func TestRefusedHandshake(t *testing.T) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return false }}
	s := serveWith(t, up, func(*websocket.Conn) { t.Error("upgraded") })
	c, resp, err := Dial(t.Context(), s.url, Options{Header: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil {
		c.Drop()
		t.Fatal("Dial succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), "403") {
		t.Fatalf("Dial = %v, %v; want the 403 response", resp, err)
	}
	if body, _ := io.ReadAll(resp.Body); !strings.Contains(string(body), "Forbidden") {
		t.Errorf("body %q", body)
	}
}

// TestAcks: each policy acks what arrived, when it says.
func TestAcks(t *testing.T) {
	sizes := []int{10, 10, 10, 40 << 10}
	total := 30 + 40<<10
	tests := []struct {
		name   string
		policy AckPolicy
		check  func(t *testing.T, acks []int64)
	}{
		{"frames", AckFrames, func(t *testing.T, acks []int64) {
			if len(acks) != len(sizes) || acks[3] != 40<<10 {
				t.Errorf("acks %v, want one per frame %v", acks, sizes)
			}
		}},
		{"batched", AckBatched, func(t *testing.T, acks []int64) {
			if last := acks[len(acks)-1]; last < ackBytes && len(acks) == len(sizes) {
				t.Errorf("acks %v: the 40 KiB frame was not acked as a batch", acks)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acks := make(chan []int64, 1)
			s := serve(t, func(ws *websocket.Conn) {
				for _, n := range sizes {
					ws.WriteMessage(websocket.BinaryMessage, bytes.Repeat([]byte("x"), n))
				}
				acks <- readAcks(ws, int64(total))
			})
			dial(t, s, Options{Ack: tt.policy, OnOutput: func([]byte) {}})
			got := <-acks
			var sum int64
			for _, n := range got {
				sum += n
			}
			if sum != int64(total) {
				t.Fatalf("acked %d bytes (%v), want %d", sum, got, total)
			}
			tt.check(t, got)
		})
	}
}

func TestAckManual(t *testing.T) {
	acks := make(chan []int64, 1)
	s := serve(t, func(ws *websocket.Conn) {
		ws.WriteMessage(websocket.BinaryMessage, []byte("12345"))
		acks <- readAcks(ws, 3)
	})
	c := dial(t, s, Options{Ack: AckManual})
	if err := c.WaitOutput(t.Context(), "12345"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * ackEvery)
	c.Ack(3)
	if got := <-acks; len(got) != 1 || got[0] != 3 {
		t.Errorf("acks %v, want only the caller's 3", got)
	}
}

// readAcks reads acks until they add up to total, or patience runs out.
func readAcks(ws *websocket.Conn, total int64) []int64 {
	var acks []int64
	var sum int64
	ws.SetReadDeadline(time.Now().Add(patience))
	for sum < total {
		_, data, err := ws.ReadMessage()
		if err != nil {
			break
		}
		m, err := protocol.DecodeClient(data)
		if err != nil || m.Type != protocol.TypeAck {
			continue
		}
		acks = append(acks, m.Bytes)
		sum += m.Bytes
	}
	return acks
}
