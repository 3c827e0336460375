// Package client is a Go client of the iexbox.v1 WebSocket protocol
// (docs/protocol.md): it dials /ws, says hello (a new session, a resume or a
// viewer's watch), sends input, resizes, checks and acks, and turns what the
// server sends into terminal output and typed events. The benchmark, the
// capacity tool and the tests speak the protocol through it; a test that
// must break the protocol writes its frames with WriteRaw.
//
// A Conn starts one goroutine, its reader, at Dial (none with
// Options.Stalled); Close and Drop join it. With AckBatched, a timer may run
// one short function that sends an ack; Close and Drop stop it. Nothing
// else runs in the background.
//
// Output is either kept by the Conn (Output, WaitOutput, WaitOutputFunc)
// or handed to Options.OnOutput as it arrives. Events are always kept, in
// the order received, and read with Next, WaitEvent and Ready;
// Options.OnEvent also sees each one as it arrives.
package client

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"iexbox/internal/protocol"
)

// Timing of the connection.
const (
	// handshakeTimeout bounds the WebSocket handshake when Options says
	// nothing.
	handshakeTimeout = 10 * time.Second
	// writeWait bounds every write, so that a server that stopped reading
	// cannot hold a writer (and the ack timer) forever.
	writeWait = 5 * time.Second
	// closeWait bounds sending the close frame of Close.
	closeWait = time.Second
)

// readChunk is the reader's buffer: output reaches OnOutput in pieces of
// at most this size, one reused buffer, so reading costs no allocation.
const readChunk = 64 << 10

// Options says how to dial and how to treat what the server sends. The zero
// value is a well-behaved client that keeps everything and acks every frame.
type Options struct {
	// Header is sent with the handshake (Origin, X-Forwarded-For, Host).
	Header http.Header
	// Subprotocols are offered instead of iexbox.v1 when not nil; an
	// empty slice offers none. Only with the default does Dial require the
	// server to choose iexbox.v1.
	Subprotocols []string
	// Instance, when set, is added to the URL as ?instance=, as the page
	// does to route a resume to the server holding the session.
	Instance string
	// LocalAddr, when set, is the IP the connection comes from (any of
	// 127.0.0.0/8 on loopback), so that one host can stand for many client
	// addresses. NetDialContext wins over it.
	LocalAddr net.IP
	// NetDialContext, when set, opens the TCP connection, for example to
	// one address whatever the URL's host.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSClientConfig is the TLS configuration of a wss:// URL (its
	// trusted roots, say); the system's when nil.
	TLSClientConfig *tls.Config
	// HandshakeTimeout bounds the handshake; 10 s when zero.
	HandshakeTimeout time.Duration
	// ReadBufferSize and WriteBufferSize are the WebSocket library's I/O
	// buffers; its defaults when zero.
	ReadBufferSize, WriteBufferSize int

	// Ack is when output is acknowledged.
	Ack AckPolicy
	// OnOutput, when set, receives terminal output from the reader as it
	// arrives, instead of the Conn keeping it. A frame may come in several
	// calls; p is reused once the call returns. Acks wait for it.
	OnOutput func(p []byte)
	// OnEvent, when set, sees every event from the reader as it arrives,
	// before Next can return it.
	OnEvent func(Event)
	// OnClose, when set, is called once from the reader when the
	// connection has ended, after every output and event.
	//
	// No callback may call Close or Drop: they wait for the reader.
	OnClose func(CloseStatus)
	// Stalled starts no reader: nothing the server sends is read, as with
	// a client that has stopped reading, so no event, output or close is
	// ever seen. Writes work; Close and Drop end the connection.
	Stalled bool
}

// Conn is one iexbox.v1 connection. Its methods are safe for concurrent use;
// writes are sent one at a time. The caller must Close or Drop it.
type Conn struct {
	ws   *websocket.Conn
	opts Options

	wmu sync.Mutex // one writer at a time, as the WebSocket library needs

	amu      sync.Mutex
	unacked  int64       // guarded by amu: consumed, not acked (AckBatched)
	ackTimer *time.Timer // guarded by amu: the pending small ack
	closing  bool        // guarded by amu: Close or Drop began, no more acks

	frames, bytes atomic.Int64 // output received

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change below
	events  []Event
	cursor  int    // events before it were returned by Next
	out     []byte // output, when no OnOutput takes it
	status  CloseStatus
	ended   bool

	shut sync.Once
	done chan struct{} // closed when the reader has stopped
}

// Dial opens a WebSocket to url (ws://host/ws) and starts reading it; it
// says nothing: Hello is the caller's. The handshake's response is
// returned even when the upgrade is refused (its body is readable then).
// ctx bounds the handshake only; the caller must Close or Drop the Conn.
func Dial(ctx context.Context, rawURL string, opts Options) (*Conn, *http.Response, error) {
	offer := opts.Subprotocols
	if offer == nil {
		offer = []string{protocol.Subprotocol}
	}
	d := websocket.Dialer{
		HandshakeTimeout: cmp.Or(opts.HandshakeTimeout, handshakeTimeout),
		Subprotocols:     offer,
		ReadBufferSize:   opts.ReadBufferSize,
		WriteBufferSize:  opts.WriteBufferSize,
		NetDialContext:   opts.NetDialContext,
		TLSClientConfig:  opts.TLSClientConfig,
	}
	if d.NetDialContext == nil && opts.LocalAddr != nil {
		nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: opts.LocalAddr}}
		d.NetDialContext = nd.DialContext
	}
	if opts.Instance != "" {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, nil, fmt.Errorf("dial %s: %w", rawURL, err)
		}
		q := u.Query()
		q.Set("instance", opts.Instance)
		u.RawQuery = q.Encode()
		rawURL = u.String()
	}
	ws, resp, err := d.DialContext(ctx, rawURL, opts.Header)
	if err != nil {
		if resp != nil {
			return nil, resp, fmt.Errorf("dial %s: %w (HTTP %s)", rawURL, err, resp.Status)
		}
		return nil, nil, fmt.Errorf("dial %s: %w", rawURL, err)
	}
	if got := ws.Subprotocol(); opts.Subprotocols == nil && got != protocol.Subprotocol {
		ws.Close()
		return nil, resp, fmt.Errorf("dial %s: the server chose subprotocol %q, not %s", rawURL, got, protocol.Subprotocol)
	}
	c := &Conn{ws: ws, opts: opts, changed: make(chan struct{}), done: make(chan struct{})}
	if !opts.Stalled {
		go c.read()
	}
	return c, resp, nil
}

// Subprotocol is the subprotocol the server chose.
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

// Done is closed once the connection has ended and the reader has stopped.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close ends the connection as a browser closing its tab does: a close
// frame 1001, then the TCP connection closes. It waits for the reader to
// stop, and is idempotent (after Drop too).
func (c *Conn) Close() error { return c.end(true) }

// Drop ends the connection as a network failure does: the TCP connection
// closes with no close frame and no end message. It waits for the reader
// to stop, and is idempotent (after Close too).
func (c *Conn) Drop() error { return c.end(false) }

func (c *Conn) end(goingAway bool) error {
	var err error
	c.shut.Do(func() {
		c.stopAcks()
		if goingAway {
			// Allowed beside a writer; a failure only means the server
			// is gone already.
			c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(closeWait))
		}
		err = c.ws.Close()
		if c.opts.Stalled {
			c.finish(net.ErrClosed)
			close(c.done)
		}
	})
	<-c.done
	return err
}
