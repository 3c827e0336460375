// Local countdown of the time a session has left.
//
// The server ends a session after `idle_timeout` seconds without input or
// after `max_lifetime` seconds in total, whichever comes first. The page
// mirrors both clocks locally: the idle clock restarts on every keystroke,
// and "warning" events from the server re-synchronise either clock.

export class Countdown {
  /**
   * @param {(left: {ms: number, reason: 'idle_timeout'|'max_lifetime'}|null) => void} render
   *        called whenever the display should change; null means "no countdown"
   */
  constructor(render) {
    this.renderFn = render;
    this.timer = 0;
    this.idleMs = 0;
    this.idleAt = Infinity;
    this.lifeAt = Infinity;
  }

  /** Start counting for a session with the given limits (seconds; 0 or
   *  missing means "no such limit"). */
  start(idleSeconds, lifetimeSeconds) {
    const now = performance.now();
    this.idleMs = idleSeconds > 0 ? idleSeconds * 1000 : 0;
    this.idleAt = this.idleMs ? now + this.idleMs : Infinity;
    this.lifeAt = lifetimeSeconds > 0 ? now + lifetimeSeconds * 1000 : Infinity;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.render(), 250);
    this.render();
  }

  /** The user typed something: the idle clock starts over. */
  activity() {
    if (!this.timer || !this.idleMs) return;
    this.idleAt = performance.now() + this.idleMs;
    this.render();
  }

  /** Align a clock with a server warning ("ends in N seconds"). */
  sync(reason, secondsLeft) {
    if (!this.timer || !(secondsLeft >= 0)) return;
    const at = performance.now() + secondsLeft * 1000;
    if (reason === 'idle_timeout') this.idleAt = at;
    else if (reason === 'max_lifetime') this.lifeAt = at;
    this.render();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
    this.renderFn(null);
  }

  /** Time left until the earlier of the two limits, or null if unlimited. */
  remaining() {
    if (!this.timer) return null;
    const at = Math.min(this.idleAt, this.lifeAt);
    if (at === Infinity) return null;
    return {
      ms: Math.max(0, at - performance.now()),
      reason: this.idleAt <= this.lifeAt ? 'idle_timeout' : 'max_lifetime',
    };
  }

  render() {
    this.renderFn(this.remaining());
  }
}

/** 75_000 → "1:15", 3_725_000 → "1:02:05" (rounded up to whole seconds). */
export function clock(ms) {
  const total = Math.ceil(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
