package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/protocol"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name, data, typ string
		err             bool
		check           func(Event) bool
	}{
		{"ready", `{"type":"ready","session":"s1","idle_timeout":300,"resume":"r"}`, "ready", false,
			func(e Event) bool {
				return e.Ready != nil && e.Ready.Session == "s1" && e.Ready.IdleTimeout == 300 && e.Ready.Resume == "r"
			}},
		{"exit with a code", `{"type":"exit","reason":"exited","code":3}`, "exit", false,
			func(e Event) bool { return e.Exit.Reason == "exited" && *e.Exit.Code == 3 }},
		{"exit with none", `{"type":"exit","reason":"shutdown","code":null}`, "exit", false,
			func(e Event) bool { return e.Exit.Code == nil }},
		{"error", `{"type":"error","code":"capacity","message":"full","retry_after":5}`, "error", false,
			func(e Event) bool { return e.Error.Code == "capacity" && e.Error.RetryAfter == 5 }},
		{"queued", `{"type":"queued","position":2,"eta":7}`, "queued", false,
			func(e Event) bool { return e.Queued.Position == 2 && e.Queued.ETA == 7 }},
		{"checked", `{"type":"checked","id":"1","status":"pass","tests":[{"name":"a","status":"pass","task_id":null}]}`, "checked", false,
			func(e Event) bool { return e.Checked.Status == "pass" && len(e.Checked.Tests) == 1 }},
		{"an unknown type is kept, not an error", `{"type":"future","x":1}`, "future", false,
			func(e Event) bool {
				return e.Queued == nil && e.Ready == nil && e.Warning == nil && e.Exit == nil && e.Error == nil &&
					e.Shared == nil && e.Viewers == nil && e.Size == nil && e.Checked == nil
			}},
		{"no type", `{"code":1}`, "", true, nil},
		{"type not a string", `{"type":5}`, "", true, nil},
		{"not JSON", `hello`, "", true, nil},
		{"a known type that does not decode", `{"type":"ready","idle_timeout":"300"}`, "ready", true,
			func(e Event) bool { return e.Ready == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := decode([]byte(tt.data), time.Now(), 0)
			if e.Type != tt.typ || (e.Err != nil) != tt.err || string(e.Raw) != tt.data {
				t.Fatalf("decode %s = type %q, err %v; want type %q, error %v", tt.data, e.Type, e.Err, tt.typ, tt.err)
			}
			if tt.check != nil && !tt.check(e) {
				t.Errorf("decode %s = %+v", tt.data, e)
			}
		})
	}
}

// TestEventsAndOutputInOrder: a session's frames as a client keeps them,
// up to the close.
func TestEventsAndOutputInOrder(t *testing.T) {
	s := serve(t, func(ws *websocket.Conn) {
		ws.ReadMessage() // the hello
		send(ws, `{"type":"queued","position":0}`, `{"type":"ready","session":"s1"}`)
		ws.WriteMessage(websocket.BinaryMessage, []byte("iex(1)> "))
		send(ws, `{"type":"future"}`, `nonsense`)
		ws.WriteMessage(websocket.BinaryMessage, []byte("bye"))
		send(ws, `{"type":"exit","reason":"exited","code":0}`)
		ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(protocol.CloseExited, "exited"))
		ws.ReadMessage() // the close's answer
	})
	c := dial(t, s, Options{Ack: AckManual})
	if err := c.Hello(Hello{Cols: 80, Rows: 24}); err != nil {
		t.Fatal(err)
	}
	ready, err := c.Ready(t.Context())
	if err != nil || ready.Ready.Session != "s1" || ready.OutputBefore != 0 {
		t.Fatalf("Ready = %+v, %v", ready, err)
	}
	if err := c.WaitOutput(t.Context(), "iex(1)> "); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for {
		e, err := c.Next(t.Context())
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("Next after the last event: %v, want ErrClosed", err)
			}
			break
		}
		rest = append(rest, fmt.Sprintf("%s@%d:%t", e.Type, e.OutputBefore, e.Err != nil))
	}
	if want := []string{"future@8:false", "@8:true", "exit@11:false"}; !slices.Equal(rest, want) {
		t.Errorf("events after ready %v, want %v", rest, want)
	}
	if evs := c.Events(); len(evs) != 5 || evs[0].Queued == nil || evs[0].Queued.Position != 0 {
		t.Errorf("Events kept %d, the first %+v: want all 5, queued first", len(evs), evs[0])
	}
	st, err := c.WaitClose(t.Context())
	if err != nil || st.Code != protocol.CloseExited || st.Text != "exited" {
		t.Errorf("WaitClose = %+v, %v; want 1000 exited", st, err)
	}
	if out := string(c.Output()); out != "iex(1)> bye" {
		t.Errorf("Output = %q", out)
	}
	if frames, n := c.Received(); frames != 2 || n != 11 {
		t.Errorf("Received = %d frames, %d bytes; want 2, 11", frames, n)
	}
}

func TestReady(t *testing.T) {
	tests := []struct {
		name    string
		frames  []string
		refused string // the error code, for a refusal
		closed  bool
	}{
		{"after waiting in line", []string{`{"type":"queued","position":1}`, `{"type":"queued","position":0}`, `{"type":"ready"}`}, "", false},
		{"refused", []string{`{"type":"queued","position":3}`, `{"type":"error","code":"capacity","retry_after":9}`}, "capacity", false},
		{"closed first", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := serve(t, func(ws *websocket.Conn) { send(ws, tt.frames...) })
			c := dial(t, s, Options{})
			_, err := c.Ready(t.Context())
			var r *RefusedError
			switch {
			case tt.refused != "":
				if !errors.As(err, &r) || r.Event.Code != tt.refused || r.Event.RetryAfter != 9 || !IsRefused(err) {
					t.Errorf("Ready = %v, want a refusal %q", err, tt.refused)
				}
			case tt.closed:
				if !errors.Is(err, ErrClosed) || IsRefused(err) {
					t.Errorf("Ready = %v, want ErrClosed", err)
				}
			case err != nil:
				t.Errorf("Ready = %v", err)
			}
		})
	}
}

func TestWaitsEndWithTheirContext(t *testing.T) {
	s := serve(t, func(ws *websocket.Conn) { ws.ReadMessage() })
	c := dial(t, s, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next = %v", err)
	}
	if err := c.WaitOutput(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitOutput = %v", err)
	}
	if _, err := c.WaitClose(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitClose = %v", err)
	}
}

// TestWaitOutputFunc: a wait on a condition of the whole output sees
// each frame as it comes, and ends with the connection.
func TestWaitOutputFunc(t *testing.T) {
	s := serve(t, func(ws *websocket.Conn) {
		for _, line := range []string{"25 80\r\n", "partial", " line\r\n"} {
			ws.WriteMessage(websocket.BinaryMessage, []byte(line))
		}
		ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(protocol.CloseExited, ""))
		ws.ReadMessage()
	})
	c := dial(t, s, Options{Ack: AckManual})
	lines := func(n int) func([]byte) bool {
		return func(out []byte) bool { return bytes.Count(out, []byte("\r\n")) == n }
	}
	if err := c.WaitOutputFunc(t.Context(), lines(2)); err != nil {
		t.Fatalf("WaitOutputFunc for two lines: %v", err)
	}
	if err := c.WaitOutputFunc(t.Context(), lines(3)); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitOutputFunc for a line that never comes = %v, want ErrClosed", err)
	}
}

// TestCallbacks: OnOutput takes the output, OnEvent and OnClose see the
// rest, in the order it came.
func TestCallbacks(t *testing.T) {
	s := serve(t, func(ws *websocket.Conn) {
		send(ws, `{"type":"ready"}`)
		ws.WriteMessage(websocket.BinaryMessage, []byte("out"))
		send(ws, `{"type":"exit","reason":"idle_timeout"}`)
		ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(protocol.CloseIdleTimeout, ""))
		ws.ReadMessage()
	})
	var (
		mu  sync.Mutex
		log []string
	)
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, s)
	}
	c := dial(t, s, Options{
		OnOutput: func(p []byte) { note("output " + string(p)) },
		OnEvent:  func(e Event) { note("event " + e.Type) },
		OnClose:  func(st CloseStatus) { note(fmt.Sprint("close ", st.Code)) },
	})
	<-c.Done()
	if want := []string{"event ready", "output out", "event exit", "close 4000"}; !slices.Equal(log, want) {
		t.Errorf("callbacks %q, want %q", log, want)
	}
	if c.Output() != nil || c.WaitOutput(t.Context(), "out") == nil ||
		c.WaitOutputFunc(t.Context(), func([]byte) bool { return true }) == nil {
		t.Error("output handed to OnOutput was kept too")
	}
}

// TestCloseAndDrop: Close says goodbye as a tab does, Drop as a network
// failure; both are idempotent and join the reader.
func TestCloseAndDrop(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(*Conn) error
		want int
	}{
		{"Close", (*Conn).Close, websocket.CloseGoingAway},
		{"Drop", (*Conn).Drop, CloseAbnormal},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan int, 1)
			s := serve(t, func(ws *websocket.Conn) {
				_, _, err := ws.ReadMessage()
				code := CloseAbnormal
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					code = ce.Code
				}
				got <- code
			})
			c := dial(t, s, Options{Ack: AckBatched})
			tt.end(c)
			if code := <-got; code != tt.want {
				t.Errorf("the server saw close %d, want %d", code, tt.want)
			}
			select {
			case <-c.Done():
			default:
				t.Error("the reader still runs")
			}
			c.Close()
			c.Drop()
			if err := c.Input([]byte("x")); err == nil {
				t.Error("input after the end was sent")
			}
		})
	}
}

// TestStalled: a client that never reads sees nothing, and still ends.
func TestStalled(t *testing.T) {
	s := serve(t, func(ws *websocket.Conn) {
		send(ws, `{"type":"ready"}`)
		ws.WriteMessage(websocket.BinaryMessage, bytes.Repeat([]byte("x"), 1000))
		ws.ReadMessage()
	})
	c := dial(t, s, Options{Stalled: true})
	if err := c.Hello(Hello{Cols: 1, Rows: 1}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if frames, _ := c.Received(); frames != 0 || len(c.Events()) != 0 {
		t.Errorf("a stalled client read %d frames and %d events", frames, len(c.Events()))
	}
	c.Drop()
	if _, ok := c.CloseStatus(); !ok {
		t.Error("no close status after Drop")
	}
}

func TestSubprotocols(t *testing.T) {
	up := websocket.Upgrader{Subprotocols: []string{"other"}}
	s := serveWith(t, up, func(ws *websocket.Conn) { ws.ReadMessage() })
	if c, _, err := Dial(t.Context(), s.url, Options{}); err == nil || !strings.Contains(err.Error(), "subprotocol") {
		if c != nil {
			c.Drop()
		}
		t.Errorf("Dial to a server not speaking iexbox.v1 = %v, want an error", err)
	}
	<-s.requests
	c := dial(t, s, Options{Subprotocols: []string{"other"}})
	if c.Subprotocol() != "other" {
		t.Errorf("Subprotocol = %q", c.Subprotocol())
	}
	<-s.requests
	c = dial(t, s, Options{Subprotocols: []string{}})
	if r := <-s.requests; r.Header.Get("Sec-WebSocket-Protocol") != "" || c.Subprotocol() != "" {
		t.Errorf("offered %q with an empty Subprotocols", r.Header.Get("Sec-WebSocket-Protocol"))
	}
}
