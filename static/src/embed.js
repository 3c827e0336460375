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
// server's default).
// Styles live in a shadow root, so the page and the widget cannot restyle
// each other. Each element has its own session.

import xtermCSS from '@xterm/xterm/css/xterm.css';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

import { Connection, socketURL } from './connection.js';
import { describeClose, describeError, describeExit, describeQueued } from './messages.js';
import { THEMES, WIDGET_CSS } from './embed-style.js';
import { widgetResume } from './resume.js';
import { MONO_FONT } from './theme.js';

// The script's own origin, known only while it is first evaluated.
const SCRIPT_ORIGIN = (() => {
  try {
    return new URL(document.currentScript.src).origin;
  } catch {
    return window.location.origin;
  }
})();

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

class IexConsole extends HTMLElement {
  static get observedAttributes() {
    return ['code', 'theme'];
  }

  constructor() {
    super();
    this.index = counter++;
    this.term = null;
    this.conn = null;
    this.phase = 'idle'; // idle | connecting | booting | setup | ready | ended
    this.tail = '';      // the last output, to spot prompts
    this.setupPrompt = 0;
    this.pending = null; // code to run once the prompt is there
    this.decoder = new TextDecoder();
    this.reconnectUntil = 0;

    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `
      <style>${xtermCSS}</style>
      <style>${WIDGET_CSS}</style>
      <div class="frame" part="frame">
        <div class="bar">
          <span class="title" aria-hidden="true">iex</span>
          <span class="status" role="status" aria-live="polite">Not started</span>
          <span class="spacer"></span>
          <button class="reset" type="button" title="Start over in a fresh session" aria-label="Start over in a fresh session" hidden>
            <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M13.25 8a5.25 5.25 0 1 1-1.54-3.71M13.25 2.5v3.25H10" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round"/></svg>
          </button>
          <button class="run" type="button" title="Run the code (Ctrl+Enter)">
            <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M4.5 2.75v10.5L13 8z" fill="currentColor"/></svg>
            <span>Run</span>
          </button>
          <button class="check" type="button" title="Check the code against the exercise's tests (Alt+Enter)" hidden>
            <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M3 8.5l3.2 3.2L13 4.8" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/></svg>
            <span>Check</span>
          </button>
        </div>
        <textarea class="code" spellcheck="false" autocomplete="off" autocapitalize="off"></textarea>
        <div class="results" role="region" aria-live="polite" hidden>
          <p class="verdict"></p>
          <ul class="tests"></ul>
        </div>
        <div class="term" role="region">
          <p class="hint">Press <strong>Run</strong>, or click here and type, to start a fresh Elixir session.</p>
        </div>
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

    this.runEl.addEventListener('click', () => this.run());
    this.checkEl.addEventListener('click', () => this.check());
    this.$('.reset').addEventListener('click', () => this.restart());
    this.codeEl.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      // Alt+Enter (Option+Enter) checks; no key that runs includes Alt.
      if (e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey && this.exercise()) {
        e.preventDefault();
        this.check();
      } else if (e.ctrlKey || e.metaKey || e.shiftKey) {
        e.preventDefault();
        this.run();
      }
    });
    this.codeEl.addEventListener('input', () => this.fitCode());
    // Editing the code warms a session up, so Run answers at once.
    this.codeEl.addEventListener('keydown', () => this.start());
    // Lazy start: the first click or key press in the terminal area.
    this.termEl.addEventListener('pointerdown', () => this.start());
    this.termEl.addEventListener('keydown', () => this.start());
  }

  connectedCallback() {
    this.codeEl.value = this.getAttribute('code') || '';
    this.codeEl.setAttribute('aria-label', this.getAttribute('label') || 'Elixir code for this exercise (Ctrl+Enter runs it)');
    this.termEl.setAttribute('aria-label', 'iex session: output, and input once started');
    this.termEl.tabIndex = 0;
    this.runEl.setAttribute('aria-label', 'Run the code in iex');
    this.applyTheme();
    this.fitCode();
    const rows = this.rows();
    this.termEl.style.minHeight = `${Math.round(rows * 17.5) + 16}px`;
    if (this.exercise()) {
      this.checkEl.hidden = false;
      this.checkEl.setAttribute('aria-label', 'Check the code against the exercise');
      if (!this.hasAttribute('code')) this.loadStarter();
    }
  }

  exercise() {
    return this.getAttribute('exercise') || '';
  }

  /** Show the exercise's starter code before any session exists. */
  async loadStarter() {
    try {
      const url = new URL(`/exercises/${this.exercise().split('/').map(encodeURIComponent).join('/')}`, this.server());
      const res = await fetch(url, { mode: 'cors', credentials: 'omit' });
      const body = await res.json();
      if (!res.ok) {
        this.setStatus('Unknown exercise', 'ended');
        this.showVerdict('error', body.message || `The server has no exercise called ${this.exercise()}.`);
        return;
      }
      if (!this.codeEl.value.trim()) {
        this.codeEl.value = body.starter || '';
        this.fitCode();
      }
    } catch {
      // Offline or another server: the editor just starts empty.
    }
  }

  /** Check the editor's code against the exercise's tests: start a
   *  session first when there is none. */
  check() {
    if (!this.exercise()) return;
    if (this.phase === 'ended') this.restart();
    this.pendingCheck = this.codeEl.value;
    this.checkEl.disabled = true;
    this.showVerdict('running', 'Checking…');
    this.start();
    this.flushCheck();
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
    this.checkEl.disabled = false;
    const tests = Array.isArray(msg.tests) ? msg.tests : [];
    const passed = tests.filter((t) => t.status === 'pass').length;
    if (msg.status === 'pass') {
      this.showVerdict('pass', `Solved: all ${tests.length} tests pass.`);
    } else if (msg.status === 'fail') {
      this.showVerdict('fail', `${passed} of ${tests.length} tests pass.`);
    } else {
      this.showVerdict('error', msg.message || 'The code could not be checked.');
    }
    const list = this.$('.tests');
    list.textContent = '';
    for (const t of tests) {
      const li = document.createElement('li');
      li.dataset.status = t.status;
      const mark = document.createElement('span');
      mark.className = 'mark';
      mark.textContent = t.status === 'pass' ? '✓' : '✗';
      mark.setAttribute('aria-label', t.status === 'pass' ? 'passed' : 'failed');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = t.name;
      li.append(mark, name);
      if (t.message) {
        const pre = document.createElement('pre');
        pre.className = 'message';
        pre.textContent = t.message;
        li.append(pre);
      }
      if (t.output) {
        const pre = document.createElement('pre');
        pre.className = 'output';
        pre.textContent = t.output;
        li.append(pre);
      }
      list.append(li);
    }
    this.frame().dataset.solved = msg.status === 'pass' ? 'true' : 'false';
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
    if (this.conn) this.conn.end();
    this.conn = null;
  }

  attributeChangedCallback(name) {
    if (name === 'code' && this.codeEl) {
      this.codeEl.value = this.getAttribute('code') || '';
      this.fitCode();
    }
    if (name === 'theme') this.applyTheme();
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

  /** Run the code: start a session first when there is none. */
  run() {
    const code = this.codeEl.value;
    if (!code.trim()) return;
    if (this.phase === 'ended') this.restart();
    this.pending = typed(code);
    this.start();
    this.flush();
  }

  /** Type the pending code once iex shows a prompt. */
  flush() {
    if (this.phase !== 'ready' || !this.pending || !this.conn) return;
    this.conn.sendInput(this.pending);
    this.pending = null;
    this.term.focus();
  }

  restart() {
    if (this.conn) this.conn.end();
    this.conn = null;
    this.resumeSlot().clear();
    this.phase = 'idle';
    if (this.term) this.term.write('\x1bc');
    this.start();
  }

  /** Start (or resume) this element's session, once. */
  start() {
    if (this.phase !== 'idle' && this.phase !== 'ended') return;
    if (!this.term) this.openTerminal();
    this.$('.reset').hidden = false;
    this.connect();
  }

  openTerminal() {
    this.termEl.textContent = '';
    const term = new Terminal({
      fontFamily: MONO_FONT,
      fontSize: 13,
      lineHeight: 1.15,
      rows: this.rows(),
      cursorBlink: true,
      cursorInactiveStyle: 'outline',
      scrollback: 2000,
      theme: THEMES[this.theme()],
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(this.termEl);
    this.term = term;
    this.fit = () => {
      const d = fit.proposeDimensions();
      if (d && d.cols > 0 && d.cols !== term.cols) term.resize(d.cols, this.rows());
    };
    this.fit();
    new ResizeObserver(() => this.fit()).observe(this.termEl);
    term.onData((data) => {
      if (this.conn && this.phase !== 'ended') this.conn.sendInput(data);
    });
    term.onResize(({ cols, rows }) => {
      if (this.conn) this.conn.resize(cols, rows);
    });
    this.termEl.removeAttribute('tabindex'); // xterm's own textarea takes focus now
  }

  connect() {
    const resume = this.resumeSlot().load();
    this.phase = 'connecting';
    this.tail = '';
    this.setStatus(resume ? 'Reconnecting…' : 'Starting…', 'connecting');
    const hello = { resumable: true };
    if (resume) hello.resume = resume.token;
    else {
      if (this.exercise()) hello.exercise = this.exercise();
      // The toolchain the lesson picked; absent, the exercise's or the default.
      if (this.getAttribute('toolchain')) hello.toolchain = this.getAttribute('toolchain');
    }
    const token = this.getAttribute('token');
    if (token) hello.token = token;
    const setup = resume ? '' : this.getAttribute('setup') || '';

    this.conn = new Connection(this.term, {
      onQueued: (msg) => this.setStatus(describeQueued(msg), 'connecting'),
      onReady: (msg) => {
        this.resumeSlot().save(msg.resume, msg.instance);
        this.reconnectUntil = 0;
        if (resume) this.term.write('\x1bc'); // the server redraws the screen
        this.phase = resume ? 'ready' : 'booting';
        this.setStatus('Running', 'running');
        if (resume) {
          this.flush();
          this.flushCheck();
        }
      },
      onEvent: (msg) => {
        if (msg.type === 'checked') this.onChecked(msg);
      },
      onOutput: (bytes) => this.onOutput(bytes, setup),
      onExit: (msg) => this.ended(describeExit(msg, null)),
      onError: (msg) => {
        if (msg.code === 'resume_failed') {
          this.resumeSlot().clear();
          this.conn = null;
          this.phase = 'idle';
          this.term.write('\x1bc');
          this.start();
          return;
        }
        this.ended(describeError(msg));
      },
      onClose: (info) => {
        if (info.final) return;
        // A blip: a resumable session waits for us on the server.
        const now = Date.now();
        if (!this.reconnectUntil) this.reconnectUntil = now + 30_000;
        if (this.resumeSlot().load() && now < this.reconnectUntil) {
          this.phase = 'idle';
          this.setStatus('Reconnecting…', 'connecting');
          setTimeout(() => this.start(), 1000);
          return;
        }
        this.ended(describeClose(info, null));
      },
    }, socketURL(this.server(), resume ? resume.instance : ''), hello);
  }

  /** Watch output for prompts: the first one triggers setup (whose output
   *  stays hidden until the next prompt) or the pending Run. */
  onOutput(bytes, setup) {
    this.tail = (this.tail + this.decoder.decode(bytes, { stream: true })).slice(-256);
    const m = this.tail.match(PROMPT);
    if (this.phase === 'booting' && m) {
      if (setup.trim()) {
        this.phase = 'setup';
        this.setupPrompt = Number(m[1]);
        this.setStatus('Preparing…', 'connecting');
        this.conn.sendInput(typed(setup));
        return true; // show the prompt; setup's echo and output stay hidden
      }
      this.phase = 'ready';
      setTimeout(() => { this.flush(); this.flushCheck(); });
      return true;
    }
    if (this.phase === 'setup') {
      if (m && Number(m[1]) > this.setupPrompt) {
        this.phase = 'ready';
        this.setStatus('Running', 'running');
        // Redraw the prompt line as if setup had never been typed.
        this.term.write(`\r\x1b[K${m[0]}`);
        setTimeout(() => { this.flush(); this.flushCheck(); });
      }
      return false;
    }
    return true;
  }

  ended(d) {
    this.phase = 'ended';
    this.checkEl.disabled = false;
    if (this.pendingCheck !== null) {
      this.pendingCheck = null;
      this.showVerdict('error', d.detail || d.title);
    }
    this.resumeSlot().clear();
    this.setStatus(d.title, 'ended');
    this.term.write(`\r\n\x1b[2m[iexbox] ${d.title}. Press Run to start again.\x1b[0m\r\n`);
  }
}

if (!customElements.get('iex-console')) customElements.define('iex-console', IexConsole);
