package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"iexbox/internal/client"
	"iexbox/internal/protocol"
)

// queuedAt is one queued event as a waiting client heard it.
type queuedAt struct {
	at       time.Time
	position int
}

// wsSession is one iexbox.v1 session as a browser runs it: its output
// goes to its terminal as it arrives and is acked as the page does.
type wsSession struct {
	*terminal
	conn  *client.Conn
	ready protocol.Ready
	// readyAfter is the time from the start of the dial to the ready
	// event, set by whoever timed the dial.
	readyAfter time.Duration
	// helloAt, queued and readyAt tell how the session waited in line.
	helloAt time.Time
	queued  []queuedAt
	readyAt time.Time
}

// dial opens a session: it connects, says hello with the terminal size and
// waits for the ready event. Output is already being read when it returns.
// The caller must close the session.
func dial(ctx context.Context, url string, cols, rows int) (*wsSession, error) {
	return dialHello(ctx, url, client.Hello{Cols: cols, Rows: rows})
}

// dialHello is dial with a hello of the caller's.
func dialHello(ctx context.Context, url string, h client.Hello) (*wsSession, error) {
	s, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := s.helloReady(ctx, h); err != nil {
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
// The benchmark only talks to loopback: no proxy is ever used.
func connectFrom(ctx context.Context, url string, local net.IP) (*wsSession, error) {
	t := newTerminal()
	conn, _, err := client.Dial(ctx, url, client.Options{
		LocalAddr:       local,
		ReadBufferSize:  64 << 10,
		WriteBufferSize: 4 << 10,
		Ack:             client.AckBatched,
		// Matching happens here, as the bytes arrive: see terminal.
		OnOutput: func(p []byte) { t.feed(p, time.Now()) },
		OnClose:  func(st client.CloseStatus) { t.end(st.Err) },
	})
	if err != nil {
		return nil, err
	}
	return &wsSession{terminal: t, conn: conn}, nil
}

// helloReady says hello and waits for the ready event, noting the queued
// events before it; on failure it drops the connection.
func (s *wsSession) helloReady(ctx context.Context, h client.Hello) error {
	if err := s.hello(h); err != nil {
		return err
	}
	return s.awaitReady(ctx)
}

// hello says hello; on failure it drops the connection.
func (s *wsSession) hello(h client.Hello) error {
	s.helloAt = time.Now()
	if err := s.conn.Hello(h); err != nil {
		s.conn.Drop()
		return fmt.Errorf("hello: %w", err)
	}
	return nil
}

// awaitReady waits for the ready event after hello (see helloReady). A
// refusal is a *client.RefusedError.
func (s *wsSession) awaitReady(ctx context.Context) error {
	e, err := s.conn.Ready(ctx)
	if err == nil && e.OutputBefore > 0 {
		err = errors.New("output before ready")
	}
	if err != nil {
		s.conn.Drop()
		return err
	}
	s.ready, s.readyAt = *e.Ready, e.At
	for _, q := range s.conn.Events() {
		if q.Ready != nil {
			break
		}
		if q.Queued != nil {
			s.queued = append(s.queued, queuedAt{at: q.At, position: q.Queued.Position})
		}
	}
	return nil
}

// send sends keyboard input as one binary frame.
func (s *wsSession) send(p string) error {
	return s.conn.Input([]byte(p))
}

// frames is how many output frames the session has received.
func (s *wsSession) frames() int64 {
	n, _ := s.conn.Received()
	return n
}

// close closes the connection as a browser tab does (close frame 1001),
// and waits for the reader to stop. It is idempotent.
func (s *wsSession) close() {
	s.conn.Close()
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
	e, err := s.conn.WaitEvent(ctx, protocol.TypeExit, protocol.TypeError)
	if err == nil && (e.Exit == nil || e.Exit.Reason != protocol.ReasonExited) {
		err = fmt.Errorf("unexpected end: %s", e.Raw)
	}
	return err
}
