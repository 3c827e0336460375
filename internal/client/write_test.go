package client

import (
	"bytes"
	"testing"

	"github.com/gorilla/websocket"

	"iexbox/internal/protocol"
)

// TestMessagesDecodeAsTheServerDoes: what the client sends is what the
// server's own decoder reads.
func TestMessagesDecodeAsTheServerDoes(t *testing.T) {
	frames := make(chan frame, 20)
	s := serve(t, func(ws *websocket.Conn) { record(ws, frames) })
	c := dial(t, s, Options{})
	tests := []struct {
		name string
		send func() error
		want protocol.ClientMessage
	}{
		{"hello", func() error { return c.Hello(Hello{Cols: 80, Rows: 24}) },
			protocol.ClientMessage{Type: protocol.TypeHello, Cols: 80, Rows: 24}},
		{"hello with everything", func() error {
			return c.Hello(Hello{Cols: 100, Rows: 30, Token: "tok", Resumable: true, Exercise: "enum/double"})
		}, protocol.ClientMessage{Type: protocol.TypeHello, Cols: 100, Rows: 30, Token: "tok", Resumable: true, Exercise: "enum/double"}},
		{"resume", func() error { return c.Hello(Hello{Cols: 80, Rows: 24, Resume: "r\"1"}) },
			protocol.ClientMessage{Type: protocol.TypeHello, Cols: 80, Rows: 24, Resume: "r\"1"}},
		{"watch", func() error { return c.Hello(Hello{Cols: 80, Rows: 24, Watch: "w1"}) },
			protocol.ClientMessage{Type: protocol.TypeHello, Cols: 80, Rows: 24, Mode: protocol.ModeViewer, Watch: "w1"}},
		{"resize", func() error { return c.Resize(123, 45) },
			protocol.ClientMessage{Type: protocol.TypeResize, Cols: 123, Rows: 45}},
		{"ack", func() error { return c.Ack(1 << 40) },
			protocol.ClientMessage{Type: protocol.TypeAck, Bytes: 1 << 40}},
		{"check", func() error { return c.Check("7", "defmodule X do\n  def x, do: \"<&>\"\nend") },
			protocol.ClientMessage{Type: protocol.TypeCheck, CheckID: "7", Code: "defmodule X do\n  def x, do: \"<&>\"\nend"}},
		{"check without id", func() error { return c.Check("", "x") },
			protocol.ClientMessage{Type: protocol.TypeCheck, Code: "x"}},
		{"share", c.Share, protocol.ClientMessage{Type: protocol.TypeShare}},
		{"unshare", c.Unshare, protocol.ClientMessage{Type: protocol.TypeUnshare}},
		{"end", c.End, protocol.ClientMessage{Type: protocol.TypeEnd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			f := next(t, frames)
			if f.typ != websocket.TextMessage {
				t.Fatalf("frame type %d, want text", f.typ)
			}
			got, err := protocol.DecodeClient(f.data)
			if err != nil || got != tt.want {
				t.Errorf("%s decodes as %+v, %v; want %+v", f.data, got, err, tt.want)
			}
		})
	}
}

func TestInputIsOneBinaryFrame(t *testing.T) {
	frames := make(chan frame, 2)
	s := serve(t, func(ws *websocket.Conn) { record(ws, frames) })
	c := dial(t, s, Options{})
	input := bytes.Repeat([]byte("1+1\r"), 10<<10) // 40 KiB, never split
	if err := c.Input(input); err != nil {
		t.Fatal(err)
	}
	if f := next(t, frames); f.typ != websocket.BinaryMessage || !bytes.Equal(f.data, input) {
		t.Errorf("frame %d of %d bytes, want the input in one binary frame", f.typ, len(f.data))
	}
}

// TestWriteRaw: frames no well-behaved client sends arrive as written.
func TestWriteRaw(t *testing.T) {
	frames := make(chan frame, 4)
	pongs := make(chan string, 1)
	s := serve(t, func(ws *websocket.Conn) {
		ws.SetPongHandler(func(data string) error { pongs <- data; return nil })
		record(ws, frames)
	})
	c := dial(t, s, Options{})
	for _, f := range []frame{
		{websocket.TextMessage, []byte(`{"type":"hello","cols":"80"`)},
		{websocket.TextMessage, []byte(`not json`)},
		{websocket.BinaryMessage, nil},
	} {
		if err := c.WriteRaw(f.typ, f.data); err != nil {
			t.Fatal(err)
		}
		if got := next(t, frames); got.typ != f.typ || !bytes.Equal(got.data, f.data) {
			t.Errorf("server read %d %q, want %d %q", got.typ, got.data, f.typ, f.data)
		}
	}
	if err := c.WriteRaw(websocket.PongMessage, []byte("unasked")); err != nil {
		t.Fatal(err)
	}
	if got := <-pongs; got != "unasked" {
		t.Errorf("pong %q", got)
	}
}
