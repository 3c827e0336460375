package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Wire constants of iexbox.v1, written out from docs/protocol.md: the
// benchmark speaks the published protocol, not the server's package.
const subprotocol = "iexbox.v1"

// Acking as the page does: after output is consumed, batched every ackBytes
// or ackEvery, whichever comes first.
const (
	ackBytes = 32 << 10
	ackEvery = 20 * time.Millisecond
)

// event is one JSON message from the server.
type event struct {
	Type       string          `json:"type"`
	Session    string          `json:"session"`
	Instance   string          `json:"instance"`
	Runtime    string          `json:"runtime"`
	Reason     string          `json:"reason"`
	Code       json.RawMessage `json:"code"`
	Message    string          `json:"message"`
	RetryAfter int             `json:"retry_after"`
	Position   int             `json:"position"` // queued
	ETA        int             `json:"eta"`      // queued
}

// queuedAt is one queued event as a waiting client heard it.
type queuedAt struct {
	at       time.Time
	position int
}

// wsSession is one iexbox.v1 session as a browser runs it: it reads every
// frame, feeds terminal output to its terminal and acks it once consumed.
// One goroutine reads; writes are serialised by wmu.
type wsSession struct {
	*terminal
	conn  *websocket.Conn
	ready event
	// readyAfter is the time from the start of the dial to the ready
	// event, set by whoever timed the dial.
	readyAfter time.Duration
	// helloAt, queued and readyAt tell how the session waited in line.
	helloAt time.Time
	queued  []queuedAt
	readyAt time.Time
	reading bool // read runs: close waits for it

	frames atomic.Int64 // binary frames received

	wmu      sync.Mutex
	unacked  int64       // guarded by wmu
	ackTimer *time.Timer // guarded by wmu; pending small ack
	closing  bool        // guarded by wmu
	exit     chan event
	checked  chan []byte // checked events, as received
	// helloFields, when set, are the whole hello (cols and rows among
	// them) instead of the size alone.
	helloFields map[string]any
	readDone    chan struct{}
	closed      sync.Once
}

// dialer never uses a proxy: the benchmark only talks to loopback.
var dialer = websocket.Dialer{
	Proxy:            nil,
	HandshakeTimeout: 10 * time.Second,
	Subprotocols:     []string{subprotocol},
	ReadBufferSize:   64 << 10,
	WriteBufferSize:  4 << 10,
}

// errRefused is wrapped when the server answers hello with an error event.
var errRefused = errors.New("session refused")

// dial opens a session: it connects, says hello with the terminal size and
// waits for the ready event. Output is already being read when it returns.
// The caller must close the session.
func dial(ctx context.Context, url string, cols, rows int) (*wsSession, error) {
	s, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := s.helloReady(ctx, cols, rows); err != nil {
		return nil, err
	}
	return s, nil
}

// connect opens the WebSocket of a session that has not said hello yet.
func connect(ctx context.Context, url string) (*wsSession, error) {
	return connectFrom(ctx, url, nil)
}

// connectFrom is connect from a local address of loopback's own (nil:
// the system's choice), so one host can stand for many client addresses.
func connectFrom(ctx context.Context, url string, local net.IP) (*wsSession, error) {
	d := dialer
	if local != nil {
		nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: local}}
		d.NetDialContext = nd.DialContext
	}
	conn, resp, err := d.DialContext(ctx, url, http.Header{})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %s)", url, err, resp.Status)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	return &wsSession{
		terminal: newTerminal(), conn: conn,
		exit: make(chan event, 1), checked: make(chan []byte, 1), readDone: make(chan struct{}),
	}, nil
}

// dialHello is dial with a hello of the given fields (cols and rows
// among them).
func dialHello(ctx context.Context, url string, hello map[string]any) (*wsSession, error) {
	s, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	s.helloFields = hello
	if err := s.helloReady(ctx, 0, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// helloReady says hello and waits for the ready event, noting the queued
// events before it; on failure it closes the connection. Events of unknown
// type are ignored, as the protocol asks.
func (s *wsSession) helloReady(ctx context.Context, cols, rows int) error {
	if err := s.hello(cols, rows); err != nil {
		return err
	}
	return s.awaitReady(ctx)
}

// hello says hello; on failure it closes the connection.
func (s *wsSession) hello(cols, rows int) error {
	s.helloAt = time.Now()
	hello := fmt.Appendf(nil, `{"type":"hello","cols":%d,"rows":%d}`, cols, rows)
	if s.helloFields != nil {
		s.helloFields["type"] = "hello"
		hello, _ = json.Marshal(s.helloFields)
	}
	if err := s.write(websocket.TextMessage, hello); err != nil {
		s.conn.Close()
		return fmt.Errorf("hello: %w", err)
	}
	return nil
}

// awaitReady reads up to the ready event after hello (see helloReady).
func (s *wsSession) awaitReady(ctx context.Context) error {
	conn := s.conn
	// Frames up to ready are read here, before the reader starts, so that
	// no output can come first unnoticed.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		typ, data, err := conn.ReadMessage()
		if err == nil && typ != websocket.TextMessage {
			err = errors.New("output before ready")
		}
		var e event
		if err == nil {
			err = json.Unmarshal(data, &e)
		}
		if err == nil && e.Type == "error" {
			err = fmt.Errorf("%w: %s", errRefused, data)
		}
		if err != nil {
			conn.Close()
			return fmt.Errorf("wait for ready: %w", err)
		}
		switch e.Type {
		case "queued":
			s.queued = append(s.queued, queuedAt{at: time.Now(), position: e.Position})
			continue
		case "ready":
		default:
			continue
		}
		s.ready, s.readyAt = e, time.Now()
		break
	}
	conn.SetReadDeadline(time.Time{})
	s.reading = true
	go s.read()
	return nil
}

// read is the session's only reader. Binary frames are copied into the
// terminal through one reused buffer.
func (s *wsSession) read() {
	defer close(s.readDone)
	buf := make([]byte, 64<<10)
	for {
		typ, r, err := s.conn.NextReader()
		if err != nil {
			s.terminal.end(err)
			return
		}
		if typ == websocket.TextMessage {
			data, err := io.ReadAll(r)
			var e event
			if err == nil && json.Unmarshal(data, &e) == nil && (e.Type == "exit" || e.Type == "error") {
				select {
				case s.exit <- e:
				default:
				}
			}
			if e.Type == "checked" {
				select {
				case s.checked <- data:
				default:
				}
			}
			continue
		}
		s.frames.Add(1)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				s.feed(buf[:n], time.Now())
				s.consumed(n)
			}
			if err != nil {
				break
			}
		}
	}
}

// consumed counts output as processed: a full batch is acked at once,
// anything less within ackEvery, as the page does. No timer runs while
// nothing is pending, so idle sessions cost nothing.
func (s *wsSession) consumed(n int) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.unacked += int64(n)
	switch {
	case s.unacked >= ackBytes:
		s.flushAck()
	case s.ackTimer == nil:
		s.ackTimer = time.AfterFunc(ackEvery, func() {
			s.wmu.Lock()
			defer s.wmu.Unlock()
			s.ackTimer = nil
			s.flushAck()
		})
	}
}

// flushAck sends an ack for everything consumed; it must hold wmu.
func (s *wsSession) flushAck() {
	if s.unacked == 0 || s.closing {
		return
	}
	msg := fmt.Appendf(nil, `{"type":"ack","bytes":%d}`, s.unacked)
	s.unacked = 0
	s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	s.conn.WriteMessage(websocket.TextMessage, msg) // a failure shows up on the reader
}

func (s *wsSession) write(typ int, p []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return s.conn.WriteMessage(typ, p)
}

// send sends keyboard input as one binary frame.
func (s *wsSession) send(p string) error {
	return s.write(websocket.BinaryMessage, []byte(p))
}

// waitExit waits for the exit (or error) event.
func (s *wsSession) waitExit(ctx context.Context) (event, error) {
	select {
	case e := <-s.exit:
		return e, nil
	case <-s.readDone:
		select {
		case e := <-s.exit:
			return e, nil
		default:
		}
		return event{}, errors.New("connection closed without an exit event")
	case <-ctx.Done():
		return event{}, ctx.Err()
	}
}

// close closes the connection as a browser tab does (close frame 1001),
// and waits for the reader to stop. It is idempotent.
func (s *wsSession) close() {
	s.closed.Do(func() {
		s.wmu.Lock()
		s.closing = true
		if s.ackTimer != nil {
			s.ackTimer.Stop()
		}
		s.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
		s.wmu.Unlock()
		s.conn.Close()
		if s.reading {
			<-s.readDone
		}
	})
}

// halt ends the session from inside, as a learner typing System.halt()
// does, waits for the exit event and closes.
func (s *wsSession) halt(ctx context.Context) error {
	defer s.close()
	if err := s.send("System.halt()\r"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	e, err := s.waitExit(ctx)
	if err == nil && (e.Type != "exit" || e.Reason != "exited") {
		err = fmt.Errorf("unexpected end: %s %s %s", e.Type, e.Reason, e.Message)
	}
	return err
}
