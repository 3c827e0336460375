// The replay page (/replay/<id>): plays a recorded session's asciicast in
// the project's xterm.js with play, pause, speed, seek and copy text.
// /replay/<id>?live=<watch path> also offers a way back to the live
// session (a viewer catching up).
//
// Test hooks: window.iexboxReplay = { term, ready, duration(), seek(t),
// play(), pause(), text(), screen() }.

import '@xterm/xterm/css/xterm.css';
import { Terminal } from '@xterm/xterm';

import { castText, parseCast, Player } from './cast.js';
import { DARK, MONO_FONT } from './theme.js';

const $ = (id) => document.getElementById(id);
const match = window.location.pathname.match(/^\/replay\/([0-9a-f]{32})\/?$/);
const id = match ? match[1] : '';
const live = new URLSearchParams(window.location.search).get('live');

const term = new Terminal({ fontFamily: MONO_FONT, fontSize: 14, theme: DARK, scrollback: 5000, disableStdin: true });
term.open($('terminal'));

const hooks = { term, ready: false };
window.iexboxReplay = hooks;

const fmt = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

if (live && live.startsWith('/watch/')) {
  const back = $('live');
  back.href = live;
  back.hidden = false;
}

async function load() {
  const resp = await fetch(`/recordings/${id}.cast`, { cache: 'no-store' });
  if (!resp.ok) throw new Error(resp.status === 404 ? 'No recording has this link: it may have been deleted.' : `HTTP ${resp.status}`);
  return parseCast(await resp.text());
}

load().then((cast) => {
  const seek = $('seek');
  const time = $('time');
  const play = $('play');
  seek.max = String(cast.duration);
  const player = new Player(term, cast, (t) => {
    seek.value = String(t);
    time.textContent = `${fmt(t)} / ${fmt(cast.duration)}`;
    play.textContent = player && player.playing ? 'Pause' : 'Play';
    play.setAttribute('aria-pressed', player && player.playing ? 'true' : 'false');
  });
  player.onTick(0);
  play.disabled = false;
  play.addEventListener('click', () => (player.playing ? player.pause() : player.play()));
  seek.addEventListener('input', () => player.seek(Number(seek.value)));
  $('speed').addEventListener('change', (e) => { player.speed = Number(e.target.value); });
  $('copy').addEventListener('click', async () => {
    await navigator.clipboard.writeText(castText(cast.events));
    $('status').textContent = 'Text copied.';
  });
  const markers = cast.events.filter((e) => e[1] === 'm');
  for (const [t, , label] of markers) {
    const b = document.createElement('button');
    b.className = 'btn';
    b.type = 'button';
    b.textContent = `${fmt(t)} ${label}`;
    b.addEventListener('click', () => player.seek(t));
    $('markers').append(b);
  }
  Object.assign(hooks, {
    ready: true,
    duration: () => cast.duration,
    seek: (t) => player.seek(t),
    play: () => player.play(),
    pause: () => player.pause(),
    text: () => castText(cast.events),
    screen: () => document.querySelector('.xterm-rows')?.innerText ?? '',
  });
  player.play();
}).catch((err) => {
  $('status').textContent = err.message;
  hooks.error = err.message;
});
