// The watch page's catch-up: a viewer who joined a recorded live session
// late loads what was recorded so far (the recording's cast, as stored at
// the last flush) into a terminal of its own, in place of the live one,
// scrubs through it with the replay page's controls (replay-view.js), and
// goes back to live, where the live terminal went on meanwhile.
//
// Keyboard: opening moves the focus to Play; Escape, or Back to live,
// returns it to the Catch up button. Both terminals stay in the page, so
// nothing of the live session is lost while catching up.

import { parseCast } from './cast.js';
import { playCast } from './replay-view.js';
import { createTerminal } from './terminal.js';

const $ = (id) => document.getElementById(id);

export class CatchUp {
  /**
   * @param {{liveTerm: import('@xterm/xterm').Terminal, t: (key: string, ...args: any[]) => string}} opts
   *        the live terminal (its looks are copied) and the page's words
   */
  constructor({ liveTerm, t }) {
    this.liveTerm = liveTerm;
    this.t = t;
    this.button = $('catch-up');
    this.section = $('catchup');
    this.live = $('terminal');
    this.status = $('catchup-status');
    this.castURL = '';
    this.term = null;
    this.view = null;
    this.loading = false;
    this.button.addEventListener('click', () => (this.shown ? this.back() : this.open()));
    $('catchup-live').addEventListener('click', () => this.back());
    this.section.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !e.ctrlKey && !e.altKey && !e.metaKey) {
        e.preventDefault();
        this.back();
      }
    });
  }

  /** Whether the catch-up view is up. */
  get shown() { return !this.section.hidden; }

  /** A recording event of a live session: offer to catch up on it. */
  offer(msg) {
    this.castURL = msg.cast_url;
    this.button.hidden = false;
  }

  /** The session ended or changed: nothing to catch up on. */
  withdraw() {
    this.back(false);
    this.castURL = '';
    this.button.hidden = true;
  }

  /** Loads what was recorded so far and shows it in place of the live terminal. */
  async open() {
    if (!this.castURL || this.loading) return;
    this.loading = true;
    this.status.textContent = this.t('catchUpLoading');
    try {
      const resp = await fetch(this.castURL, { cache: 'no-store' });
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      const cast = parseCast(await resp.text());
      this.close();
      this.section.hidden = false;
      this.live.hidden = true;
      this.button.setAttribute('aria-expanded', 'true');
      const o = this.liveTerm.options;
      ({ term: this.term } = createTerminal($('catchup-terminal'), {
        fontFamily: o.fontFamily, fontSize: o.fontSize, theme: o.theme, scrollback: 5000,
        disableStdin: true, cursorBlink: false,
      }, { onLeave: () => $('catchup-play').focus(), inputLabel: this.t('recordedTerminal') }));
      this.term.open($('catchup-terminal'));
      this.view = playCast(this.term, cast, {
        play: $('catchup-play'), seek: $('catchup-seek'), time: $('catchup-time'),
        speed: $('catchup-speed'), markers: $('catchup-markers'),
      }, { play: this.t('play'), pause: this.t('pause') });
      // Start at the end: what was recorded last is what a late viewer
      // has just missed; Play or the slider go back from there.
      this.view.player.seek(cast.duration);
      this.status.textContent = this.t('catchUpShown', this.view.duration());
      $('catchup-play').focus();
    } catch (err) {
      this.status.textContent = this.t('catchUpFailed', err.message);
    } finally {
      this.loading = false;
    }
  }

  /** Back to the live terminal; focus returns to the Catch up button. */
  back(focus = true) {
    if (!this.shown) return;
    this.close();
    this.section.hidden = true;
    this.live.hidden = false;
    this.button.setAttribute('aria-expanded', 'false');
    this.status.textContent = '';
    this.liveTerm.scrollToBottom();
    if (focus && !this.button.hidden) this.button.focus();
  }

  close() {
    if (this.view) this.view.destroy();
    if (this.term) this.term.dispose();
    this.view = null;
    this.term = null;
  }

  /** Test hooks. */
  hooks() {
    return {
      shown: () => this.shown,
      duration: () => (this.view ? this.view.duration() : 0),
      seek: (t) => this.view && this.view.player.seek(t),
      screen: () => $('catchup-terminal').querySelector('.xterm-rows')?.innerText ?? '',
      text: () => (this.view ? this.view.text() : ''),
      /** The time of the first output event holding s, or -1. */
      timeOf: (s) => {
        const e = this.view && this.view.player.cast.events.find((x) => x[1] === 'o' && x[2].includes(s));
        return e ? e[0] : -1;
      },
    };
  }
}
