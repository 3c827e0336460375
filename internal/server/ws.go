package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/pool"
	"iexbox/internal/protocol"
	"iexbox/internal/sandbox"
	"iexbox/internal/session"
)

// WebSocket timing. Invariant: pingPeriod < pongWait, so a healthy client
// always answers a ping before its read deadline passes.
const (
	helloWait  = 10 * time.Second // the first frame must be a hello within this
	pongWait   = 60 * time.Second // a silent client is dropped after this
	pingPeriod = 25 * time.Second
	writeWait  = 10 * time.Second // one write may take this long
	closeWait  = time.Second      // the close frame's write deadline
)

// wsClient adapts a WebSocket connection to session.Client. Receive is
// called by one goroutine and the Send methods and End by one other, as
// gorilla/websocket requires; pings use WriteControl, which is safe beside
// both.
type wsClient struct {
	conn *websocket.Conn
	obs  Observer
	// queuedUntil, while the client waits in line, is the read deadline
	// (unix nanoseconds) that neither pongs nor messages extend; 0 after.
	queuedUntil atomic.Int64
	// viewer marks a viewer's connection, which may not check; ready is
	// set once ready was sent, before which no check is taken.
	viewer bool
	ready  atomic.Bool
}

var _ session.Client = (*wsClient)(nil)

func newWSClient(conn *websocket.Conn, obs Observer) *wsClient {
	conn.SetReadLimit(protocol.MaxInputFrame) // the library answers 1009 itself
	// Until the hello, nothing moves the read deadline: a pong must not
	// keep a connection that never says hello (see hello).
	conn.SetPongHandler(func(string) error { return nil })
	return &wsClient{conn: conn, obs: obs}
}

// extendRead moves the read deadline after a message or a pong: pongWait
// on, or no further than the end of the client's time in line.
func (c *wsClient) extendRead() error {
	if until := c.queuedUntil.Load(); until != 0 {
		return c.conn.SetReadDeadline(time.Unix(0, until))
	}
	return c.conn.SetReadDeadline(time.Now().Add(pongWait))
}

// queue fixes the read deadline at until while the client waits in line.
func (c *wsClient) queue(until time.Time) {
	c.queuedUntil.Store(until.UnixNano())
	c.conn.SetReadDeadline(until)
}

// unqueue lets pongs and messages extend the read deadline again.
func (c *wsClient) unqueue() {
	c.queuedUntil.Store(0)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
}

// keepAlive pings every pingPeriod until the returned stop is called;
// stop waits for the pinging goroutine to end, so none outlives its
// connection. Pings are control frames, safe beside the reader and the
// writer.
func (c *wsClient) keepAlive() (stop func()) {
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(pingPeriod)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				c.ping()
			case <-quit:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-done
	}
}

// protocolError marks a decoding failure as a protocol violation, so the
// session ends with ReasonProtocol and the client is told why.
func protocolError(err error) error {
	return &session.ProtocolError{Message: err.Error()}
}

// hello reads the first frame, which must be a hello, within helloWait.
func (c *wsClient) hello() (protocol.ClientMessage, error) {
	c.conn.SetReadDeadline(time.Now().Add(helloWait))
	typ, data, err := c.conn.ReadMessage()
	if err != nil {
		var netErr interface{ Timeout() bool }
		if errors.As(err, &netErr) && netErr.Timeout() {
			return protocol.ClientMessage{}, protocolError(fmt.Errorf("no hello within %s", helloWait))
		}
		return protocol.ClientMessage{}, err
	}
	if typ != websocket.TextMessage {
		return protocol.ClientMessage{}, protocolError(errors.New("input before hello"))
	}
	m, err := protocol.DecodeClient(data)
	if err != nil {
		return protocol.ClientMessage{}, protocolError(err)
	}
	if m.Type != protocol.TypeHello {
		return protocol.ClientMessage{}, protocolError(fmt.Errorf("first message must be a hello, not %q", m.Type))
	}
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	// From now on a pong is a sign of life (but never extends a wait in
	// line past the queue timeout).
	c.conn.SetPongHandler(func(string) error { return c.extendRead() })
	return m, nil
}

// Receive returns the next input, resize or ack.
func (c *wsClient) Receive() (session.Message, error) {
	typ, data, err := c.conn.ReadMessage()
	if err != nil {
		return session.Message{}, err
	}
	c.extendRead()
	if typ == websocket.BinaryMessage {
		c.obs.TerminalBytes(len(data), 0)
		return session.Message{Kind: session.Input, Input: data}, nil
	}
	m, err := protocol.DecodeClient(data)
	if err != nil {
		return session.Message{}, protocolError(err)
	}
	switch m.Type {
	case protocol.TypeResize:
		return session.Message{Kind: session.Resize, Cols: m.Cols, Rows: m.Rows}, nil
	case protocol.TypeAck:
		return session.Message{Kind: session.Ack, Bytes: m.Bytes}, nil
	case protocol.TypeShare:
		return session.Message{Kind: session.Share}, nil
	case protocol.TypeEnd:
		return session.Message{Kind: session.EndSession}, nil
	case protocol.TypeCheck:
		switch {
		case c.viewer:
			return session.Message{}, protocolError(errors.New("a viewer cannot check"))
		case !c.ready.Load():
			return session.Message{}, protocolError(errors.New("check before ready"))
		}
		return session.Message{Kind: session.Check, Code: m.Code, CheckID: m.CheckID}, nil
	case protocol.TypeUnshare:
		return session.Message{Kind: session.Unshare}, nil
	}
	return session.Message{}, protocolError(fmt.Errorf("unexpected %q after hello", m.Type))
}

// SendOutput sends terminal output as one binary frame.
func (c *wsClient) SendOutput(p []byte) error {
	c.obs.TerminalBytes(0, len(p))
	c.conn.SetWriteDeadline(time.Now().Add(writeWait))
	return c.conn.WriteMessage(websocket.BinaryMessage, p)
}

// SendWarning announces that a limit is near.
func (c *wsClient) SendWarning(reason session.Reason, secondsLeft int) error {
	return c.sendJSON(protocol.Warning{Type: protocol.TypeWarning, Reason: endingOf(reason).reason, SecondsLeft: secondsLeft})
}

// SendEvent sends a shared, viewers or size event.
func (c *wsClient) SendEvent(e session.Event) error {
	switch e.Kind {
	case session.Shared:
		return c.sendJSON(protocol.Shared{Type: protocol.TypeShared, Watch: e.Watch, URL: "/watch/" + e.Watch})
	case session.Viewers:
		return c.sendJSON(protocol.Viewers{Type: protocol.TypeViewers, Count: e.Count})
	case session.Size:
		return c.sendJSON(protocol.Size{Type: protocol.TypeSize, Cols: e.Cols, Rows: e.Rows})
	case session.Checked:
		return c.sendJSON(checkedEvent(e.CheckID, e.Check))
	case session.Recording:
		cast, replay := protocol.RecordingPaths(e.RecordingID)
		return c.sendJSON(protocol.Recording{Type: protocol.TypeRecording, ID: e.RecordingID, CastURL: cast, ReplayURL: replay,
			DeleteToken: e.DeleteToken})
	case session.RecordingStopped:
		return c.sendJSON(protocol.RecordingStopped{Type: protocol.TypeRecordingStopped, Reason: e.Reason})
	case session.RecordingRefused:
		return c.sendJSON(protocol.RecordingRefusedWarning{Type: protocol.TypeWarning, Reason: protocol.WarnRecordingRefused, Refused: e.Reason})
	case session.Watched:
		return c.sendJSON(protocol.Watched{Type: protocol.TypeWatched, By: "teacher"})
	case session.TeacherMessage:
		return c.sendJSON(protocol.Message{Type: protocol.TypeMessage, From: "teacher", Text: e.Text})
	case session.TeacherConsole:
		return c.sendJSON(protocol.TeacherConsole{Type: protocol.TypeTeacherConsole, Watch: e.Watch, URL: "/watch/" + e.Watch})
	case session.TeacherConsoleEnded:
		return c.sendJSON(protocol.TeacherConsoleEnded{Type: protocol.TypeTeacherConsoleEnded, Reason: e.Reason})
	}
	return fmt.Errorf("unknown event kind %d", e.Kind)
}

// sendQueued tells a waiting client where it stands.
func (c *wsClient) sendQueued(st pool.PlaceStatus) error {
	q := protocol.Queued{Type: protocol.TypeQueued, Position: st.Ahead}
	if st.ETA > 0 {
		q.ETA = secondsLeft(st.ETA)
	}
	return c.sendJSON(q)
}

// checkedEvent is a check's result as the protocol's checked event, cut
// to its bounds.
func checkedEvent(id string, r *sandbox.CheckResult) protocol.Checked {
	ev := protocol.Checked{Type: protocol.TypeChecked, ID: id, Tests: []protocol.CheckedTest{}}
	if r != nil {
		ev.Status, ev.Message, ev.Truncated = r.Status, r.Message, r.Truncated
		for _, t := range r.Tests {
			ev.Tests = append(ev.Tests, protocol.CheckedTest{Name: t.Name, Status: t.Status, Message: t.Message,
				Output: t.Output, TaskID: t.TaskID, Truncated: t.Truncated})
		}
	}
	ev.Bound()
	return ev
}

// sendReady tells the client its sandbox runs.
func (c *wsClient) sendReady(r protocol.Ready) error {
	r.Type = protocol.TypeReady
	// Set before the write: a client may answer ready before the write
	// returns here.
	c.ready.Store(true)
	return c.sendJSON(r)
}

func (c *wsClient) sendJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	c.conn.SetWriteDeadline(time.Now().Add(writeWait))
	return c.conn.WriteMessage(websocket.TextMessage, data)
}

// ending is what a client is told of how its session ended: an exit
// event with the wire reason and a close code, or, where errorCode is
// set, an error event with that code (and the code's close code).
type ending struct {
	reason    string // protocol.Reason*, the wire string of an exit or warning
	close     int
	errorCode string
	message   string // of the error event
}

// label is the end's word in metrics: the wire reason or the error code.
func (e ending) label() string {
	if e.errorCode != "" {
		return e.errorCode
	}
	return e.reason
}

// endings is the one table from a session's end reason to its wire
// reason, event and close code (docs/protocol.md, "Close codes"). A
// reason missing here is told as exit error, close 1011.
var endings = map[session.Reason]ending{
	session.ReasonExited:      {reason: protocol.ReasonExited, close: protocol.CloseExited},
	session.ReasonIdleTimeout: {reason: protocol.ReasonIdleTimeout, close: protocol.CloseIdleTimeout},
	session.ReasonMaxLifetime: {reason: protocol.ReasonMaxLifetime, close: protocol.CloseMaxLifetime},
	session.ReasonOOM:         {reason: protocol.ReasonOOM, close: protocol.CloseOOM},
	session.ReasonShutdown:    {reason: protocol.ReasonShutdown, close: protocol.CloseShutdown},
	session.ReasonError:       {reason: protocol.ReasonError, close: protocol.CloseError},
	session.ReasonClosed:      {reason: protocol.ReasonClosed, close: protocol.CloseEnded},
	session.ReasonUnshared:    {reason: protocol.ReasonUnshared, close: protocol.CloseEnded},
	session.ReasonClassEnded:  {reason: protocol.ReasonClassEnded, close: protocol.CloseClassEnded},
	session.ReasonProtocol:    {errorCode: protocol.CodeProtocol},
	session.ReasonLagging:     {errorCode: protocol.CodeLagging, message: "this viewer fell too far behind; reconnect to catch up"},
}

// endingOf is r's row of endings.
func endingOf(r session.Reason) ending {
	if how, ok := endings[r]; ok {
		return how
	}
	return endings[session.ReasonError]
}

// End sends the end's event, then the close frame with its close code.
func (c *wsClient) End(e session.End) error {
	how := endingOf(e.Reason)
	if how.errorCode != "" {
		msg := how.message
		if e.Reason == session.ReasonProtocol {
			msg = session.ProtocolMessage(e.Err)
		}
		return c.refuse(how.errorCode, msg, 0)
	}
	err := c.sendJSON(protocol.Exit{Type: protocol.TypeExit, Reason: how.reason, Code: e.Code})
	return errors.Join(err, c.closeFrame(how.close, how.reason))
}

// refuse sends an error event and closes with the code's close code.
func (c *wsClient) refuse(code, message string, retryAfter int) error {
	err := c.sendJSON(protocol.Error{Type: protocol.TypeError, Code: code, Message: message, RetryAfter: retryAfter})
	return errors.Join(err, c.closeFrame(protocol.ErrorCloseCode(code), code))
}

func (c *wsClient) closeFrame(code int, text string) error {
	return c.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(code, text), time.Now().Add(closeWait))
}

// ping sends a ping; safe beside the reader and the writer.
func (c *wsClient) ping() error {
	return c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
}

// Close drops the connection.
func (c *wsClient) Close() error { return c.conn.Close() }
