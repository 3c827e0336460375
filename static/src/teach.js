// The teacher's page (/teach#class=CODE&token=TOKEN, docs/classes.md):
// the class's join code and link, its learners live (the event stream of
// GET /classes/CODE/events), a summary per exercise, and the teacher's
// controls: watch a learner, remove one, message everyone, show the
// teacher's own console to the class (an <iex-console> of the page, shared
// and shown with POST /classes/CODE/show), download the results, end or
// delete the class. It speaks its ?lang= (en or ko), else the browser's
// language (teach-words.js).
//
// The teacher token arrives in the URL's fragment, which no browser sends
// to a server; the page moves it to sessionStorage and clears it from the
// address bar at once, and sends it only as an Authorization header.
//
// Test hooks: window.iexboxTeach = { roster(), state(), streaming(),
// announced(), dropStream(), showing() }.

import './teach.css';

import { EventStream } from './event-stream.js';
import { loadLocal, saveLocal, TEACH_KEY, THEME_KEY } from './resume.js';
import { Announcer } from './transcript.js';
import { resultText, Roster, RosterView } from './roster-view.js';
import { localize, pageLanguage, wordsOf } from './i18n.js';
import { TEACH_WORDS } from './teach-words.js';

const $ = (id) => document.getElementById(id);

const lang = pageLanguage();
const t = wordsOf(TEACH_WORDS, lang);
localize(lang, t);
document.title = t('title');

/** A message to the class has at most this many characters (the
 *  protocol's MaxMessage). */
const MAX_MESSAGE = 280;

// ---- theme ------------------------------------------------------------------

/** Light or dark: the teacher's choice, else the system's. */
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  $('teacher-console').setAttribute('theme', theme);
  $('theme').setAttribute('aria-pressed', String(theme === 'light'));
}
const chosen = loadLocal(THEME_KEY);
applyTheme(chosen === 'light' || chosen === 'dark' ? chosen
  : window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark');
$('theme').addEventListener('click', () => {
  const next = document.documentElement.dataset.theme === 'light' ? 'dark' : 'light';
  saveLocal(THEME_KEY, next);
  applyTheme(next);
});

// ---- the class and its teacher token ----------------------------------------

/** The class and token: from the fragment (then cleared from the address
 *  bar), else from this tab's earlier visit. */
function credentials() {
  const hash = new URLSearchParams(window.location.hash.slice(1));
  if (hash.get('class') && hash.get('token')) {
    const c = { code: hash.get('class'), token: hash.get('token') };
    try {
      sessionStorage.setItem(TEACH_KEY, JSON.stringify(c));
    } catch {
      // No storage: a reload will need the teacher link again.
    }
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    return c;
  }
  try {
    const c = JSON.parse(sessionStorage.getItem(TEACH_KEY) || 'null');
    return c && c.code && c.token ? c : null;
  } catch {
    return null;
  }
}

const cred = credentials();
const classPath = cred ? `/classes/${encodeURIComponent(cred.code)}` : '';

/** ?instance=NAME: the server that opened the class (its teacher_url
 *  names it); every request asks for it, so a load balancer routes them
 *  there, and so does the join link. */
const instance = new URLSearchParams(window.location.search).get('instance') || '';

/** The URL of the class's API at path (and query), pinned to instance. */
function classURL(path) {
  const u = new URL(classPath + path, window.location.origin);
  if (instance) u.searchParams.set('instance', instance);
  return u.toString();
}
const auth = cred ? { Authorization: `Bearer ${cred.token}` } : {};

/** Call the class's API; resolves with the response (JSON read into
 *  .data when there is a body), or rejects with the server's message. */
async function api(method, path, body) {
  const res = await fetch(classURL(path), {
    method,
    headers: body === undefined ? auth : { ...auth, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  let data = null;
  if (res.status !== 204 && (res.headers.get('Content-Type') || '').includes('json')) data = await res.json();
  if (!res.ok) throw new Error(data && data.message ? data.message : t('serverAnswered', res.status));
  return { res, data };
}

// ---- what the page shows ----------------------------------------------------

const roster = new Roster();
const announcer = new Announcer($('announce'));
const view = new RosterView(
  { list: $('learners'), empty: $('no-learners'), count: $('learner-count'), summary: $('summary-body'), heading: $('learners-title') },
  { watch, remove: removeLearner },
  t,
);

/** Something the teacher must know and act on: shown, and said. */
function problem(text) {
  $('problem').textContent = text;
  $('problem').hidden = !text;
}

function streamState(state, text) {
  $('stream').dataset.state = state;
  $('stream-text').textContent = text;
}

/** Announcements are gathered for a moment, so a burst is said once. */
let said = [];
let sayTimer = 0;
function say(text) {
  said.push(text);
  clearTimeout(sayTimer);
  sayTimer = setTimeout(() => {
    announcer.say(said.join('. '));
    said = [];
  }, 300);
}

const STATE_TEXT = t('states');

function showClass() {
  $('class-title').textContent = roster.title ? `${roster.title}` : t('class');
  document.title = t('classTitle', roster.title || t('class'), roster.code);
  $('join-code').textContent = roster.code;
  const join = new URL('/', window.location.origin);
  join.searchParams.set('classroom', roster.code);
  if (instance) join.searchParams.set('instance', instance);
  $('join-link').value = join.toString();
  $('class-state').textContent = STATE_TEXT[roster.state] || roster.state;
  document.body.dataset.classState = roster.state;
  const ended = roster.state === 'ended';
  $('end-class').disabled = ended;
  $('message-send').disabled = ended;
  $('message').disabled = ended;
  $('show-console').disabled = ended;
  view.render(roster);
}

// ---- the event stream -------------------------------------------------------

let streaming = false;
const stream = new EventStream(classURL('/events'), auth, {
  onOpen() {
    streaming = true;
    streamState('running', t('live'));
    problem('');
  },
  onEvent(name, data) {
    if (name === 'roster') {
      roster.reset(data);
    } else if (name === 'learner') {
      const { joined, fresh } = roster.update(data);
      if (joined) say(t('joined', data.name));
      for (const { exercise, result } of fresh) say(t('resultSaid', data.name, exercise, resultText(result, t)));
    } else if (name === 'removed') {
      const gone = roster.remove(data.id);
      if (gone) say(t('left', gone.name));
    } else if (name === 'class') {
      roster.state = data.state;
      if (data.state === 'ended') say(t('classEnded'));
    }
    showClass();
  },
  onDrop() {
    streaming = false;
    streamState('connecting', t('reconnecting'));
  },
  onRefused(status, body) {
    streaming = false;
    streamState('ended', t('stopped'));
    problem(body && body.message ? t('cannotFollow', body.message) : t('cannotFollowAny'));
  },
});

// The server counts idle time only when something else changes; the page
// counts up between, and a fresh roster now and then puts it right.
setInterval(() => view.tick(), 1000);
setInterval(async () => {
  if (!streaming || document.hidden) return;
  try {
    const { data } = await api('GET', '');
    roster.reset(data);
    showClass();
  } catch {
    // The stream reports trouble; this is a correction only.
  }
}, 20_000);

// ---- controls -----------------------------------------------------------------

/** Ask before doing something that cannot be undone; resolves true to go
 *  on. A modal <dialog>: Escape and Cancel say no. */
function confirmAction(title, text, ok) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  const back = document.activeElement;
  dialog.returnValue = '';
  dialog.showModal();
  $('confirm-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (back && back.isConnected) back.focus();
      resolve(dialog.returnValue === 'ok');
    }, { once: true });
  });
}
$('confirm-ok').addEventListener('click', () => $('confirm').close('ok'));
$('confirm-cancel').addEventListener('click', () => $('confirm').close('cancel'));

/** Tell the outcome of an action in the controls' status line. */
function status(text) {
  $('action-status').textContent = text;
}

async function watch(learner) {
  try {
    const { data } = await api('POST', '/watch', { learner: learner.id });
    const watchURL = new URL(data.url, window.location.origin);
    if (instance) watchURL.searchParams.set('instance', instance); // where the console runs
    const url = watchURL.toString();
    $('watch-title').textContent = t('watchingName', learner.name);
    $('watch-frame').title = t('watchFrameName', learner.name);
    $('watch-frame').src = url;
    $('watch-open').href = url;
    $('watch-panel').hidden = false;
    $('watch-panel').scrollIntoView({ block: 'start' });
    $('watch-title').focus();
  } catch (err) {
    status(t('cannotWatch', learner.name, err.message));
  }
}

function closeWatch() {
  $('watch-frame').src = 'about:blank';
  $('watch-panel').hidden = true;
  status('');
}
$('watch-close').addEventListener('click', closeWatch);

// ---- the teacher's own console, shown to the class --------------------------

let showing = false;
$('teacher-console').setAttribute('label', t('showConsoleLabel'));
// The console runs on the class's server, whose learners it is shown to.
if (instance) $('teacher-console').setAttribute('instance', instance);
function showState(on, text) {
  showing = on;
  $('show-console').hidden = on;
  $('show-stop').hidden = !on;
  $('show-status').textContent = text;
}

$('show-console').addEventListener('click', async () => {
  const el = $('teacher-console');
  $('teacher-console-box').hidden = false;
  $('show-console').disabled = true;
  $('show-status').textContent = t('showStarting');
  try {
    const shared = await el.share();
    const { data } = await api('POST', '/show', { watch: shared.watch });
    const n = data.delivered;
    showState(true, t('showShown', n));
    el.focus();
  } catch (err) {
    showState(false, t('showFailed', err.message));
  } finally {
    $('show-console').disabled = roster.state === 'ended';
  }
});

$('show-stop').addEventListener('click', async () => {
  try {
    await api('DELETE', '/show');
  } catch (err) {
    $('show-status').textContent = t('showStill', err.message);
    return;
  }
  $('teacher-console').unshare(); // its watch link stops working too
  showState(false, t('showStopped'));
  $('show-console').focus();
});

// The console's end ends the showing: the server tells the learners.
$('teacher-console').addEventListener('iex-exit', () => {
  if (showing) showState(false, t('showEnded'));
});

async function removeLearner(learner) {
  const yes = await confirmAction(t('removeTitle', learner.name), t('removeText', learner.name), t('remove'));
  if (!yes) return;
  try {
    await api('DELETE', `/learners/${encodeURIComponent(learner.id)}`);
    status(t('removed', learner.name));
  } catch (err) {
    status(t('notRemoved', learner.name, err.message));
  }
}

$('message').maxLength = MAX_MESSAGE;
function countMessage() {
  const n = [...$('message').value].length;
  $('message-count').textContent = `${n} / ${MAX_MESSAGE}`;
}
$('message').addEventListener('input', countMessage);
countMessage();
$('message-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('message').value.trim();
  if (!text) {
    status(t('writeFirst'));
    $('message').focus();
    return;
  }
  try {
    const { data } = await api('POST', '/message', { text });
    status(t('sent', data.delivered));
    $('message').value = '';
    countMessage();
  } catch (err) {
    status(t('notSent', err.message));
  }
});

$('end-class').addEventListener('click', async () => {
  const yes = await confirmAction(t('endTitle'), t('endText'), t('endClass'));
  if (!yes) return;
  try {
    const { data } = await api('POST', '/end');
    roster.reset(data);
    showClass();
    status(t('ended'));
  } catch (err) {
    status(t('notEnded', err.message));
  }
});

$('delete-class').addEventListener('click', async () => {
  const yes = await confirmAction(t('deleteTitle'), t('deleteText'), t('deleteClass'));
  if (!yes) return;
  try {
    await api('DELETE', '');
    stream.stop();
    try { sessionStorage.removeItem(TEACH_KEY); } catch { /* no storage */ }
    streamState('ended', t('deleted'));
    for (const b of document.querySelectorAll('.class-actions button, .class-actions textarea')) b.disabled = true;
    problem(t('wasDeleted'));
  } catch (err) {
    status(t('notDeleted', err.message));
  }
});

/** Fetch a results file with the token and hand it to the browser as a
 *  download. */
async function download(kind) {
  try {
    const res = await fetch(classURL(`/results.${kind}`), { headers: auth, cache: 'no-store' });
    if (!res.ok) throw new Error(t('serverAnswered', res.status));
    const blob = await res.blob();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `class-${roster.code || cred.code}-results.${kind}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    status(t('downloaded', a.download));
  } catch (err) {
    status(t('notDownloaded', err.message));
  }
}
$('download-csv').addEventListener('click', () => download('csv'));
$('download-json').addEventListener('click', () => download('json'));

$('copy-link').addEventListener('click', async () => {
  $('join-link').select();
  try {
    await navigator.clipboard.writeText($('join-link').value);
    status(t('linkCopied'));
  } catch {
    status(t('pressCtrlC'));
  }
});

// ---- go -----------------------------------------------------------------------

if (cred) {
  roster.code = cred.code;
  $('join-code').textContent = cred.code;
  stream.start();
} else {
  streamState('ended', t('noClass'));
  for (const b of document.querySelectorAll('.class-actions button, .class-actions textarea')) b.disabled = true;
  problem(t('needsLink'));
}

/** Hooks for end-to-end tests. */
window.iexboxTeach = {
  /** The learners as the page knows them. */
  roster: () => roster.sorted().map((e) => e.view),
  state: () => roster.state,
  streaming: () => streaming,
  announced: () => $('announce').textContent,
  /** Break the event stream as a network drop would; it reconnects. */
  dropStream: () => stream.restart(),
  /** Whether the teacher's console is shown to the class. */
  showing: () => showing,
};
