// The terminal's look, shared by the page (main.js) and the <iex-console>
// widget (embed.js, embed-style.js): one palette per theme and one font
// stack. The page's plain stylesheet (style.css) is not bundled and keeps
// the colours of the chrome around the terminal.

/** Monospace fonts, best first, with a colour emoji font before the
 *  generic fallback so emoji in iex's output keep their width. */
export const MONO_FONT = [
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

/** The dark palette, as an xterm.js theme on the widget's background; the
 *  page puts it on its own, darker one. */
export const DARK = {
  background: '#14111b',
  foreground: '#e6e1ef',
  cursor: '#c9a7ff',
  cursorAccent: '#14111b',
  selectionBackground: '#5b3d8a99',
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

/** The light palette (a widget's theme="light"), as an xterm.js theme. */
export const LIGHT = {
  background: '#fbfaff',
  foreground: '#2a2536',
  cursor: '#6b3fb0',
  cursorAccent: '#fbfaff',
  selectionBackground: '#c9a7ff88',
  black: '#2a2536',
  red: '#c4323f',
  green: '#24703a',
  yellow: '#9a6a00',
  blue: '#2859b8',
  magenta: '#7b3fc4',
  cyan: '#1a7f86',
  white: '#6d6680',
  brightBlack: '#8a8399',
  brightRed: '#d9434f',
  brightGreen: '#389a4c',
  brightYellow: '#b07c00',
  brightBlue: '#3468cc',
  brightMagenta: '#8d55dc',
  brightCyan: '#1f939b',
  brightWhite: '#1c1926',
};
