// Styles of <iex-console>, scoped to its shadow root.

import { DARK, LIGHT, MONO_FONT } from './theme.js';

/** xterm.js themes by the value of the theme attribute. */
export const THEMES = { dark: DARK, light: LIGHT };

export const WIDGET_CSS = `
:host {
  display: block;
  margin: 1.25em 0;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }

.frame {
  --bg: ${DARK.background};
  --bar: #1e1a28;
  --border: #2f2940;
  --text: ${DARK.foreground};
  --muted: #9d95ad;
  --code-bg: #181420;
  --accent: #8d55dc;
  --accent-hover: #a872f0;
  --focus: #c9a7ff;
  --ok: #5fd08a;
  --warn: #e8b65a;
  overflow: hidden;
  border: 1px solid var(--border);
  border-radius: 10px;
  background: var(--bg);
  color: var(--text);
  box-shadow: 0 1px 2px rgb(0 0 0 / 0.12), 0 6px 20px rgb(20 10 40 / 0.12);
}
.frame[data-theme="light"] {
  --bg: ${LIGHT.background};
  --bar: #f1edf8;
  --border: #dcd4ea;
  --text: ${LIGHT.foreground};
  --muted: #6d6680;
  --code-bg: #f6f3fb;
  --accent: #7440c4;
  --accent-hover: #8d55dc;
  --focus: #7440c4;
  --ok: #2e8540;
  --warn: #9a6a00;
}

.bar {
  display: flex;
  align-items: center;
  gap: 8px;
  padding: 7px 8px 7px 12px;
  background: var(--bar);
  border-bottom: 1px solid var(--border);
}
.title {
  font: 600 12px/1 ${MONO_FONT};
  letter-spacing: 0.04em;
  color: var(--accent-hover);
}
.frame[data-theme="light"] .title { color: var(--accent); }
.status {
  color: var(--muted);
  font-size: 12px;
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
}
.status::before {
  content: "";
  display: inline-block;
  width: 7px;
  height: 7px;
  margin-right: 6px;
  border-radius: 50%;
  background: var(--muted);
  vertical-align: 1px;
}
.status[data-state="running"]::before { background: var(--ok); }
.status[data-state="connecting"]::before { background: var(--warn); }
.spacer { flex: 1; }

button {
  display: inline-flex;
  align-items: center;
  gap: 6px;
  height: 28px;
  padding: 0 12px;
  border: 1px solid var(--border);
  border-radius: 7px;
  background: transparent;
  color: var(--text);
  font: 500 13px/1 inherit;
  font-family: inherit;
  cursor: pointer;
}
button[hidden] { display: none; }
button svg { width: 13px; height: 13px; }
button.reset, button.size { padding: 0 8px; color: var(--muted); }
button.reset:hover, button.size:hover { color: var(--text); }
.text-size { display: inline-flex; gap: 4px; }
button.run {
  border-color: var(--accent);
  background: var(--accent);
  color: #fff;
}
button.run:hover { background: var(--accent-hover); border-color: var(--accent-hover); }
button:focus-visible, .code:focus-visible, .term:focus-visible {
  outline: 2px solid var(--focus);
  outline-offset: 2px;
}

.code {
  display: block;
  width: 100%;
  margin: 0;
  padding: 10px 12px;
  border: 0;
  border-bottom: 1px solid var(--border);
  background: var(--code-bg);
  color: var(--text);
  font: 13px/1.5 ${MONO_FONT};
  tab-size: 2;
  resize: vertical;
  white-space: pre;
  overflow-x: auto;
}
.code:focus-visible { outline-offset: -2px; }

.term {
  position: relative;
  padding: 8px 4px 8px 12px;
  background: var(--bg);
  cursor: text;
}
.term:focus-visible { outline-offset: -2px; }
.term .xterm-viewport { background-color: var(--bg) !important; }
.hint {
  margin: 0;
  padding: 4px 0;
  color: var(--muted);
  font-size: 13px;
}
.hint strong { color: var(--text); font-weight: 600; }

button.check { border-color: var(--pass, ${LIGHT.green}); color: var(--pass, ${LIGHT.green}); }
button.check:disabled { opacity: 0.6; cursor: progress; }
.results {
  padding: 8px 12px;
  border-bottom: 1px solid var(--border);
  background: var(--code-bg);
  color: var(--text);
  font: 13px/1.45 system-ui, sans-serif;
}
.results .verdict { margin: 0 0 4px; font-weight: 600; }
.results[data-state="pass"] .verdict { color: var(--pass, ${LIGHT.green}); }
.results[data-state="fail"] .verdict, .results[data-state="error"] .verdict { color: var(--fail, ${LIGHT.red}); }
.results[data-state="running"] .verdict { color: var(--muted); }
.results .tests { list-style: none; margin: 0; padding: 0; }
.results li { margin: 2px 0; }
.results .mark { display: inline-block; width: 1.3em; font-weight: 700; }
.results li[data-status="pass"] .mark { color: var(--pass, ${LIGHT.green}); }
.results li[data-status="fail"] .mark, .results li[data-status="error"] .mark { color: var(--fail, ${LIGHT.red}); }
.results pre {
  margin: 4px 0 6px 1.3em;
  padding: 6px 8px;
  max-height: 14em;
  overflow: auto;
  border-radius: 4px;
  background: var(--bg);
  color: var(--text);
  font: 12px/1.4 ${MONO_FONT};
  white-space: pre-wrap;
}
.frame[data-theme="dark"] { --pass: ${DARK.green}; --fail: ${DARK.red}; }

.sr-only {
  position: absolute;
  width: 1px;
  height: 1px;
  margin: -1px;
  padding: 0;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
  border: 0;
}

/* A class (classroom="CODE"): the name form, the class and name, the
   watching notice and the teacher's messages. The notice and the message
   are live regions that stay in place; only their text comes and goes. */
.classbar {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 4px 12px;
  padding: 4px 12px;
  border-bottom: 1px solid var(--border);
  background: var(--bar);
  font-size: 12px;
}
.classbar[hidden], .join-slot[hidden], .recordbar[hidden] { display: none; }
/* A recorded session says so, as the page and its viewers do. */
.recordbar {
  padding: 4px 12px;
  border-bottom: 1px solid var(--border);
  background: var(--bar);
  font-size: 12px;
}
.class-info { color: var(--muted); overflow-wrap: anywhere; }
.watched { color: var(--text); font-weight: 600; }
.watched:not(:empty)::before, .recorded::before {
  content: "";
  display: inline-block;
  width: 7px;
  height: 7px;
  margin-right: 6px;
  border-radius: 50%;
  background: var(--warn);
  vertical-align: 1px;
}
.recorded { color: var(--text); font-weight: 600; }
.recorded::before { background: #e5484d; }
.recorded a { color: var(--text); }
.join-slot {
  padding: 10px 12px;
  border-bottom: 1px solid var(--border);
  background: var(--code-bg);
}
.join-title { margin: 0 0 6px; font-size: 14px; }
.join-label { display: block; margin-bottom: 4px; font-weight: 600; font-size: 13px; }
.join-row { display: flex; gap: 8px; }
.join-name {
  flex: 1;
  min-width: 0;
  height: 30px;
  padding: 0 8px;
  border: 1px solid var(--border);
  border-radius: 7px;
  background: var(--bg);
  color: var(--text);
  font: 14px/1 inherit;
  font-family: inherit;
}
.join-name:focus-visible { outline: 2px solid var(--focus); outline-offset: 1px; }
.join-button { border-color: var(--accent); background: var(--accent); color: #fff; }
.join-help { margin: 6px 0 0; color: var(--muted); font-size: 12px; }
.join-error { margin: 0 0 6px; color: var(--fail, ${LIGHT.red}); font-weight: 600; font-size: 13px; }
.join-error[hidden] { display: none; }
.class-message { display: flex; align-items: center; gap: 8px; }
.class-message[data-shown="true"] {
  padding: 8px 8px 8px 12px;
  border-bottom: 1px solid var(--border);
  background: var(--code-bg);
  box-shadow: inset 3px 0 0 var(--accent);
}
.class-message-body { flex: 1; min-width: 0; overflow-wrap: anywhere; font-size: 13px; }

/* The class's "Teacher's console" panel, once per page and class. */
.teacher-panel {
  padding: 6px 12px;
  border-bottom: 1px solid var(--border);
  background: var(--bar);
  font-size: 13px;
}
.teacher-panel[hidden], .teacher-view[hidden], .teacher-toggle[hidden] { display: none; }
.teacher-head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; }
.teacher-status { margin: 0; overflow-wrap: anywhere; }
.teacher-frame {
  display: block;
  width: 100%;
  height: 320px;
  margin-top: 6px;
  border: 1px solid var(--border);
  border-radius: 7px;
  background: var(--bg);
}

/* Where the focus is, inside the terminal too. */
.term .xterm.focus { outline: 2px solid var(--focus); outline-offset: 2px; }

/* The key bar: only where the pointer is a finger. */
.keybar { display: none; }
@media (pointer: coarse) {
  .keybar {
    display: flex;
    gap: 6px;
    padding: 6px 8px;
    overflow-x: auto;
    background: var(--bar);
    border-top: 1px solid var(--border);
  }
  .keybar .key { flex: none; min-width: 44px; height: 40px; justify-content: center; font-size: 15px; }
}

@media (prefers-reduced-motion: reduce) {
  * { transition: none !important; animation: none !important; }
}
`;
