// iexbox browser page: a full-window xterm.js terminal attached to a fresh
// sandboxed iex session over the iexbox.v1 WebSocket protocol.
//
// A resumable session survives a reload (its token is kept in
// sessionStorage); /watch/<token> shows a shared session read-only;
// /?classroom=CODE joins a class (learner.js): the name is asked once,
// the teacher's messages and watching are shown. The page speaks its
// ?lang= (en or ko), else the browser's language (page-words.js).
//
// Test hooks: window.iexbox = { term, state(), session(), newSession(),
// share(), shareURL(), viewers(), viewer, learner(), classMessage(),
// watched(), record(), recording(), catchUp }.

import '@xterm/xterm/css/xterm.css';

import { Connection, socketURL } from './connection.js';
import { Countdown } from './countdown.js';
import { fillKeyBar } from './keybar.js';
import { describeClose, describeError, describeExit, describeQueued, describeWarning } from './messages.js';
import { pageResume } from './resume.js';
import { keptTextSize, stepTextSize } from './text-size.js';
import { createTerminal } from './terminal.js';
import { DARK, MONO_FONT } from './theme.js';
import { Announcer, Transcript } from './transcript.js';
import { Chrome } from './ui.js';
import { describeRefused, RecordingNotice } from './recording.js';
import { CatchUp } from './catch-up.js';
import { ClassChrome } from './class-chrome.js';
import { localize, pageLanguage, words, wordsOf } from './i18n.js';
import { PAGE_WORDS } from './page-words.js';
import { normalizeCode, seatFor } from './learner.js';
import { TeacherPanel, teacherURL } from './teacher-panel.js';

// The dark palette on the page's background (style.css --bg), with a
// scrollbar that shows on it and a selection that stays visible unfocused.
const PAGE_BACKGROUND = '#0f0d15';
const THEME = {
  ...DARK,
  background: PAGE_BACKGROUND,
  cursorAccent: PAGE_BACKGROUND,
  selectionInactiveBackground: '#5b3d8a55',
  scrollbarSliderBackground: '#ffffff1f',
  scrollbarSliderHoverBackground: '#ffffff33',
  scrollbarSliderActiveBackground: '#ffffff47',
};

const RESIZE_DEBOUNCE_MS = 50;

// ANSI snippets for the client's own lines in the terminal.
const YELLOW = '\x1b[33m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
const HIDE_CURSOR = '\x1b[?25l';

// ---- words --------------------------------------------------------------------

const lang = pageLanguage();
const t = wordsOf(PAGE_WORDS, lang);
localize(lang, t);
document.title = t('title');

// ---- terminal ---------------------------------------------------------------

const container = document.getElementById('terminal');
const narrow = window.matchMedia('(max-width: 600px)').matches;

const { term, fit } = createTerminal(container, {
  fontFamily: MONO_FONT,
  fontSize: keptTextSize(narrow ? 13 : 14),
  cursorStyle: 'block',
  scrollback: 5000,
  macOptionIsMeta: true,
  theme: THEME,
}, {
  // F6 or Escape twice: the terminal region itself takes the focus, and
  // Tab goes on from there.
  onLeave: () => container.focus(),
  inputLabel: t('inputLabel'),
  inputDescription: document.getElementById('terminal-help').textContent,
});
safeFit();

// Each evaluation's result, read out politely as plain text.
const announcer = new Announcer(document.getElementById('announce'));
const transcript = new Transcript((output) => announcer.say(output));

/** Step the terminal's text size by one (dir = 1 or -1), and keep it. */
function stepText(dir) {
  term.options.fontSize = stepTextSize(term.options.fontSize, dir);
  scheduleFit();
}

const chrome = new Chrome(t);
const countdown = new Countdown((left) => chrome.setTimeLeft(left, state));

// ---- session state ----------------------------------------------------------

/** A watch link (/watch/<token>) opens this page as a read-only viewer. */
const watchMatch = window.location.pathname.match(/^\/watch\/([^/]+)\/?$/);
const watchToken = watchMatch ? decodeURIComponent(watchMatch[1]) : null;
const viewer = watchToken !== null;

/** ?instance=NAME: the server this page's new sessions ask for. */
const pinnedInstance = new URLSearchParams(window.location.search).get('instance') || '';

/** ?classroom=CODE: the class this page's sessions join, until it ends. */
const classCode = viewer ? null : new URLSearchParams(window.location.search).get('classroom');

/** Where the resume token survives a reload (one per tab, and class). */
const resumeSlot = pageResume(classCode ? normalizeCode(classCode) : '');
/** Give up reconnecting after this long: the server's default grace. */
const RECONNECT_FOR_MS = 30_000;

/** @type {'connecting'|'running'|'ended'} */
let state = 'connecting';
/** @type {Connection|null} */
let conn = null;
/** Limits from the current session's "ready" event. */
let limits = null;
/** Reason of the last warning shown in the header, if any. */
let warnedFor = null;
/** When the current run of reconnect attempts began, or 0. */
let reconnectingSince = 0;
let reconnectTimer = 0;
let viewerCount = 0;
let shareURL = null;
/** The next new session is recorded (the Record control). */
let recordNext = false;
/** The class ended (or took this learner out): its strip stays, sessions
 *  from now on are the learner's own. */
let classOver = false;
const recording = new RecordingNotice(viewer, viewer ? window.location.pathname : null, t);
/** A viewer's catch-up on a recorded session, in this page. */
const catchUp = new CatchUp({ liveTerm: term, t });

let seat = classCode ? seatFor(window.location.origin, classCode) : null;
const classChrome = new ClassChrome(words(lang));
if (seat && seat.kept()) classChrome.show(seat.code, seat.kept().name);
// The class's "Teacher's console" panel: offered while the class shows it.
const teacherPanel = new TeacherPanel(document, classChrome.t);
document.getElementById('class-message-box').after(teacherPanel.root);
let readyInstance = ''; // the server of this session, where the teacher's console is

function setState(next) {
  state = next;
  chrome.setState(next, viewer);
  if (next !== 'running') countdown.stop();
  chrome.setTimeLeft(countdown.remaining(), next);
}

/** Open a WebSocket: resume the stored session if there is one, watch a
 *  shared one in viewer mode, else start a new sandbox session. */
function connect() {
  limits = null;
  warnedFor = null;
  chrome.hideBanner();
  chrome.setNotice(reconnectingSince ? t('reconnecting') : null);
  term.options.disableStdin = viewer;
  setState('connecting');

  let hello = { resumable: true };
  // ?toolchain=NAME picks the toolchain of a new session (GET /toolchains
  // lists them); a resume keeps the session's own.
  const toolchain = new URLSearchParams(window.location.search).get('toolchain');
  if (toolchain) hello.toolchain = toolchain;
  // ?instance=NAME (a class's join link names the server that holds the
  // class): a load balancer routes the session there, as it does a resume.
  let url = socketURL(window.location.origin, pinnedInstance);
  const resume = viewer ? null : resumeSlot.load();
  if (viewer) {
    hello = { mode: 'viewer', watch: watchToken };
  } else if (resume) {
    hello = { resumable: true, resume: resume.token };
    url = socketURL(window.location.origin, resume.instance);
  } else if (recordNext) {
    hello.record = true;
  }
  if (seat && !viewer && !resume) {
    // A new session of the class: by the kept learner token, else by the
    // name the form asks for (the terminal waits meanwhile).
    const asked = seat.hello((problem) => classChrome.ask(seat.code, problem));
    const attempt = ++connectAttempt;
    asked.then((fields) => {
      if (attempt === connectAttempt) open(url, { ...hello, ...fields }, resume);
      else seat.endTurn(); // a newer attempt asks again
    });
    return;
  }
  open(url, hello, resume);
}

/** Counts connect calls, so that a name typed for an attempt that was
 *  since given up opens nothing. */
let connectAttempt = 0;

/** Open the WebSocket of one attempt with its hello. */
function open(url, hello, resume) {
  const inClass = !!(seat && hello.class);
  const c = new Connection(term, {
    // Size the terminal right before "hello" so the sandbox starts with the
    // real geometry.
    onOpen: viewer ? undefined : safeFit,

    onQueued(msg) {
      chrome.setWaiting(describeQueued(msg, lang));
    },

    onOutput(bytes) {
      transcript.feed(bytes);
    },

    onReady(msg) {
      transcript.reset();
      if (resume || viewer) {
        // The server redraws the screen from its history: start clean.
        // (Queued before the replay, which arrives after this event.)
        term.write('\x1bc');
      }
      if (viewer && msg.cols && msg.rows) term.resize(msg.cols, msg.rows);
      if (msg.resume) resumeSlot.save(msg.resume, msg.instance);
      readyInstance = msg.instance || '';
      if (seat && msg.class) seat.joined(msg);
      if (seat && seat.kept()) classChrome.show(seat.code, msg.name || seat.kept().name);
      classChrome.watched(false);
      reconnectingSince = 0;
      chrome.setNotice(null);
      limits = { idle_timeout: msg.idle_timeout, max_lifetime: msg.max_lifetime };
      chrome.setSessionInfo(msg);
      setState('running');
      // After a resume only part of the lifetime is left (lifetime_left);
      // servers without the field get the whole of it.
      const lifeLeft = msg.lifetime_left > 0 ? msg.lifetime_left : msg.max_lifetime;
      countdown.start(viewer ? 0 : msg.idle_timeout, viewer ? 0 : lifeLeft);
      if (!viewer) term.focus();
    },

    onWarning(msg) {
      if (msg.reason === 'recording_refused') {
        chrome.setNotice(describeRefused(msg, t));
        return;
      }
      const w = describeWarning(msg, lang);
      warnedFor = msg.reason;
      countdown.sync(msg.reason, Number(msg.seconds_left));
      chrome.setNotice(w.header);
      term.write(`\r\n${YELLOW}[iexbox] ${w.line}${RESET}\r\n`);
    },

    onEvent(msg) {
      if (msg.type === 'viewers') {
        viewerCount = msg.count;
        chrome.setViewers(msg.count);
      } else if (msg.type === 'shared') {
        shareURL = new URL(msg.url, window.location.origin).toString();
        chrome.showShare(shareURL);
      } else if (msg.type === 'size' && viewer) {
        term.resize(msg.cols, msg.rows);
      } else if (msg.type === 'recording') {
        recording.show(msg);
        if (viewer) catchUp.offer(msg);
      } else if (msg.type === 'recording_stopped') {
        recording.stop();
      } else if (msg.type === 'message' && typeof msg.text === 'string') {
        classChrome.showMessage(msg.text);
      } else if (msg.type === 'watched') {
        classChrome.watched(true);
      } else if (msg.type === 'teacher_console' && typeof msg.url === 'string') {
        teacherPanel.offer(teacherURL(msg, window.location.origin, readyInstance));
      } else if (msg.type === 'teacher_console_ended') {
        teacherPanel.withdraw();
      }
      if (msg.type === 'viewers' && msg.count === 0) classChrome.watched(false);
    },

    onExit(msg) {
      resumeSlot.clear();
      if (msg.reason === 'class_ended' && seat) {
        // The token is no good any more; the next session is one's own.
        seat.forget();
        classOver = true;
      }
      end(describeExit(msg, limits, lang));
    },

    onError(msg) {
      if (msg.code === 'resume_failed' && !reconnectingSince) {
        // A reload after the session ended: just start a fresh one.
        resumeSlot.clear();
        conn = null;
        term.write('\x1bc');
        connect();
        return;
      }
      if (viewer && msg.code === 'lagging') {
        // Fell behind: reconnect, which replays the screen, and skip ahead.
        conn = null;
        setTimeout(connect, 200);
        return;
      }
      resumeSlot.clear();
      reconnectingSince = 0;
      if (inClass && classRefusal(msg, hello)) return;
      if (inClass) seat.endTurn();
      end(describeError(msg, lang));
    },

    onClose(info) {
      // After an exit/error event the banner is already up; otherwise the
      // connection died under us: a resumable session may still be there.
      if (info.final) return;
      if (inClass) seat.endTurn();
      if (viewer || resumeSlot.load()) {
        reconnect();
        return;
      }
      end(describeClose(info, limits, lang));
    },
  }, url, hello);
  conn = c;
}

/** A class's refusal of a hello, handled: a learner token the class no
 *  longer knows is forgotten and the name asked again; a refused name
 *  (taken, or not allowed) is asked again with the reason; an unknown or
 *  ended class is said so. Reports whether it was one. */
function classRefusal(msg, hello) {
  const t = classChrome.t;
  if (msg.code === 'not_found' && hello.learner) {
    seat.forget();
  } else if (msg.code === 'protocol' && hello.name) {
    seat.refused(msg.message);
  } else if (msg.code === 'not_found' && hello.name) {
    seat.endTurn();
    end({ title: t('noClass'), detail: msg.message || '', tone: 'warn' });
    return true;
  } else {
    return false;
  }
  conn = null;
  connect();
  return true;
}

/** Try to resume after a drop, with growing pauses, for a while. */
function reconnect() {
  const now = Date.now();
  if (!reconnectingSince) reconnectingSince = now;
  if (now - reconnectingSince > RECONNECT_FOR_MS) {
    reconnectingSince = 0;
    resumeSlot.clear();
    end({ title: t('lostTitle'), detail: t('lostDetail'), tone: 'error' });
    return;
  }
  conn = null;
  setState('connecting');
  chrome.setNotice(t('reconnecting'));
  const delay = Math.min(500 * 2 ** Math.floor((now - reconnectingSince) / 2000), 4000);
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(connect, delay);
}

/** Show why the session ended and stop taking input. */
function end(d) {
  teacherPanel.reset();
  if (state === 'ended') return;
  setState('ended');
  chrome.setNotice(null);
  chrome.setViewers(0);
  chrome.hideShare();
  chrome.showBanner(d);
  term.options.disableStdin = true;
  term.write(`\r\n${DIM}[iexbox] ${d.title}${RESET}\r\n${HIDE_CURSOR}`);
}

/** End the current session (if any) and start a fresh one. */
function newSession() {
  if (classChrome.asking()) return; // the session starts once the name is in
  clearTimeout(reconnectTimer);
  if (classOver && seat) {
    // After the class: a session of one's own, and a URL that says so.
    seat = null;
    classChrome.hide();
    const u = new URL(window.location.href);
    u.searchParams.delete('classroom');
    window.history.replaceState(null, '', u);
  }
  classChrome.watched(false);
  reconnectingSince = 0;
  if (conn) conn.end(); // ends a resumable session at once
  conn = null;
  resumeSlot.clear();
  viewerCount = 0;
  shareURL = null;
  recording.clear();
  catchUp.withdraw();
  chrome.setViewers(0);
  chrome.hideShare();
  // RIS (full reset) goes through the write queue, so output of the old
  // session that xterm has not rendered yet cannot leak into the new one.
  term.write('\x1bc');
  connect();
  if (!classChrome.asking()) term.focus();
}

/** Ask for a watch link; the answer opens the share panel. */
function share() {
  if (shareURL) chrome.showShare(shareURL);
  else if (conn && state === 'running') conn.share();
}

/** Revoke the watch link: its viewers are disconnected; Share makes a new one. */
function unshare() {
  if (conn && state === 'running') conn.unshare();
  shareURL = null;
  chrome.hideShare();
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
  transcript.sent(data);
  conn.sendInput(data);
});

// Some mouse reports arrive as "binary" strings (one char per byte).
term.onBinary((data) => {
  if (state !== 'ended' && conn) conn.sendBinaryInput(data);
});

// ---- sizing -----------------------------------------------------------------

function safeFit() {
  if (viewer) return; // a viewer's terminal has the presenter's size
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
  document.getElementById(id).addEventListener('click', () => {
    if (viewer) window.location.assign('/');
    else newSession();
  });
}
document.getElementById('share').addEventListener('click', share);
document.getElementById('text-smaller').addEventListener('click', () => stepText(-1));
document.getElementById('text-larger').addEventListener('click', () => stepText(1));
fillKeyBar(document.getElementById('keybar'), () => term, (data) => {
  if (state === 'ended' || !conn || viewer) return;
  transcript.sent(data);
  conn.sendInput(data);
}, (k) => t('keybar')[k] || k);
document.getElementById('record').title = t('privacy');
document.getElementById('record').addEventListener('click', () => record(!recordNext));

/** The Record control: a recording is asked for when a session starts,
 *  so turning it on starts a fresh, recorded session. */
function record(on) {
  recordNext = on;
  document.getElementById('record').setAttribute('aria-pressed', String(on));
  if (on) newSession();
}
document.getElementById('share-stop').addEventListener('click', unshare);
if (viewer) {
  document.getElementById('new-session-text').textContent = t('ownSession');
  document.getElementById('new-session').setAttribute('aria-label', t('ownSessionLabel'));
  document.getElementById('new-session').title = t('ownSessionTitle');
}

// ---- go ---------------------------------------------------------------------

connect();
if (!classChrome.asking()) term.focus();

/** Hooks for end-to-end tests. */
window.iexbox = {
  term,
  /** @returns {'connecting'|'running'|'ended'} */
  state: () => state,
  /** @returns {string|null} session id from the current session's "ready" */
  session: () => (conn ? conn.session : null),
  /** Same as clicking "New session". */
  newSession,
  /** Same as clicking "Share"; the link is then in shareURL(). */
  share,
  shareURL: () => shareURL,
  /** Same as clicking "Stop sharing". */
  unshare,
  viewers: () => viewerCount,
  viewer,
  /** The text of the live region: the last result announced. */
  announced: () => document.getElementById('announce').textContent,
  /** Same as the Record control; the last recording event is in recording(). */
  record,
  recording: () => recording.current,
  /** The catch-up view (a viewer's): shown(), duration(), seek(t), screen(), text(), timeOf(s). */
  catchUp: catchUp.hooks(),
  /** The learner kept for ?classroom=CODE, {token, name}, or null. */
  learner: () => (seat ? seat.kept() : null),
  /** The text of the teacher's last message shown, or ''. */
  classMessage: () => document.getElementById('class-message').textContent,
  /** The watching notice's text, or ''. */
  watched: () => document.getElementById('watched').textContent,
  /** Whether the name form is up. */
  askingName: () => classChrome.asking(),
  /** The "Teacher's console" panel: offered, open, its watch page and status. */
  teacherConsole: () => ({
    offered: !teacherPanel.toggle.hidden, open: teacherPanel.isOpen(),
    url: teacherPanel.url, status: teacherPanel.status.textContent,
  }),
};
