// Server-Sent Events read with fetch, for streams that need a header:
// EventSource cannot send Authorization, and the teacher token must never
// travel in a URL. The stream reconnects after a drop, with growing
// pauses, and after a silence longer than the server's keep-alive.

/** The server writes a comment at least every 15 s; a stream silent for
 *  this long is dead, whatever TCP thinks. */
const SILENCE_MS = 45_000;

/** Pauses between reconnects: from FIRST_RETRY_MS, doubling, up to
 *  MAX_RETRY_MS. */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 15_000;

/**
 * @typedef {object} StreamHandlers
 * @property {() => void} [onOpen] the stream answered; events follow
 * @property {(event: string, data: any) => void} onEvent one event, its
 *           data parsed as JSON
 * @property {(retryInMs: number) => void} [onDrop] the stream broke; it
 *           reconnects in retryInMs
 * @property {(status: number, body: any) => void} [onRefused] the server
 *           refused the stream for good (401, 403, 404): it stops
 */

/** Parse one event block ("event: x\ndata: {...}") into [name, data], or
 *  null for a comment, an event without data or data that is not JSON. */
export function parseEvent(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return [name, JSON.parse(data.join('\n'))];
  } catch {
    return null;
  }
}

export class EventStream {
  /**
   * @param {string} url
   * @param {Record<string, string>} headers sent with every request
   * @param {StreamHandlers} handlers
   */
  constructor(url, headers, handlers) {
    this.url = url;
    this.headers = headers;
    this.h = handlers;
    this.stopped = false;
    this.abort = null;
    this.timer = 0;
  }

  /** Start reading; events arrive through the handlers until stop. */
  start() {
    this.loop();
  }

  /** Stop for good: the request is aborted, no reconnect follows. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.abort) this.abort.abort();
  }

  /** Drop the current request and connect again at once. */
  restart() {
    if (this.abort) this.abort.abort();
  }

  async loop() {
    let retry = FIRST_RETRY_MS;
    while (!this.stopped) {
      const abort = new AbortController();
      this.abort = abort;
      try {
        const res = await fetch(this.url, {
          headers: { ...this.headers, Accept: 'text/event-stream' },
          cache: 'no-store',
          signal: abort.signal,
        });
        if (res.status === 401 || res.status === 403 || res.status === 404) {
          let body = null;
          try { body = await res.json(); } catch { /* not JSON */ }
          this.stopped = true;
          this.h.onRefused?.(res.status, body);
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        retry = FIRST_RETRY_MS;
        this.h.onOpen?.();
        await this.read(res.body, abort);
      } catch {
        // A drop, an abort or a refusal to connect: retry below.
      }
      if (this.stopped) return;
      this.h.onDrop?.(retry);
      await new Promise((resolve) => { this.timer = setTimeout(resolve, retry); });
      retry = Math.min(retry * 2, MAX_RETRY_MS);
    }
  }

  /** Read events from body until it ends, is aborted or falls silent. */
  async read(body, abort) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let watchdog = 0;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(), SILENCE_MS);
    };
    arm();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        arm();
        buf += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const event = parseEvent(buf.slice(0, end));
          buf = buf.slice(end + 2);
          if (event && !this.stopped) this.h.onEvent(event[0], event[1]);
        }
      }
    } finally {
      clearTimeout(watchdog);
      reader.cancel().catch(() => {});
    }
  }
}
