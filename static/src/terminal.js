// The terminal of the page and of the widget, made in one place: xterm.js
// with its screen-reader mode on, Unicode 11 widths (Hangul, CJK and emoji
// take the cells iex counts), no blinking under prefers-reduced-motion,
// and a key that leaves it.
//
// Leaving: Tab belongs to iex (completion), so F6, or Escape pressed twice,
// moves the focus out of the terminal to `leaveTo`, from where Tab and
// Shift+Tab go on through the page. The first Escape still reaches iex.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { Unicode11Addon } from '@xterm/addon-unicode11';

/** Two Escapes this close together leave the terminal. */
const DOUBLE_ESCAPE_MS = 600;

/** reducedMotion reports whether the reader asked for less motion. */
export function reducedMotion() {
  return window.matchMedia('(prefers-reduced-motion: reduce)').matches;
}

/**
 * @param {HTMLElement} container where the terminal opens
 * @param {object} options xterm.js options (fontSize, rows, theme, ...)
 * @param {{onLeave: () => void, inputLabel: string, inputDescription?: string}} a11y
 *        onLeave moves the focus out; the input's accessible name and description
 * @returns {{term: Terminal, fit: FitAddon}}
 */
export function createTerminal(container, options, a11y) {
  const onLeave = a11y.onLeave;
  const term = new Terminal({
    lineHeight: 1.15,
    cursorBlink: !reducedMotion(),
    cursorInactiveStyle: 'outline',
    screenReaderMode: true,
    // WCAG 2.2 AA for text: xterm.js darkens or lightens any colour a
    // program picks until it stands out from the background this much.
    minimumContrastRatio: 4.5,
    allowProposedApi: true, // term.unicode
    ...options,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = '11';
  let lastEscape = 0;
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== 'keydown') return true;
    if (e.key === 'F6' && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      onLeave();
      return false;
    }
    if (e.key === 'Escape' && !e.ctrlKey && !e.altKey && !e.metaKey && !e.shiftKey) {
      const now = e.timeStamp || performance.now();
      if (now - lastEscape < DOUBLE_ESCAPE_MS) {
        lastEscape = 0;
        e.preventDefault();
        onLeave();
        return false;
      }
      lastEscape = now;
    } else {
      lastEscape = 0;
    }
    return true;
  });
  term.open(container);
  const textarea = container.querySelector('.xterm-helper-textarea');
  if (textarea) forwardPlainInput(term, textarea);
  if (textarea) {
    // The name a screen reader gives the input, and how to get out.
    textarea.setAttribute('aria-label', a11y.inputLabel);
    if (a11y.inputDescription) textarea.setAttribute('aria-description', a11y.inputDescription);
  }
  return { term, fit };
}

/**
 * In screen-reader mode xterm.js types only what key events carry and
 * drops text that arrives as an input event alone (xterm.js #3679): a
 * phone's keyboard, dictation, an on-screen keyboard, a paste from an
 * assistive tool. Such text is typed here, when no key press carried it.
 * IME composition stays with xterm.js: after compositionend it sends, a
 * moment later, everything the input holds from where the composition
 * began, so text that arrives in that moment is left to it (sent here too,
 * it would come out twice and before the syllables).
 */
function forwardPlainInput(term, textarea) {
  let pressed = false;
  let composing = false;
  let finalizing = 0; // compositionends whose text xterm.js has yet to send
  textarea.addEventListener('keydown', () => { pressed = false; }, true);
  textarea.addEventListener('keypress', () => { pressed = true; }, true);
  textarea.addEventListener('compositionstart', () => { composing = true; });
  // Added after xterm.js's own listener, so this timer runs after its.
  textarea.addEventListener('compositionend', () => {
    composing = false;
    finalizing += 1;
    setTimeout(() => { finalizing -= 1; }, 0);
  });
  textarea.addEventListener('input', (ev) => {
    if (!term.options.screenReaderMode || ev.inputType !== 'insertText' || !ev.data || ev.isComposing) return;
    if (pressed) {
      pressed = false;
      return;
    }
    if (composing || finalizing > 0) return;
    term.input(ev.data, true);
  }, true);
}
