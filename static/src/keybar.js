// The key bar of touch devices: the keys a phone's keyboard lacks, sending
// the bytes a keyboard would (the arrows follow the terminal's cursor-key
// mode, as xterm.js's own keyboard handling does).

/** @typedef {{label: string, name: string, send: (term: object) => string}} Key */

/** The keys, in order. `name` is the accessible name. */
export const KEYS = [
  { label: 'Tab', name: 'Tab (complete)', send: () => '\t' },
  { label: 'Esc', name: 'Escape', send: () => '\x1b' },
  { label: 'Ctrl-C', name: 'Control C (interrupt)', send: () => '\x03' },
  { label: '←', name: 'Left arrow', send: (t) => arrow(t, 'D') },
  { label: '→', name: 'Right arrow', send: (t) => arrow(t, 'C') },
  { label: '↑', name: 'Up arrow (history)', send: (t) => arrow(t, 'A') },
  { label: '↓', name: 'Down arrow', send: (t) => arrow(t, 'B') },
  { label: '|>', name: 'Pipe operator', send: () => '|> ' },
];

function arrow(term, letter) {
  const app = term && term.modes && term.modes.applicationCursorKeysMode;
  return (app ? '\x1bO' : '\x1b[') + letter;
}

/**
 * Fill `bar` with the keys and a Paste button.
 * @param {HTMLElement} bar an empty element (role toolbar is set here)
 * @param {() => object|null} term the terminal, once there is one
 * @param {(data: string) => void} send input to the session, as if typed
 * @param {(key: string) => string} [label] words for "Terminal keys", "Paste"
 *        and the keys' names, by their English (the same when it has none)
 */
export function fillKeyBar(bar, term, send, label = (k) => k) {
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', label('Terminal keys'));
  const buttons = KEYS.map((k) => [k.label, k.name, () => k.send(term())]);
  buttons.push([label('Paste'), label('Paste from the clipboard'), null]);
  for (const [text, name, bytes] of buttons) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'key';
    b.textContent = text;
    b.setAttribute('aria-label', label(name));
    // Keep the focus (and a phone's keyboard) in the terminal.
    b.addEventListener('pointerdown', (e) => e.preventDefault());
    b.addEventListener('click', async () => {
      if (bytes) {
        send(bytes());
      } else {
        try {
          const text = await navigator.clipboard.readText();
          if (text) {
            const t = term();
            if (t) t.paste(text); // bracketed paste when iex asked for it
            else send(text);
          }
        } catch {
          // No clipboard permission: the browser's own paste still works.
        }
      }
      const t = term();
      if (t) t.focus();
    });
    bar.append(b);
  }
}
