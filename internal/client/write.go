package client

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/protocol"
)

// Hello is the first message of a connection: a new session of Cols×Rows,
// the resume of one, or a viewer's watch of a shared one.
type Hello struct {
	Cols, Rows int
	// Token is an access token, where the server requires one.
	Token string
	// Resumable asks for a session that survives a dropped connection;
	// ready then carries a resume token.
	Resumable bool
	// Resume resumes the session of this token instead of starting one.
	Resume string
	// Watch makes this a viewer's hello (mode viewer), watching the shared
	// session of this watch token.
	Watch string
	// Exercise is the exercise the new session poses.
	Exercise string
	// Record asks for the new session to be recorded.
	Record bool
	// Toolchain is the toolchain the new session runs ("": the
	// exercise's, else the default).
	Toolchain string
	// Class is the code of a class to join; Name is the learner's name on
	// first joining, Learner the learner token from an earlier ready of
	// the class.
	Class, Name, Learner string
}

// wireHello is a hello as JSON.
type wireHello struct {
	Type      string `json:"type"`
	Cols      int    `json:"cols"`
	Rows      int    `json:"rows"`
	Token     string `json:"token,omitempty"`
	Mode      string `json:"mode,omitempty"`
	Watch     string `json:"watch,omitempty"`
	Resume    string `json:"resume,omitempty"`
	Resumable bool   `json:"resumable,omitempty"`
	Exercise  string `json:"exercise,omitempty"`
	Record    bool   `json:"record,omitempty"`
	Toolchain string `json:"toolchain,omitempty"`
	Class     string `json:"class,omitempty"`
	Name      string `json:"name,omitempty"`
	Learner   string `json:"learner,omitempty"`
}

// Hello sends h.
func (c *Conn) Hello(h Hello) error {
	w := wireHello{Type: protocol.TypeHello, Cols: h.Cols, Rows: h.Rows, Token: h.Token,
		Watch: h.Watch, Resume: h.Resume, Resumable: h.Resumable, Exercise: h.Exercise, Record: h.Record,
		Toolchain: h.Toolchain, Class: h.Class, Name: h.Name, Learner: h.Learner}
	if h.Watch != "" {
		w.Mode = protocol.ModeViewer
	}
	data, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return c.write(websocket.TextMessage, data)
}

// Input sends keyboard input as one binary frame. The server refuses a
// frame over protocol.MaxInputFrame (close 1009): split larger pastes.
func (c *Conn) Input(p []byte) error {
	return c.write(websocket.BinaryMessage, p)
}

// Resize tells the server the terminal's new size.
func (c *Conn) Resize(cols, rows int) error {
	return c.write(websocket.TextMessage,
		fmt.Appendf(nil, `{"type":"`+protocol.TypeResize+`","cols":%d,"rows":%d}`, cols, rows))
}

// Ack acknowledges n output bytes as processed. With AckFrames and
// AckBatched the Conn acks by itself; a caller may still ack more.
func (c *Conn) Ack(n int64) error {
	msg := strconv.AppendInt([]byte(`{"type":"`+protocol.TypeAck+`","bytes":`), n, 10)
	return c.write(websocket.TextMessage, append(msg, '}'))
}

// Check asks the server to run the session's exercise tests against code;
// the answer is a checked event with the same id. An empty id is left out.
func (c *Conn) Check(id, code string) error {
	data, err := json.Marshal(struct {
		Type string `json:"type"`
		ID   string `json:"id,omitempty"`
		Code string `json:"code"`
	}{protocol.TypeCheck, id, code})
	if err != nil {
		return err
	}
	return c.write(websocket.TextMessage, data)
}

// Share asks for a watch link, answered by a shared event.
func (c *Conn) Share() error { return c.send(protocol.TypeShare) }

// Unshare revokes the watch link.
func (c *Conn) Unshare() error { return c.send(protocol.TypeUnshare) }

// End ends the session now: the server destroys the sandbox and closes the
// connection, resumable or not.
func (c *Conn) End() error { return c.send(protocol.TypeEnd) }

// send sends a message that has nothing but its type.
func (c *Conn) send(typ string) error {
	return c.write(websocket.TextMessage, []byte(`{"type":"`+typ+`"}`))
}

// WriteRaw sends one frame of messageType (websocket.TextMessage,
// BinaryMessage, or a control frame such as PongMessage) holding data as
// is, for tests that must send what no well-behaved client sends.
func (c *Conn) WriteRaw(messageType int, data []byte) error {
	switch messageType {
	case websocket.CloseMessage, websocket.PingMessage, websocket.PongMessage:
		return c.ws.WriteControl(messageType, data, time.Now().Add(writeWait))
	}
	return c.write(messageType, data)
}

// write sends one data frame, one writer at a time, bounded by writeWait.
func (c *Conn) write(messageType int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	return c.ws.WriteMessage(messageType, data)
}
