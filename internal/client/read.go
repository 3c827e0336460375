package client

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gorilla/websocket"
)

// CloseAbnormal is the close code of a connection that ended without a
// close frame (RFC 6455 §7.1.5): it dropped, or Close or Drop ended it.
const CloseAbnormal = websocket.CloseAbnormalClosure

// CloseStatus is how the connection ended.
type CloseStatus struct {
	// Code is the close frame's code, CloseAbnormal when none came.
	Code int
	Text string    // the close frame's reason
	At   time.Time // when the reader saw the end
	// Err is the reader's error as the WebSocket library returned it: a
	// *websocket.CloseError when a close frame came.
	Err error
}

func (s CloseStatus) String() string {
	var ce *websocket.CloseError
	if errors.As(s.Err, &ce) {
		return fmt.Sprintf("close %d %q", s.Code, s.Text)
	}
	return fmt.Sprintf("close %d: %v", s.Code, s.Err)
}

// read is the Conn's only reader: binary frames are output, text frames
// events, until the connection ends.
func (c *Conn) read() {
	defer close(c.done)
	buf := make([]byte, readChunk)
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			c.finish(err)
			return
		}
		switch typ {
		case websocket.BinaryMessage:
			c.readOutput(r, buf)
		case websocket.TextMessage:
			// A failure mid-frame is the connection's: NextReader returns it.
			if data, err := io.ReadAll(r); err == nil {
				c.event(decode(data, time.Now(), c.bytes.Load()))
			}
		}
	}
}

// readOutput passes one binary frame on as it arrives, through buf, and
// acks it as the policy says.
func (c *Conn) readOutput(r io.Reader, buf []byte) {
	c.frames.Add(1)
	var frame int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			c.bytes.Add(int64(n))
			if c.opts.OnOutput != nil {
				c.opts.OnOutput(buf[:n])
			} else {
				c.update(func() { c.out = append(c.out, buf[:n]...) })
			}
			frame += int64(n)
			if c.opts.Ack == AckBatched {
				c.consumed(int64(n))
			}
		}
		if err != nil {
			break
		}
	}
	if c.opts.Ack == AckFrames && frame > 0 {
		c.Ack(frame) // a failure shows on the reader
	}
}

// event keeps e and shows it to OnEvent.
func (c *Conn) event(e Event) {
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(e)
	}
	c.update(func() { c.events = append(c.events, e) })
}

// finish records how the connection ended; the reader calls it once.
func (c *Conn) finish(err error) {
	c.stopAcks()
	st := CloseStatus{Code: CloseAbnormal, At: time.Now(), Err: err}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		st.Code, st.Text = ce.Code, ce.Text
	}
	c.update(func() { c.status, c.ended = st, true })
	if c.opts.OnClose != nil {
		c.opts.OnClose(st)
	}
}

// update changes what the Conn has received, under its lock, and wakes
// every wait.
func (c *Conn) update(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
	close(c.changed)
	c.changed = make(chan struct{})
}

// Received is how many output frames and bytes have arrived so far.
func (c *Conn) Received() (frames, bytes int64) {
	return c.frames.Load(), c.bytes.Load()
}
