// iexbox browser page: a full-window xterm.js terminal attached to a fresh
// sandboxed iex session over the iexbox.v1 WebSocket protocol.
//
// Test hooks: window.iexbox = { term, state(), session(), newSession() }.

import '@xterm/xterm/css/xterm.css';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

import { Connection } from './connection.js';
import { Countdown } from './countdown.js';
import { describeClose, describeError, describeExit, describeWarning } from './messages.js';
import { Chrome } from './ui.js';

const FONT_STACK = [
  'ui-monospace',
  '"SFMono-Regular"',
  '"JetBrains Mono"',
  '"Cascadia Mono"',
  'Menlo',
  'Consolas',
  '"DejaVu Sans Mono"',
  '"Liberation Mono"',
  '"Noto Color Emoji"',
  'monospace',
].join(', ');

// Dark palette tuned to the page (see style.css).
const THEME = {
  background: '#0f0d15',
  foreground: '#e6e1ef',
  cursor: '#c9a7ff',
  cursorAccent: '#0f0d15',
  selectionBackground: '#5b3d8a99',
  selectionInactiveBackground: '#5b3d8a55',
  scrollbarSliderBackground: '#ffffff1f',
  scrollbarSliderHoverBackground: '#ffffff33',
  scrollbarSliderActiveBackground: '#ffffff47',
  black: '#1c1926',
  red: '#f0707a',
  green: '#7fd48a',
  yellow: '#e8c170',
  blue: '#7aa8f5',
  magenta: '#c69bf5',
  cyan: '#6fd0d6',
  white: '#d9d4e3',
  brightBlack: '#6d6680',
  brightRed: '#ff8f98',
  brightGreen: '#9ee8a8',
  brightYellow: '#f5d58f',
  brightBlue: '#9dc1ff',
  brightMagenta: '#dcbcff',
  brightCyan: '#93e6ea',
  brightWhite: '#ffffff',
};

const RESIZE_DEBOUNCE_MS = 50;

// ANSI snippets for the client's own lines in the terminal.
const YELLOW = '\x1b[33m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
const HIDE_CURSOR = '\x1b[?25l';

// ---- terminal ---------------------------------------------------------------

const container = document.getElementById('terminal');
const narrow = window.matchMedia('(max-width: 600px)').matches;

const term = new Terminal({
  fontFamily: FONT_STACK,
  fontSize: narrow ? 13 : 14,
  lineHeight: 1.15,
  cursorBlink: true,
  cursorStyle: 'block',
  cursorInactiveStyle: 'outline',
  scrollback: 5000,
  macOptionIsMeta: true,
  theme: THEME,
});
const fit = new FitAddon();
term.loadAddon(fit);
term.open(container);
safeFit();

const chrome = new Chrome();
const countdown = new Countdown((left) => chrome.setTimeLeft(left, state));

// ---- session state ----------------------------------------------------------

/** @type {'connecting'|'running'|'ended'} */
let state = 'connecting';
/** @type {Connection|null} */
let conn = null;
/** Limits from the current session's "ready" event. */
let limits = null;
/** Reason of the last warning shown in the header, if any. */
let warnedFor = null;

function setState(next) {
  state = next;
  chrome.setState(next);
  if (next !== 'running') countdown.stop();
  chrome.setTimeLeft(countdown.remaining(), next);
}

/** Open a WebSocket and start a new sandbox session. */
function connect() {
  limits = null;
  warnedFor = null;
  chrome.hideBanner();
  chrome.setNotice(null);
  term.options.disableStdin = false;
  setState('connecting');

  const c = new Connection(term, {
    // Size the terminal right before "hello" so the sandbox starts with the
    // real geometry.
    onOpen: safeFit,

    onReady(msg) {
      limits = { idle_timeout: msg.idle_timeout, max_lifetime: msg.max_lifetime };
      chrome.setSessionInfo(msg);
      setState('running');
      countdown.start(msg.idle_timeout, msg.max_lifetime);
      term.focus();
    },

    onWarning(msg) {
      const w = describeWarning(msg);
      warnedFor = msg.reason;
      countdown.sync(msg.reason, Number(msg.seconds_left));
      chrome.setNotice(w.header);
      term.write(`\r\n${YELLOW}[iexbox] ${w.line}${RESET}\r\n`);
    },

    onExit(msg) {
      end(describeExit(msg, limits));
    },

    onError(msg) {
      end(describeError(msg));
    },

    onClose(info) {
      // After an exit/error event the banner is already up; otherwise the
      // connection died under us.
      if (!info.final) end(describeClose(info, limits));
    },
  });
  conn = c;
}

/** Show why the session ended and stop taking input. */
function end(d) {
  if (state === 'ended') return;
  setState('ended');
  chrome.setNotice(null);
  chrome.showBanner(d);
  term.options.disableStdin = true;
  term.write(`\r\n${DIM}[iexbox] ${d.title}${RESET}\r\n${HIDE_CURSOR}`);
}

/** Drop the current session (if any) and start a fresh one. */
function newSession() {
  if (conn) conn.dispose(1000, 'new session');
  conn = null;
  // RIS (full reset) goes through the write queue, so output of the old
  // session that xterm has not rendered yet cannot leak into the new one.
  term.write('\x1bc');
  connect();
  term.focus();
}

// ---- input ------------------------------------------------------------------

term.onData((data) => {
  if (state === 'ended' || !conn) return;
  if (state === 'running') {
    countdown.activity();
    if (warnedFor === 'idle_timeout') {
      // The server resets its idle timer on input as well.
      warnedFor = null;
      chrome.setNotice(null);
    }
  }
  conn.sendInput(data);
});

// Some mouse reports arrive as "binary" strings (one char per byte).
term.onBinary((data) => {
  if (state !== 'ended' && conn) conn.sendBinaryInput(data);
});

// ---- sizing -----------------------------------------------------------------

function safeFit() {
  try {
    fit.fit();
  } catch {
    // The container can be hidden or zero-sized (e.g. in a background tab);
    // keep the current size and try again on the next resize.
  }
}

let resizeTimer = 0;
function scheduleFit() {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    safeFit();
    if (conn) conn.resize(term.cols, term.rows);
  }, RESIZE_DEBOUNCE_MS);
}

// Covers window resizes and layout changes such as the banner appearing.
new ResizeObserver(scheduleFit).observe(container);
window.addEventListener('resize', scheduleFit);
// Font metrics can change once fonts are available.
if (document.fonts && document.fonts.ready) document.fonts.ready.then(scheduleFit);
// Any other size change (the connection ignores duplicates and pre-hello calls).
term.onResize(({ cols, rows }) => {
  if (conn) conn.resize(cols, rows);
});

// ---- buttons ----------------------------------------------------------------

for (const id of ['new-session', 'banner-new']) {
  document.getElementById(id).addEventListener('click', newSession);
}

// ---- go ---------------------------------------------------------------------

connect();
term.focus();

/** Hooks for end-to-end tests. */
window.iexbox = {
  term,
  /** @returns {'connecting'|'running'|'ended'} */
  state: () => state,
  /** @returns {string|null} session id from the current session's "ready" */
  session: () => (conn ? conn.session : null),
  /** Same as clicking "New session". */
  newSession,
};
