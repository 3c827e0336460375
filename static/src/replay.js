// The replay page (/replay/<id>): plays a recorded session's asciicast in
// the project's xterm.js with play, pause, speed, seek and copy text.
// /replay/<id>?live=<watch path> also offers a way back to the live
// session (a viewer catching up).
//
// Test hooks: window.iexboxReplay = { term, ready, duration(), seek(t),
// play(), pause(), text(), screen() }.

import '@xterm/xterm/css/xterm.css';
import { Terminal } from '@xterm/xterm';

import { parseCast } from './cast.js';
import { playCast } from './replay-view.js';
import { DARK, MONO_FONT } from './theme.js';

const $ = (id) => document.getElementById(id);
const match = window.location.pathname.match(/^\/replay\/([0-9a-f]{32})\/?$/);
const id = match ? match[1] : '';
const live = new URLSearchParams(window.location.search).get('live');

const term = new Terminal({ fontFamily: MONO_FONT, fontSize: 14, theme: DARK, scrollback: 5000, disableStdin: true });
term.open($('terminal'));

const hooks = { term, ready: false };
window.iexboxReplay = hooks;

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
  const view = playCast(term, cast, {
    play: $('play'), seek: $('seek'), time: $('time'), speed: $('speed'), markers: $('markers'),
  }, { play: 'Play', pause: 'Pause' });
  const { player } = view;
  $('copy').addEventListener('click', async () => {
    await navigator.clipboard.writeText(view.text());
    $('status').textContent = 'Text copied.';
  });
  Object.assign(hooks, {
    ready: true,
    duration: () => cast.duration,
    seek: (t) => player.seek(t),
    play: () => player.play(),
    pause: () => player.pause(),
    text: () => view.text(),
    screen: () => document.querySelector('.xterm-rows')?.innerText ?? '',
  });
  player.play();
}).catch((err) => {
  $('status').textContent = err.message;
  hooks.error = err.message;
});
