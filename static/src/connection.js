// Client side of the iexbox.v1 WebSocket protocol (see docs/protocol.md).
//
// Wire format in one paragraph: binary frames carry raw terminal bytes in
// both directions (keyboard input up, terminal output down); text frames
// carry exactly one JSON object with a "type". The client opens with
// {"type":"hello","cols","rows"}, reports size changes with "resize" and
// acknowledges processed output with {"type":"ack","bytes":N} so the
// server's flow-control window (1 MiB) keeps moving. The server answers with
// "ready" before any output (after "queued" events while the client waits in
// line for a sandbox) and may later send "warning", "exit" or "error".
// Events of unknown type are ignored.
//
// A Connection owns one WebSocket, i.e. one sandbox session. It knows
// nothing about the page: it reports protocol events through the handlers
// passed to its constructor and writes output straight into the terminal.

/** WebSocket subprotocol spoken by this client. */
export const SUBPROTOCOL = 'iexbox.v1';

/** Largest binary input frame we send; bigger pastes are split. The server
 *  accepts up to 64 KiB per frame, we stay well below that. */
export const INPUT_CHUNK = 32 * 1024;

/** Send an ack once this many output bytes have been processed ... */
export const ACK_BYTES = 32 * 1024;
/** ... or this long after the first unacknowledged byte was processed. */
export const ACK_DELAY_MS = 20;

/** Input typed before "ready" is held back, up to this many bytes. */
const MAX_EARLY_INPUT = 64 * 1024;

/** URL of the session endpoint on the server at `origin` (default: the one
 *  that served this page). `instance` (from "ready") lets a load balancer
 *  route a resume to the server that holds the session; the server itself
 *  ignores it. */
export function socketURL(origin = window.location.origin, instance = '') {
  const u = new URL('/ws', origin);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (instance) u.searchParams.set('instance', instance);
  return u.toString();
}

/**
 * @typedef {object} Handlers
 * @property {() => void} [onOpen]          socket open; fit the terminal now
 * @property {(msg: object) => void} [onQueued] before "ready": waiting in
 *           line for a sandbox, {position, eta?}
 * @property {(msg: object) => void} [onReady]
 * @property {(msg: object) => void} [onWarning]
 * @property {(msg: object) => void} [onExit]
 * @property {(msg: object) => void} [onError]
 * @property {(msg: object) => void} [onEvent] shared, viewers, size,
 *           checked, recording, watched, message, teacher_console and
 *           teacher_console_ended events
 * @property {(bytes: Uint8Array) => boolean|void} [onOutput] sees output
 *           first; returning false keeps it out of the terminal
 * @property {(info: {code: number, reason: string, opened: boolean,
 *             final: object|null}) => void} [onClose]
 *           socket closed; `final` is the exit/error event if one arrived
 */

export class Connection {
  /**
   * @param {import('@xterm/xterm').Terminal} term terminal that receives output
   * @param {Handlers} handlers
   * @param {string} [url]
   * @param {object} [hello] extra hello fields: resumable, resume, mode,
   *        watch, token, exercise, class, name, learner
   */
  constructor(term, handlers, url = socketURL(), hello = {}) {
    this.term = term;
    this.handlers = handlers;
    this.helloExtra = hello;
    this.viewer = hello.mode === 'viewer';
    this.encoder = new TextEncoder();

    this.opened = false;     // socket reached OPEN
    this.ready = false;      // "ready" received; input may flow
    this.final = null;       // the "exit" or "error" event, once received
    this.readyMsg = null;    // the "ready" event, once received
    this.disposed = false;   // page moved on; ignore everything from now on

    this.earlyInput = [];    // input typed before "ready"
    this.earlyBytes = 0;

    this.unacked = 0;        // output bytes processed but not yet acked
    this.ackTimer = 0;

    this.sentSize = null;    // last {cols, rows} sent to the server

    const ws = new WebSocket(url, SUBPROTOCOL);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.onOpen();
    ws.onmessage = (ev) => this.onMessage(ev);
    ws.onclose = (ev) => this.onClose(ev);
    // Errors are always followed by a close event, which carries the news.
    ws.onerror = () => {};
    this.ws = ws;
  }

  /** Session id from "ready", or null. */
  get session() {
    return this.readyMsg ? this.readyMsg.session : null;
  }

  // ---- client → server -------------------------------------------------

  /** Send keyboard input or a paste (a JS string) as UTF-8 binary frames. */
  sendInput(text) {
    this.sendBytes(this.encoder.encode(text));
  }

  /** Send xterm "binary" input (a string of byte values 0-255, used for some
   *  mouse reports) as raw bytes. */
  sendBinaryInput(str) {
    const bytes = new Uint8Array(str.length);
    for (let i = 0; i < str.length; i++) bytes[i] = str.charCodeAt(i) & 0xff;
    this.sendBytes(bytes);
  }

  /** Report the terminal size if it differs from what the server knows. */
  resize(cols, rows) {
    if (this.viewer || !this.sentSize || !this.isOpen()) return; // hello carries the size
    if (cols === this.sentSize.cols && rows === this.sentSize.rows) return;
    this.sendJSON({ type: 'resize', cols, rows });
    this.sentSize = { cols, rows };
  }

  /** Ask the server for a watch link ("shared" answers). */
  share() {
    this.sendJSON({ type: 'share' });
  }

  /** Revoke the watch link: its viewers are disconnected ("unshared"). */
  unshare() {
    this.sendJSON({ type: 'unshare' });
  }

  /** End the session on purpose (a resumable one too), then close. */
  end() {
    this.sendJSON({ type: 'end' });
    this.dispose(1000, 'ended');
  }

  /** Close the socket for good (e.g. the user asked for a new session).
   *  No handler is called afterwards. */
  dispose(code = 1000, reason = 'new session') {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.ackTimer);
    this.earlyInput = [];
    try {
      this.ws.close(code, reason);
    } catch {
      // Already closing; nothing to do.
    }
  }

  // ---- internals ---------------------------------------------------------

  isOpen() {
    return !this.disposed && this.ws.readyState === WebSocket.OPEN;
  }

  /** Ask the server to check `code` against the session's exercise; the
   *  answer is a "checked" event carrying the same id. */
  check(id, code) {
    this.sendJSON({ type: 'check', id, code });
  }

  sendJSON(obj) {
    if (this.isOpen()) this.ws.send(JSON.stringify(obj));
  }

  sendBytes(bytes) {
    if (this.disposed || this.final || this.viewer || bytes.length === 0) return;
    if (!this.ready) {
      // The server only takes input once the sandbox is up; keep what the
      // user typed meanwhile (within reason) and send it after "ready".
      if (this.earlyBytes + bytes.length <= MAX_EARLY_INPUT) {
        this.earlyInput.push(bytes);
        this.earlyBytes += bytes.length;
      }
      return;
    }
    if (!this.isOpen()) return;
    // Always a binary frame (never text), at most INPUT_CHUNK bytes each.
    // Splitting inside a UTF-8 sequence is fine: the server forwards a byte
    // stream to the pty, it does not decode frames individually.
    for (let off = 0; off < bytes.length; off += INPUT_CHUNK) {
      this.ws.send(bytes.subarray(off, off + INPUT_CHUNK));
    }
  }

  onOpen() {
    if (this.disposed) return;
    this.opened = true;
    if (this.ws.protocol && this.ws.protocol !== SUBPROTOCOL) {
      console.warn(`iexbox: server chose subprotocol "${this.ws.protocol}"`);
    }
    this.handlers.onOpen?.();
    const { cols, rows } = this.term;
    this.sendJSON({ type: 'hello', cols, rows, ...this.helloExtra });
    this.sentSize = { cols, rows };
  }

  onMessage(ev) {
    if (this.disposed) return;
    if (ev.data instanceof ArrayBuffer) {
      this.onOutput(new Uint8Array(ev.data));
      return;
    }
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      console.warn('iexbox: ignoring malformed text frame', ev.data);
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'queued':
        if (!this.ready) this.handlers.onQueued?.(msg);
        break;
      case 'ready':
        this.readyMsg = msg;
        this.ready = true;
        this.handlers.onReady?.(msg);
        this.flushEarlyInput();
        break;
      case 'warning':
        this.handlers.onWarning?.(msg);
        break;
      case 'exit':
        this.final = msg;
        this.handlers.onExit?.(msg);
        break;
      case 'error':
        this.final = msg;
        this.handlers.onError?.(msg);
        break;
      case 'shared':
      case 'viewers':
      case 'size':
      case 'checked':
      case 'recording':
      case 'recording_stopped':
      case 'watched': // a class's teacher watches this console
      case 'message': // a class's teacher wrote: {from, text}
      case 'teacher_console': // the class shows the teacher's console: {watch, url}
      case 'teacher_console_ended': // no longer: {reason}
        this.handlers.onEvent?.(msg);
        break;
      default:
        // Unknown event types are ignored so newer servers stay compatible.
        break;
    }
  }

  flushEarlyInput() {
    const chunks = this.earlyInput;
    this.earlyInput = [];
    this.earlyBytes = 0;
    for (const bytes of chunks) this.sendBytes(bytes);
  }

  /** Terminal output: hand the bytes to xterm (which decodes UTF-8 across
   *  frame boundaries) and acknowledge them once xterm has processed them. */
  onOutput(bytes) {
    const n = bytes.length;
    if (n === 0) return;
    if (this.handlers.onOutput && this.handlers.onOutput(bytes) === false) {
      this.processed(n); // hidden on purpose, but processed all the same
      return;
    }
    this.term.write(bytes, () => this.processed(n));
  }

  processed(n) {
    if (this.disposed) return;
    this.unacked += n;
    if (this.unacked >= ACK_BYTES) {
      this.flushAck();
    } else if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => this.flushAck(), ACK_DELAY_MS);
    }
  }

  flushAck() {
    clearTimeout(this.ackTimer);
    this.ackTimer = 0;
    if (this.unacked > 0 && this.isOpen()) {
      this.sendJSON({ type: 'ack', bytes: this.unacked });
      this.unacked = 0;
    }
  }

  onClose(ev) {
    clearTimeout(this.ackTimer);
    this.ackTimer = 0;
    if (this.disposed) return;
    this.disposed = true;
    this.handlers.onClose?.({
      code: ev.code,
      reason: ev.reason,
      opened: this.opened,
      final: this.final,
    });
  }
}
