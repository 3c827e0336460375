// asciicast v2, as the server records it: a header line, then one
// [seconds, code, data] array per line ("o" output, "r" a COLSxROWS
// resize, "m" a marker). Shared by the replay page and the widget.

/**
 * Parse a cast's text.
 * @param {string} text
 * @returns {{header: object, events: Array<[number, string, string]>, duration: number}}
 */
export function parseCast(text) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error('empty recording');
  const header = JSON.parse(lines[0]);
  if (header.version !== 2) throw new Error('not an asciicast v2 recording');
  const events = [];
  for (const line of lines.slice(1)) {
    try {
      const e = JSON.parse(line);
      if (Array.isArray(e) && e.length === 3) events.push(e);
    } catch {
      // a line cut by a live recording's last flush: stop there
      break;
    }
  }
  const duration = events.length ? events[events.length - 1][0] : 0;
  return { header, events, duration };
}

/** The cast's output as plain text, escape sequences removed. */
export function castText(events) {
  const out = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
  // CSI, OSC and two-byte escapes, then carriage returns before newlines.
  return out
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '')
    .replace(/\x1b[@-Z\\-_]/g, '')
    .replace(/\r\n/g, '\n');
}

/**
 * Plays a cast into an xterm.js terminal: play, pause, speed and seek.
 * onTick(t) is called as time moves.
 */
export class Player {
  constructor(term, cast, onTick = () => {}) {
    this.term = term;
    this.cast = cast;
    this.onTick = onTick;
    this.speed = 1;
    this.t = 0; // seconds into the cast
    this.next = 0; // index of the next event to write
    this.timer = null;
    this.last = 0;
    this.reset();
  }

  get playing() { return this.timer !== null; }

  reset() {
    // RIS through the write queue: term.reset() acts at once, and output
    // still queued from before a seek would land on the fresh screen.
    this.term.write('\x1bc');
    const h = this.cast.header;
    if (h.width && h.height) this.term.resize(h.width, h.height);
    this.next = 0;
  }

  /** Writes every event up to time t, in one batch. */
  advanceTo(t) {
    const ev = this.cast.events;
    let out = '';
    while (this.next < ev.length && ev[this.next][0] <= t) {
      const [, code, data] = ev[this.next++];
      if (code === 'o') out += data;
      else if (code === 'r') {
        if (out) { this.term.write(out); out = ''; }
        const m = /^(\d+)x(\d+)$/.exec(data);
        if (m) this.term.resize(Number(m[1]), Number(m[2]));
      }
    }
    if (out) this.term.write(out);
    this.t = t;
    this.onTick(t);
  }

  play() {
    if (this.playing) return;
    if (this.next >= this.cast.events.length) this.seek(0);
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const t = Math.min(this.t + ((now - this.last) / 1000) * this.speed, this.cast.duration);
      this.last = now;
      this.advanceTo(t);
      if (this.next >= this.cast.events.length) this.pause();
    }, 16);
  }

  pause() {
    clearInterval(this.timer);
    this.timer = null;
    this.onTick(this.t);
  }

  /** Jumps to time t: the screen is rebuilt from the start. */
  seek(t) {
    this.reset();
    this.advanceTo(Math.max(0, Math.min(t, this.cast.duration)));
  }
}
