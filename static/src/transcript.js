// What an evaluation printed, as plain text: the live region of the page
// and the widget announces it, and the widget's run() settles with it.
//
// iex echoes what is typed, prints the result, then its next main prompt.
// A Transcript collects the output since the last main prompt, with escape
// sequences and carriage returns taken out; at the next main prompt it
// drops the echoed lines (one per Enter sent) and reports the rest.

/** CSI, OSC and two-byte escapes, and control characters but newline. */
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x09\x0b-\x1f\x7f]/g;

/** The same, carriage returns kept. */
const ESCAPES_KEEPING_CR = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]/g;

/** iex's main prompt at the end of the output. */
const MAIN_PROMPT = /(?:^|[\r\n])iex\((\d+)\)> $/;

/** A main or continuation prompt at the start of an echoed line. */
const PROMPTED = /^(?:iex|\.\.\.)\(\d+\)> /;

/** plain removes escape sequences and control characters but newlines;
 *  a carriage return inside a line starts it again (iex's line editor
 *  redraws the line it edits that way). */
export function plain(text) {
  return text
    .replace(/\r+\n/g, '\n')
    .split('\n')
    .map((line) => line.replace(/\r+$/, ''))
    .map((line) => line.slice(line.lastIndexOf('\r') + 1).replace(ESCAPES, ''))
    .join('\n');
}

export class Transcript {
  /** @param {(output: string, input: string, lines: number) => void} onResult
   *  called at each main prompt that follows input with at least one Enter:
   *  what was printed, what was echoed (prompts taken out) and how many
   *  lines of input that was. */
  constructor(onResult) {
    this.onResult = onResult;
    this.decoder = new TextDecoder();
    this.text = '';
    this.enters = 0;
  }

  /** Note input on its way to iex: each carriage return is a line echoed. */
  sent(input) {
    for (const ch of input) if (ch === '\r') this.enters += 1;
  }

  /** Forget everything so far (a new session, a reset screen). */
  reset() {
    this.text = '';
    this.enters = 0;
  }

  /** See output bytes; report a result when a main prompt ends them. */
  feed(bytes) {
    this.text += this.decoder.decode(bytes, { stream: true }).replace(ESCAPES_KEEPING_CR, '');
    if (this.text.length > 256 * 1024) this.text = this.text.slice(-128 * 1024);
    const m = this.text.match(MAIN_PROMPT);
    if (!m) return;
    const body = plain(this.text.slice(0, m.index));
    const enters = this.enters;
    // The prompt stays: the line typed after it is an echo like the others.
    this.text = m[0].replace(/^[\r\n]/, '');
    this.enters = 0;
    if (enters === 0) return; // the first prompt, or a redraw
    // Echoed input lines start with a prompt (the line editor redraws
    // them whole); what follows the last of them is what iex printed.
    const lines = body.split('\n');
    let last = -1;
    lines.forEach((l, i) => { if (PROMPTED.test(l)) last = i; });
    const input = lines.slice(0, last + 1).map((l) => l.replace(PROMPTED, ''))
      .filter((l, i, all) => i === 0 || l !== all[i - 1]).join('\n');
    const output = lines.slice(last + 1).join('\n').replace(/\s+$/, '').replace(/^\n+/, '');
    this.onResult(output, input, enters);
  }
}

/** Announcer writes text into a polite live region, even when the same
 *  text comes twice in a row. */
export class Announcer {
  /** @param {HTMLElement} region an element with aria-live="polite" */
  constructor(region) {
    this.region = region;
  }

  say(text) {
    const short = text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
    this.region.textContent = '';
    setTimeout(() => { this.region.textContent = short || ' '; }, 50);
  }
}
