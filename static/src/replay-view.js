// A cast played into a terminal with its controls: play and pause, a seek
// slider with the time, speed, and a button per marker. The replay page
// (replay.js) and the watch page's catch-up view (catch-up.js) share it,
// each with its own elements and words.

import { castText, Player } from './cast.js';

/** m:ss of s seconds. */
export const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

/**
 * Plays cast into term, driven by els: play (a button), seek (a range
 * input), time (where the position is written), speed (a select) and
 * markers (where a button per marker goes). words.play and words.pause
 * name the play button's two states.
 *
 * @returns {{player: Player, duration: () => number, text: () => string, destroy: () => void}}
 *          destroy stops playing and lets go of the controls (idempotent)
 */
export function playCast(term, cast, els, words) {
  const ac = new AbortController();
  const on = (el, type, fn) => el.addEventListener(type, fn, { signal: ac.signal });
  els.seek.max = String(cast.duration);
  const player = new Player(term, cast, (t) => {
    els.seek.value = String(t);
    els.seek.setAttribute('aria-valuetext', clock(t));
    els.time.textContent = `${clock(t)} / ${clock(cast.duration)}`;
    const playing = !!player && player.playing;
    els.play.textContent = playing ? words.pause : words.play;
    els.play.setAttribute('aria-pressed', String(playing));
  });
  player.speed = Number(els.speed.value) || 1;
  player.onTick(0);
  els.play.disabled = false;
  on(els.play, 'click', () => (player.playing ? player.pause() : player.play()));
  // The slider moves in steps (0.01 s): its last step (End, say) may fall
  // short of the cast's end, which must still be reachable.
  const step = Number(els.seek.step) || 0.01;
  on(els.seek, 'input', () => {
    const v = Number(els.seek.value);
    player.seek(v > cast.duration - step ? cast.duration : v);
  });
  on(els.speed, 'change', () => { player.speed = Number(els.speed.value); });
  const marks = [];
  for (const [t, , label] of cast.events.filter((e) => e[1] === 'm')) {
    const b = document.createElement('button');
    b.className = 'btn';
    b.type = 'button';
    b.textContent = `${clock(t)} ${label}`;
    on(b, 'click', () => player.seek(t));
    els.markers.append(b);
    marks.push(b);
  }
  return {
    player,
    duration: () => cast.duration,
    text: () => castText(cast.events),
    destroy() {
      if (ac.signal.aborted) return;
      player.pause();
      ac.abort();
      for (const b of marks) b.remove();
      els.play.disabled = true;
    },
  };
}
