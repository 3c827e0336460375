// <iex-console>: an Elixir console to embed in a lesson page.
//
//   <script src="https://iexbox.example/embed.js"></script>
//   <iex-console code="Enum.map([1, 2, 3], &(&1 * 2))" rows="12"></iex-console>
//
// It shows the code and a Run button and starts no sandbox until the first
// click or key press in it (a page with ten exercises must not boot ten
// containers). Run types the (possibly edited) code into iex, then Enter.
// Attributes: code, rows, setup (evaluated first, output hidden), server
// (the iexbox origin; default: where this script came from), theme
// (dark|light), token (an access token, where the server requires one),
// exercise (an exercise on the server, such as enum/double: the editor
// shows its starter code unless code is set, and a Check button runs its
// tests against the editor's code; Alt+Enter checks too). After a check
// the element lists the tests and fires `iex-check` with the result (the
// server's "checked" event) in `detail`, so the page can store progress.
// toolchain (a toolchain on the server, such as parsing: the Elixir, OTP
// and libraries the session runs with; default: the exercise's, else the
// server's default). classroom (a class's code, such as ABCD-EFGH): the
// console's sessions join that class; the first asks for the learner's
// name (once per class, for every console of the page: learner.js), and
// the teacher's messages and watching show in the console. While the
// class shows the teacher's console, one console of the class per page
// (the first to hear of it) offers a "Teacher's console" panel, a
// read-only view (teacher-panel.js). share() and unshare() share the
// console's session read-only (the teacher's page shows it so).
// instance (a server's -instance name, such as a class's join link
// names): new sessions ask for that server (/ws?instance=NAME), so a load
// balancer routes them there, as the full page's ?instance= does.
// Styles live in a shadow root, so the page and the widget cannot restyle
// each other. Each element has its own session.

import { Connection, socketURL } from './connection.js';
import { WIDGET_CSS, THEMES } from './embed-style.js';
import { pickLanguage, words } from './i18n.js';
import { fillKeyBar } from './keybar.js';
import { describeClose, describeError, describeExit, describeQueued } from './messages.js';
import { codeKey, loadLocal, saveLocal, widgetResume } from './resume.js';
import { keptTextSize, stepTextSize } from './text-size.js';
import { MONO_FONT } from './theme.js';
import { Announcer, Transcript } from './transcript.js';
import { parseCast, Player } from './cast.js';
import { nameForm, normalizeCode, seatFor } from './learner.js';
import { TeacherPanel, teacherURL } from './teacher-panel.js';

/** The console of each class (by server and code) that offers the
 *  teacher's console on this page: a lesson page with five consoles of a
 *  class shows one panel, not five. */
const teacherPanels = new Map();

/** The terminal's text size until the reader picks one (A− / A+). */
const DEFAULT_TEXT_SIZE = 13;

// The script's own URL, known only while it is first evaluated.
const SCRIPT_URL = (() => {
  try {
    return new URL(document.currentScript.src);
  } catch {
    return new URL(window.location.href);
  }
})();
const SCRIPT_ORIGIN = SCRIPT_URL.origin;

/** The terminal part (dist/embed-term.js), loaded once, when a console
 *  first starts. */
let terminalPart = null;
function loadTerminal() {
  if (window.iexboxTerminal) return Promise.resolve(window.iexboxTerminal);
  if (!terminalPart) {
    terminalPart = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = new URL('/dist/embed-term.js', SCRIPT_ORIGIN).toString();
      s.async = true;
      s.onload = () => (window.iexboxTerminal ? resolve(window.iexboxTerminal) : reject(new Error('no terminal')));
      s.onerror = () => {
        terminalPart = null;
        reject(new Error('the terminal could not be loaded'));
      };
      document.head.append(s);
    });
  }
  return terminalPart;
}

/** iex's main prompt at the end of the output seen so far. */
const PROMPT = /iex\((\d+)\)> $/;

/** A line that continues the expression above it (a pipeline). */
const CONTINUES = /^\s*(\|>|\+\+|<>|\.\w)/;

/** How code is typed: tabs never reach iex (they would complete), lines
 *  end with Enter, and iex reads a multi-line expression line by line. A
 *  line that only continues the one before (`|> Enum.sum()`) would be
 *  evaluated on its own, so such code is typed inside parentheses, which
 *  keep iex reading until the whole expression is there. */
export function typed(code) {
  let lines = code.replace(/\r\n?/g, '\n').replace(/\t/g, '  ').split('\n');
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.slice(1).some((l) => CONTINUES.test(l))) {
    lines = [`(${lines[0]}`, ...lines.slice(1, -1), `${lines[lines.length - 1]})`];
  }
  return lines.map((l) => `${l}\r`).join('');
}

let counter = 0;

/** The phases a console goes through, as its state property reports them. */
// 'replay': the console plays a recording (replay="ID") and starts no session.
const STATES = ['idle', 'connecting', 'booting', 'setup', 'ready', 'ended', 'replay'];

class IexConsole extends HTMLElement {
  static get observedAttributes() {
    return ['code', 'theme', 'lang'];
  }

  constructor() {
    super();
    this.index = counter++;
    this.term = null;
    this.conn = null;
    this.phase = 'idle'; // one of STATES
    this.tail = '';      // the last output, to spot prompts
    this.setupPrompt = 0;
    this.pending = null; // code to run once the prompt is there
    this.decoder = new TextDecoder();
    this.reconnectUntil = 0;
    this.starter = null; // the exercise's starter code, once fetched
    this.runs = [];      // {code, resolve, reject} of run() calls, in order
    this.checks = [];    // {resolve, reject} of check() calls, in order
    this.attempts = 0;   // connect calls, so a stale name opens nothing
    this.shares = [];    // {resolve, reject} of share() calls, in order
    this.teacherPanel = null; // made when this console offers the teacher's
    this.t = words('en');

    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `
      <style class="xterm-css"></style>
      <style>${WIDGET_CSS}</style>
      <div class="frame" part="frame">
        <div class="bar">
          <span class="title" aria-hidden="true">iex</span>
          <span class="status" role="status" aria-live="polite"></span>
          <span class="spacer"></span>
          <span class="text-size" role="group">
            <button class="text-smaller size" type="button">A−</button>
            <button class="text-larger size" type="button">A+</button>
          </span>
          <button class="reset" type="button" hidden>
            <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M13.25 8a5.25 5.25 0 1 1-1.54-3.71M13.25 2.5v3.25H10" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round"/></svg>
          </button>
          <button class="run" type="button">
            <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M4.5 2.75v10.5L13 8z" fill="currentColor"/></svg>
            <span class="run-text"></span>
          </button>
          <button class="check" type="button" hidden>
            <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M3 8.5l3.2 3.2L13 4.8" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/></svg>
            <span class="check-text"></span>
          </button>
        </div>
        <div class="classbar" hidden>
          <span class="class-info"></span>
          <span class="watched" role="status" aria-live="polite"></span>
        </div>
        <div class="recordbar" hidden>
          <span class="recorded" role="status" aria-live="polite"></span>
        </div>
        <div class="join-slot" hidden></div>
        <div class="class-message" data-shown="false">
          <div class="class-message-body" role="status" aria-live="polite" aria-atomic="true"></div>
          <button class="dismiss" type="button" hidden></button>
        </div>
        <textarea class="code" spellcheck="false" autocomplete="off" autocapitalize="off"></textarea>
        <div class="results" role="region" aria-live="polite" hidden>
          <p class="verdict"></p>
          <ul class="tests"></ul>
        </div>
        <div class="term" role="region" tabindex="0">
          <p class="hint"></p>
        </div>
        <p class="sr-only term-help"></p>
        <div class="sr-only announce" role="status" aria-live="polite"></div>
        <div class="keybar"></div>
      </div>`;
    this.$ = (sel) => root.querySelector(sel);
    this.codeEl = this.$('.code');
    this.termEl = this.$('.term');
    this.statusEl = this.$('.status');
    this.runEl = this.$('.run');
    this.checkEl = this.$('.check');
    this.resultsEl = this.$('.results');
    this.pendingCheck = null; // code to check once the prompt is there
    this.checkSeq = 0;
    this.announcer = new Announcer(this.$('.announce'));
    this.transcript = new Transcript((output) => this.onResult(output));

    this.runEl.addEventListener('click', () => this.run().catch(() => {}));
    this.checkEl.addEventListener('click', () => this.check().catch(() => {}));
    this.$('.reset').addEventListener('click', () => this.restart());
    this.$('.text-smaller').addEventListener('click', () => this.stepText(-1));
    this.$('.text-larger').addEventListener('click', () => this.stepText(1));
    this.$('.dismiss').addEventListener('click', () => this.hideMessage());
    this.classOver = false; // the class ended: sessions are one's own now
    this.codeEl.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      // Alt+Enter (Option+Enter) checks; no key that runs includes Alt.
      if (e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey && this.exercise()) {
        e.preventDefault();
        this.check().catch(() => {});
      } else if (e.ctrlKey || e.metaKey || e.shiftKey) {
        e.preventDefault();
        this.run().catch(() => {});
      }
    });
    this.codeEl.addEventListener('input', () => {
      this.fitCode();
      saveLocal(this.storageKey(), this.codeEl.value);
    });
    // Editing the code warms a session up, so Run answers at once.
    this.codeEl.addEventListener('keydown', () => this.start());
    // Lazy start: the first click or key press in the terminal area.
    this.termEl.addEventListener('pointerdown', () => this.start());
    this.termEl.addEventListener('keydown', () => this.start());
    fillKeyBar(this.$('.keybar'), () => this.term, (data) => this.type(data), (k) => this.keyWord(k));
  }

  connectedCallback() {
    this.applyLanguage();
    const kept = loadLocal(this.storageKey());
    this.codeEl.value = kept !== null ? kept : this.getAttribute('code') || '';
    this.applyTheme();
    this.fitCode();
    const rows = this.rows();
    this.termEl.style.minHeight = `${Math.round(rows * 17.5) + 16}px`;
    if (this.getAttribute('replay')) {
      this.showReplay(this.getAttribute('replay'));
      return;
    }
    if (this.exercise()) {
      this.checkEl.hidden = false;
      this.loadStarter(kept === null && !this.hasAttribute('code'));
    }
  }

  // ---- the API for lesson authors ------------------------------------------

  /** The editor's text; setting it replaces the text (and keeps it). */
  get code() {
    return this.codeEl.value;
  }

  set code(text) {
    this.codeEl.value = String(text);
    this.fitCode();
    saveLocal(this.storageKey(), this.codeEl.value);
  }

  /** idle, connecting, booting, setup, ready or ended. */
  get state() {
    return this.phase;
  }

  /** Run code (default: the editor's), starting a session when there is
   *  none. Settles with what the evaluation printed, as plain text. */
  run(code) {
    if (this.phase === 'replay') { // the Replay button
      this.replayPlayer?.seek(0);
      this.replayPlayer?.play();
      return Promise.resolve('');
    }
    if (typeof code === 'string') this.code = code;
    const text = this.codeEl.value;
    if (!text.trim()) return Promise.resolve('');
    if (this.phase === 'ended') this.restart();
    const keys = typed(text);
    const lines = keys.split('\r').length - 1;
    const p = new Promise((resolve, reject) => this.runs.push({ code: text, lines, seen: 0, parts: [], resolve, reject }));
    this.pending = (this.pending || '') + keys;
    this.start();
    this.flush();
    if (this.askingName()) this.$('.join-name').focus();
    return p;
  }

  /** Check the editor's code against the exercise's tests, starting a
   *  session when there is none. Settles with the checked event. */
  check() {
    if (!this.exercise()) return Promise.reject(new Error('this console has no exercise'));
    if (this.phase === 'ended') this.restart();
    const p = new Promise((resolve, reject) => this.checks.push({ resolve, reject }));
    this.pendingCheck = this.codeEl.value;
    this.checkEl.disabled = true;
    this.showVerdict('running', this.t('checking'));
    this.start();
    this.flushCheck();
    return p;
  }

  /** End this console's session and start a fresh one (the restart button). */
  restart() {
    if (this.askingName()) return; // the session starts once the name is in
    if (this.conn) this.conn.end();
    this.conn = null;
    this.resumeSlot().clear();
    this.setPhase('idle');
    this.transcript.reset();
    if (this.term) this.term.write('\x1bc');
    this.start();
  }

  /** Put the starter code back: the code attribute, else the exercise's. */
  resetCode() {
    saveLocal(this.storageKey(), null);
    this.codeEl.value = this.hasAttribute('code') ? this.getAttribute('code') : this.starter || '';
    this.fitCode();
  }

  /** Focus the terminal once it runs, else the editor. */
  focus(options) {
    if (this.term) this.term.focus();
    else this.codeEl.focus(options);
  }

  // ---- the rest --------------------------------------------------------------

  /** Where the editor's text is kept for this page and console. */
  storageKey() {
    return codeKey(window.location.pathname, this.id || String(this.index));
  }

  language() {
    return pickLanguage(this.getAttribute('lang'), document.documentElement.lang, ...(navigator.languages || [navigator.language]));
  }

  applyLanguage() {
    const lang = this.language();
    this.t = words(lang);
    const t = this.t;
    this.$('.frame').lang = lang;
    this.$('.run-text').textContent = t('run');
    this.runEl.title = t('runTitle');
    this.runEl.setAttribute('aria-label', t('runLabel'));
    this.$('.check-text').textContent = t('check');
    this.checkEl.title = t('checkTitle');
    this.checkEl.setAttribute('aria-label', t('checkLabel'));
    this.$('.text-size').setAttribute('aria-label', t('textSize'));
    this.$('.text-smaller').setAttribute('aria-label', t('smallerLabel'));
    this.$('.text-smaller').title = t('smallerTitle');
    this.$('.text-larger').setAttribute('aria-label', t('largerLabel'));
    this.$('.text-larger').title = t('largerTitle');
    this.$('.reset').title = t('restart');
    this.$('.reset').setAttribute('aria-label', t('restart'));
    this.codeEl.setAttribute('aria-label', this.getAttribute('label') || t('codeLabel'));
    this.termEl.setAttribute('aria-label', t('termLabel'));
    this.$('.term-help').textContent = t('termHelp');
    const hint = this.$('.hint');
    if (hint) hint.innerHTML = t('hint');
    const bar = this.$('.keybar');
    bar.setAttribute('aria-label', t('keys'));
    const paste = bar.lastElementChild;
    if (paste) {
      paste.textContent = t('paste');
      paste.setAttribute('aria-label', t('pasteLabel'));
    }
    if (this.phase === 'idle') this.setStatus(t('notStarted'), 'idle');
    this.$('.dismiss').textContent = t('dismiss');
    this.$('.dismiss').setAttribute('aria-label', t('dismissLabel'));
    this.teacherPanel?.relabel(t);
  }

  /** A− or A+ (dir -1 or 1): the reader's text size, kept for the site
   *  (text-size.js) and set in every console of the page. */
  stepText(dir) {
    const size = stepTextSize(this.term ? this.term.options.fontSize : keptTextSize(DEFAULT_TEXT_SIZE), dir);
    for (const c of new Set([this, ...document.querySelectorAll('iex-console')])) {
      if (typeof c.setTextSize === 'function') c.setTextSize(size);
    }
  }

  setTextSize(size) {
    if (!this.term) return; // a terminal opened later reads the kept size
    this.term.options.fontSize = size;
    this.fit();
  }

  keyWord(k) {
    return { 'Terminal keys': this.t('keys'), Paste: this.t('paste'), 'Paste from the clipboard': this.t('pasteLabel') }[k] || k;
  }

  exercise() {
    return this.getAttribute('exercise') || '';
  }

  /** Fetch the exercise's starter code; show it when `show`. */
  async loadStarter(show) {
    try {
      const url = new URL(`/exercises/${this.exercise().split('/').map(encodeURIComponent).join('/')}`, this.server());
      const res = await fetch(url, { mode: 'cors', credentials: 'omit' });
      const body = await res.json();
      if (!res.ok) {
        this.setStatus(this.t('unknownExercise'), 'ended');
        this.showVerdict('error', body.message || this.t('noExercise', this.exercise()));
        return;
      }
      this.starter = body.starter || '';
      if (show && !this.codeEl.value.trim()) {
        this.codeEl.value = this.starter;
        this.fitCode();
      }
    } catch {
      // Offline or another server: the editor just starts empty.
    }
  }

  flushCheck() {
    if (this.phase !== 'ready' || this.pendingCheck === null || !this.conn) return;
    this.checkSeq += 1;
    this.conn.check(String(this.checkSeq), this.pendingCheck);
    this.pendingCheck = null;
  }

  /** Show a checked event: a verdict, then each test with its mark and,
   *  for a failure, ExUnit's message. */
  onChecked(msg) {
    const t = this.t;
    this.checkEl.disabled = false;
    const tests = Array.isArray(msg.tests) ? msg.tests : [];
    const passed = tests.filter((x) => x.status === 'pass').length;
    if (msg.status === 'pass') {
      this.showVerdict('pass', t('solved', tests.length));
    } else if (msg.status === 'fail') {
      this.showVerdict('fail', t('someFail', passed, tests.length));
    } else {
      this.showVerdict('error', msg.message || t('notChecked'));
    }
    const list = this.$('.tests');
    list.textContent = '';
    for (const x of tests) {
      const li = document.createElement('li');
      li.dataset.status = x.status;
      const mark = document.createElement('span');
      mark.className = 'mark';
      mark.textContent = x.status === 'pass' ? '✓' : '✗';
      mark.setAttribute('role', 'img');
      mark.setAttribute('aria-label', x.status === 'pass' ? t('passed') : t('failed'));
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = x.name;
      li.append(mark, name);
      if (x.message) {
        const pre = document.createElement('pre');
        pre.className = 'message';
        pre.textContent = x.message;
        li.append(pre);
      }
      if (x.output) {
        const pre = document.createElement('pre');
        pre.className = 'output';
        pre.textContent = x.output;
        li.append(pre);
      }
      list.append(li);
    }
    this.frame().dataset.solved = msg.status === 'pass' ? 'true' : 'false';
    const waiter = this.checks.shift();
    if (waiter) waiter.resolve(msg);
    this.dispatchEvent(new CustomEvent('iex-check', { detail: msg, bubbles: true, composed: true }));
  }

  showVerdict(state, text) {
    this.resultsEl.hidden = false;
    this.resultsEl.dataset.state = state;
    this.$('.verdict').textContent = text;
    if (state === 'running' || state === 'error') this.$('.tests').textContent = '';
  }

  frame() {
    return this.$('.frame');
  }

  disconnectedCallback() {
    if (this.askingName()) this.seat()?.endTurn(); // let another console ask
    this.releaseTeacherPanel();
    if (this.conn) this.conn.end();
    this.conn = null;
  }

  attributeChangedCallback(name) {
    if (!this.isConnected) return;
    if (name === 'code') {
      this.codeEl.value = this.getAttribute('code') || '';
      this.fitCode();
    }
    if (name === 'theme') this.applyTheme();
    if (name === 'lang') this.applyLanguage();
  }

  rows() {
    const n = parseInt(this.getAttribute('rows') || '12', 10);
    return Math.min(Math.max(Number.isFinite(n) ? n : 12, 4), 60);
  }

  theme() {
    return this.getAttribute('theme') === 'light' ? 'light' : 'dark';
  }

  applyTheme() {
    this.$('.frame').dataset.theme = this.theme();
    if (this.term) this.term.options.theme = THEMES[this.theme()];
  }

  fitCode() {
    const lines = this.codeEl.value.split('\n').length;
    this.codeEl.rows = Math.min(Math.max(lines, 1), 20);
  }

  server() {
    return this.getAttribute('server') || SCRIPT_ORIGIN;
  }

  /** Where this element's resume token survives a reload. */
  resumeSlot() {
    return widgetResume(this.server(), window.location.pathname, this.index);
  }

  setStatus(text, state) {
    this.statusEl.textContent = text;
    this.statusEl.dataset.state = state;
  }

  setPhase(phase) {
    this.phase = STATES.includes(phase) ? phase : 'idle';
  }

  /** Send input as if typed, once the session runs. */
  type(data) {
    if (!this.conn || this.phase === 'ended') return;
    this.transcript.sent(data);
    this.conn.sendInput(data);
  }

  /** Type the pending code once iex shows a prompt. */
  flush() {
    if (this.phase !== 'ready' || !this.pending || !this.conn) return;
    this.type(this.pending);
    this.pending = null;
    this.term.focus();
  }

  /** An evaluation finished: announce it; once all lines of the oldest
   *  run() are evaluated, settle it and tell the page. Code typed in the
   *  terminal is reported as it was echoed. */
  onResult(output, input, lines) {
    this.announcer.say(output);
    const waiter = this.runs[0];
    if (!waiter) {
      this.emitResult(input, output);
      return;
    }
    waiter.seen += lines;
    waiter.parts.push(output);
    if (waiter.seen < waiter.lines) return;
    this.runs.shift();
    const all = waiter.parts.filter((x) => x !== '').join('\n');
    waiter.resolve(all);
    this.emitResult(waiter.code, all);
  }

  emitResult(code, output) {
    this.dispatchEvent(new CustomEvent('iex-result', { detail: { code, output }, bubbles: true, composed: true }));
  }

  /** replay="ID": play a recording instead of starting a session (a
   *  worked demo on a lesson page, no sandbox booted). */
  async showReplay(id) {
    this.setPhase('replay');
    for (const sel of ['.code', '.run', '.check', '.reset']) this.$(sel).hidden = true;
    this.setStatus(this.t('loadingRecording'), 'connecting');
    try {
      const [part, resp] = await Promise.all([loadTerminal(),
        fetch(`${this.server()}/recordings/${encodeURIComponent(id)}.cast`)]);
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      const cast = parseCast(await resp.text());
      if (!this.term) this.openTerminal(part);
      this.term.options.disableStdin = true;
      const player = new Player(this.term, { ...cast, header: { ...cast.header, height: this.rows() } });
      this.replayPlayer = player;
      this.runEl.hidden = false;
      this.$('.run-text').textContent = this.t('replay');
      this.runEl.setAttribute('aria-label', this.t('replayLabel'));
      this.setStatus(this.t('recording'), 'running');
      player.play();
    } catch (err) {
      this.setStatus(this.t('noRecording', err.message), 'ended');
    }
  }

  /** Start (or resume) this element's session, once. */
  start() {
    if (this.phase === 'replay') return;
    if (this.phase !== 'idle' && this.phase !== 'ended') return;
    this.$('.reset').hidden = false;
    this.setPhase('connecting');
    if (this.term) {
      this.connect();
      return;
    }
    this.setStatus(this.t('loadingTerminal'), 'connecting');
    loadTerminal().then((part) => {
      if (!this.isConnected) return;
      this.openTerminal(part);
      this.connect();
    }, () => {
      this.setPhase('ended');
      this.setStatus(this.t('noTerminal'), 'ended');
      this.failWaiters(new Error(this.t('noTerminal')));
    });
  }

  openTerminal(part) {
    this.$('.xterm-css').textContent = part.css;
    this.termEl.textContent = '';
    const { term, fit } = part.createTerminal(this.termEl, {
      fontFamily: MONO_FONT,
      fontSize: keptTextSize(DEFAULT_TEXT_SIZE),
      rows: this.rows(),
      scrollback: 2000,
      theme: THEMES[this.theme()],
    }, {
      onLeave: () => this.runEl.focus(),
      inputLabel: this.t('inputLabel'),
      inputDescription: this.t('termHelp'),
    });
    this.term = term;
    this.fit = () => {
      const d = fit.proposeDimensions();
      if (d && d.cols > 0 && d.cols !== term.cols) term.resize(d.cols, this.rows());
    };
    this.fit();
    new ResizeObserver(() => this.fit()).observe(this.termEl);
    term.onData((data) => this.type(data));
    term.onResize(({ cols, rows }) => {
      if (this.conn) this.conn.resize(cols, rows);
    });
    this.termEl.removeAttribute('tabindex'); // xterm's own textarea takes focus now
  }

  connect() {
    const t = this.t;
    const resume = this.resumeSlot().load();
    this.setPhase('connecting');
    this.tail = '';
    this.transcript.reset();
    this.setStatus(resume ? t('reconnecting') : t('starting'), 'connecting');
    const hello = { resumable: true };
    if (resume) hello.resume = resume.token;
    else {
      if (this.exercise()) hello.exercise = this.exercise();
      // The toolchain the lesson picked; absent, the exercise's or the default.
      if (this.getAttribute('toolchain')) hello.toolchain = this.getAttribute('toolchain');
    }
    if (!resume && this.hasAttribute('record')) hello.record = true;
    const token = this.getAttribute('token');
    if (token) hello.token = token;
    const seat = this.seat();
    if (seat && !resume) {
      // A new session of the class: by the learner token another console
      // (or an earlier visit) kept, else by the name the form asks for.
      if (!seat.kept()) this.setStatus(t('askingName'), 'connecting');
      const attempt = ++this.attempts;
      seat.hello((problem) => this.askName(seat, problem)).then((fields) => {
        if (attempt !== this.attempts || this.phase !== 'connecting' || !this.isConnected) {
          seat.endTurn(); // given up meanwhile (restart, removed)
          return;
        }
        this.setStatus(t('starting'), 'connecting');
        this.openSession({ ...hello, ...fields }, null, seat);
      });
      return;
    }
    this.openSession(hello, resume, null);
  }

  /** The class this console's new sessions join, or null. */
  seat() {
    const code = this.getAttribute('classroom');
    return code && !this.classOver ? seatFor(this.server(), code) : null;
  }

  /** Share this console's session read-only (the protocol's share),
   *  starting one when there is none; settles with the server's "shared"
   *  event ({watch, url}) once it runs. */
  share() {
    return new Promise((resolve, reject) => {
      this.shares.push({ resolve, reject });
      if (this.phase === 'ended') this.restart();
      else this.start();
      this.flushShare();
    });
  }

  /** Revoke the watch link: its viewers are disconnected. */
  unshare() {
    if (this.conn && this.phase !== 'ended') this.conn.unshare();
  }

  flushShare() {
    if (this.shares.length > 0 && this.conn && this.readyFacts && this.phase !== 'connecting' && this.phase !== 'ended') {
      this.conn.share();
    }
  }

  onShared(msg) {
    for (const w of this.shares.splice(0)) w.resolve({ watch: msg.watch, url: msg.url });
  }

  /** The class shows (or stops showing) the teacher's console: offered by
   *  the one console of the class on this page that owns the panel. */
  onTeacherConsole(msg) {
    const code = this.getAttribute('classroom');
    if (!code) return;
    const key = `${this.server()}|${normalizeCode(code) || code}`;
    const owner = teacherPanels.get(key);
    if (owner && owner !== this) {
      if (owner.isConnected && owner.phase !== 'ended') return; // it offers it
      owner.teacherPanel?.reset(); // it cannot follow the class any more
    }
    teacherPanels.set(key, this);
    this.teacherKey = key;
    if (!this.teacherPanel) {
      this.teacherPanel = new TeacherPanel(document, this.t);
      this.$('.class-message').after(this.teacherPanel.root);
    }
    if (msg.type === 'teacher_console' && typeof msg.url === 'string') {
      this.teacherPanel.offer(teacherURL(msg, this.server(), this.readyFacts?.instance || ''));
    } else {
      this.teacherPanel.withdraw();
    }
  }

  /** This console no longer hears of the class: another may offer the
   *  panel. What it shows stays until then (the view needs no session). */
  releaseTeacherPanel() {
    if (this.teacherKey && teacherPanels.get(this.teacherKey) === this) teacherPanels.delete(this.teacherKey);
  }

  /** Ask for the learner's name in the console; resolves with it. */
  askName(seat, problem) {
    const slot = this.$('.join-slot');
    const { form, input, name } = nameForm(document, this.t, seat.code, problem);
    slot.replaceChildren(form);
    slot.hidden = false;
    // Typing in the editor starts a session too: leave that typing alone.
    if (this.shadowRoot.activeElement !== this.codeEl) input.focus();
    return name.then((value) => {
      slot.hidden = true;
      slot.textContent = '';
      return value;
    });
  }

  /** Whether the console's name form is up. */
  askingName() {
    return !this.$('.join-slot').hidden;
  }

  /** Show the class and the learner's name above the editor. */
  showClass(seat, name) {
    const info = this.$('.class-info');
    info.textContent = this.t('inClass', seat.code, name);
    this.$('.classbar').hidden = false;
  }

  /** A message from the teacher, in the console's polite live region. */
  showMessage(text) {
    const from = document.createElement('strong');
    from.textContent = `${this.t('fromTeacher')}: `;
    const body = document.createElement('span');
    body.textContent = text; // a teacher's text is text, never markup
    this.$('.class-message-body').replaceChildren(from, body);
    this.$('.class-message').dataset.shown = 'true';
    this.$('.dismiss').hidden = false;
  }

  hideMessage() {
    const hadFocus = this.shadowRoot.activeElement === this.$('.dismiss');
    this.$('.class-message-body').textContent = '';
    this.$('.class-message').dataset.shown = 'false';
    this.$('.dismiss').hidden = true;
    if (hadFocus) this.focus();
  }

  /** A class's refusal of a hello, handled as the page does (main.js):
   *  reports whether it was one. */
  classRefusal(seat, hello, msg) {
    if (msg.code === 'not_found' && hello.learner) {
      seat.forget();
    } else if (msg.code === 'protocol' && hello.name) {
      seat.refused(msg.message);
    } else if (msg.code === 'not_found' && hello.name) {
      seat.endTurn();
      this.ended({ title: this.t('noClass'), detail: msg.message || '', tone: 'warn' }, { reason: 'error', code: msg.code });
      return true;
    } else {
      return false;
    }
    this.conn = null;
    this.setPhase('idle');
    this.start(); // asks for the name again
    return true;
  }

  /** The notice that the session is recorded (a recording event, with a
   *  link to its replay), that recording stopped (recording_stopped), or
   *  none (null): the page's person is told, as its viewers are. */
  showRecorded(msg) {
    const bar = this.$('.recordbar');
    const notice = this.$('.recorded');
    if (!msg) {
      bar.hidden = true;
      notice.textContent = '';
      return;
    }
    if (msg.type === 'recording_stopped') {
      notice.textContent = this.t('recordingStopped');
      return;
    }
    notice.textContent = `${this.t('recorded')} `;
    if (typeof msg.replay_url === 'string' && msg.replay_url.startsWith('/')) {
      const a = document.createElement('a');
      a.href = this.server() + msg.replay_url;
      a.target = '_blank';
      a.rel = 'noopener';
      a.textContent = this.t('replayLink');
      notice.append(a);
    }
    bar.hidden = false;
  }

  /** Open the session's WebSocket with hello; seat: the class it joins. */
  openSession(hello, resume, seat) {
    const t = this.t;
    const setup = resume ? '' : this.getAttribute('setup') || '';
    this.$('.watched').textContent = '';
    this.showRecorded(null);

    this.conn = new Connection(this.term, {
      onQueued: (msg) => this.setStatus(describeQueued(msg, this.language()), 'connecting'),
      onReady: (msg) => {
        this.resumeSlot().save(msg.resume, msg.instance);
        if (seat && msg.class) seat.joined(msg);
        const kept = this.seat()?.kept();
        if (kept) this.showClass(this.seat(), msg.name || kept.name);
        else this.$('.classbar').hidden = true; // none, or the class is over
        this.reconnectUntil = 0;
        if (resume) this.term.write('\x1bc'); // the server redraws the screen
        this.setPhase(resume ? 'ready' : 'booting');
        this.setStatus(t('running'), 'running');
        this.readyFacts = {
          session: msg.session, instance: msg.instance, runtime: msg.runtime,
          idle_timeout: msg.idle_timeout, max_lifetime: msg.max_lifetime, resumed: !!resume,
        };
        if (resume) this.becameReady();
        this.flushShare();
      },
      onEvent: (msg) => {
        if (msg.type === 'checked') this.onChecked(msg);
        else if (msg.type === 'message' && typeof msg.text === 'string') this.showMessage(msg.text);
        else if (msg.type === 'watched') this.$('.watched').textContent = t('watched');
        else if (msg.type === 'shared') this.onShared(msg);
        else if (msg.type === 'teacher_console' || msg.type === 'teacher_console_ended') this.onTeacherConsole(msg);
        else if (msg.type === 'viewers' && msg.count === 0) this.$('.watched').textContent = '';
        else if (msg.type === 'recording' || msg.type === 'recording_stopped') this.showRecorded(msg);
      },
      onOutput: (bytes) => this.onOutput(bytes, setup),
      onExit: (msg) => {
        if (msg.reason === 'class_ended' && this.getAttribute('classroom')) {
          // The learner token is no good any more; sessions are one's own.
          seatFor(this.server(), this.getAttribute('classroom')).forget();
          this.classOver = true;
        }
        this.ended(describeExit(msg, null, this.language()), { reason: msg.reason, code: msg.code ?? null });
      },
      onError: (msg) => {
        if (msg.code === 'resume_failed') {
          this.resumeSlot().clear();
          this.conn = null;
          this.setPhase('idle');
          this.term.write('\x1bc');
          this.start();
          return;
        }
        if (seat && this.classRefusal(seat, hello, msg)) return;
        if (seat) seat.endTurn();
        this.ended(describeError(msg, this.language()), { reason: 'error', code: msg.code });
      },
      onClose: (info) => {
        if (info.final) return;
        if (seat) seat.endTurn();
        // A blip: a resumable session waits for us on the server.
        const now = Date.now();
        if (!this.reconnectUntil) this.reconnectUntil = now + 30_000;
        if (this.resumeSlot().load() && now < this.reconnectUntil) {
          this.setPhase('idle');
          this.setStatus(t('reconnecting'), 'connecting');
          setTimeout(() => this.start(), 1000);
          return;
        }
        this.ended(describeClose(info, null, this.language()), { reason: 'closed', code: info.code });
      },
    }, socketURL(this.server(), resume ? resume.instance : this.getAttribute('instance') || ''), hello);
  }

  /** iex's first prompt (after setup, if any): flush what waits, tell the page. */
  becameReady() {
    this.setPhase('ready');
    this.dispatchEvent(new CustomEvent('iex-ready', { detail: this.readyFacts, bubbles: true, composed: true }));
    setTimeout(() => { this.flush(); this.flushCheck(); });
  }

  /** Watch output for prompts: the first one triggers setup (whose output
   *  stays hidden until the next prompt) or the pending Run. */
  onOutput(bytes, setup) {
    this.tail = (this.tail + this.decoder.decode(bytes, { stream: true })).slice(-256);
    const m = this.tail.match(PROMPT);
    if (this.phase === 'booting' && m) {
      if (setup.trim()) {
        this.setPhase('setup');
        this.setupPrompt = Number(m[1]);
        this.setStatus(this.t('preparing'), 'connecting');
        this.conn.sendInput(typed(setup));
        return true; // show the prompt; setup's echo and output stay hidden
      }
      this.transcript.feed(bytes);
      this.becameReady();
      return true;
    }
    if (this.phase === 'setup') {
      if (m && Number(m[1]) > this.setupPrompt) {
        this.setStatus(this.t('running'), 'running');
        // Redraw the prompt line as if setup had never been typed.
        this.term.write(`\r\x1b[K${m[0]}`);
        this.becameReady();
      }
      return false;
    }
    this.transcript.feed(bytes);
    return true;
  }

  /** Reject what waits for a session that will not come. */
  failWaiters(err) {
    for (const w of this.shares.splice(0)) w.reject(err);
    for (const w of this.runs.splice(0)) w.reject(err);
    for (const w of this.checks.splice(0)) w.reject(err);
    this.pending = null;
  }

  ended(d, exit) {
    const wasEnded = this.phase === 'ended';
    this.setPhase('ended');
    this.checkEl.disabled = false;
    if (this.pendingCheck !== null) {
      this.pendingCheck = null;
      this.showVerdict('error', d.detail || d.title);
    }
    this.failWaiters(new Error(d.title));
    this.releaseTeacherPanel();
    this.resumeSlot().clear();
    this.setStatus(d.title, 'ended');
    this.term.write(`\r\n\x1b[2m[iexbox] ${d.title}. ${this.t('pressRun')}\x1b[0m\r\n`);
    if (!wasEnded) this.dispatchEvent(new CustomEvent('iex-exit', { detail: exit, bubbles: true, composed: true }));
  }
}

if (!customElements.get('iex-console')) customElements.define('iex-console', IexConsole);
