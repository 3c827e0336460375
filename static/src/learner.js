// The learner's side of a class (docs/classes.md), shared by the page
// (/?classroom=CODE) and the widget (<iex-console classroom="CODE">).
//
// The first session of a class asks for a name and says hello with class
// and name; its "ready" carries a learner token, kept in localStorage per
// server and class, and every later hello (a reload, another console of
// the same lesson page) names the learner by that token instead. So the
// name is asked once per class, and a page with five consoles asks once:
// while one console waits for its answer, the others wait for it.

import { learnerKey, loadLocal, saveLocal } from './resume.js';

/** A class code as stored: upper case, without the dash or spaces. */
export function normalizeCode(typed) {
  return String(typed || '').toUpperCase().replace(/[\s-]/g, '');
}

/** A class code as shown: ABCD-EFGH. */
export function showCode(typed) {
  const code = normalizeCode(typed);
  return code.length === 8 ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
}

/** Most characters a name may have (the server's classroom.MaxName). */
export const MAX_NAME = 40;

/** How many user-perceived characters text has (a Hangul syllable or an
 *  emoji with its modifiers counts once), as the server counts them. */
function characters(text) {
  if (typeof Intl !== 'undefined' && Intl.Segmenter) {
    return [...new Intl.Segmenter().segment(text)].length;
  }
  return [...text].length;
}

/** What is wrong with a name before the server sees it, or '' (the
 *  server has the last word). t is the words of i18n.js. */
export function nameProblem(name, t) {
  if (!name) return t('nameNeeded');
  if (characters(name) > MAX_NAME) return t('nameTooLong', MAX_NAME);
  return '';
}

/** One class on one server, as this browser takes part in it. */
export class Seat {
  constructor(server, code) {
    this.server = server;
    this.code = showCode(code);
    this.key = learnerKey(server, normalizeCode(code));
    this.turn = null; // {done, release} while one console joins by name
    this.problem = ''; // why the last name was refused, shown by the next form
  }

  /** The kept learner, {token, name}, or null. Read each time: another
   *  console of the page may have joined meanwhile. */
  kept() {
    try {
      const v = JSON.parse(loadLocal(this.key) || 'null');
      return v && typeof v.token === 'string' && v.token ? v : null;
    } catch {
      return null;
    }
  }

  /** The hello's class fields: by the kept token, or by a name that ask()
   *  returns (a form; ask gets the problem with the last name, if any).
   *  While a name is asked or its answer awaited, other callers wait. The
   *  caller then reports the outcome with joined, refused or forget, or
   *  endTurn when the hello got no answer (the connection dropped). */
  async hello(ask) {
    for (;;) {
      const kept = this.kept();
      if (kept) return { class: this.code, learner: kept.token };
      if (this.turn) {
        await this.turn.done;
        continue;
      }
      let release;
      const done = new Promise((r) => { release = r; });
      this.turn = { done, release };
      try {
        const name = await ask(this.problem);
        return { class: this.code, name };
      } catch (err) {
        this.endTurn();
        throw err;
      }
    }
  }

  /** Let the next console waiting for a name ask, or use a token. */
  endTurn() {
    const turn = this.turn;
    this.turn = null;
    if (turn) turn.release();
  }

  /** A "ready" of the class: keep its learner token and name. */
  joined(ready) {
    this.problem = '';
    if (ready.learner) saveLocal(this.key, JSON.stringify({ token: ready.learner, name: ready.name || '' }));
    this.endTurn();
  }

  /** The server refused the name (taken or not allowed): the next form
   *  says why. */
  refused(message) {
    this.problem = message || '';
    this.endTurn();
  }

  /** Forget the kept learner: the server no longer knows the token (the
   *  teacher removed the learner, or the class ended). */
  forget() {
    saveLocal(this.key, null);
    this.endTurn();
  }
}

const seats = new Map();

/** The page's one Seat for the class code on server. */
export function seatFor(server, code) {
  const key = learnerKey(server, normalizeCode(code));
  if (!seats.has(key)) seats.set(key, new Seat(server, code));
  return seats.get(key);
}

let formCount = 0;

/**
 * An accessible form that asks for the learner's name, built with the
 * words t (i18n.js) into the document of root. Resolves with the name on
 * submit; problem, if any, is shown as an alert first.
 * @returns {{form: HTMLFormElement, name: Promise<string>}}
 */
export function nameForm(doc, t, code, problem) {
  const n = ++formCount;
  const el = (tag, cls, text) => {
    const e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const form = el('form', 'join');
  form.noValidate = true; // the alert below says what is wrong, in words
  const title = el('h2', 'join-title', t('joinTitle', code));
  title.id = `iexbox-join-title-${n}`;
  form.setAttribute('aria-labelledby', title.id);
  const alert = el('p', 'join-error');
  alert.id = `iexbox-join-error-${n}`;
  alert.setAttribute('role', 'alert');
  const label = el('label', 'join-label', t('nameLabel'));
  const input = el('input', 'join-name');
  input.id = `iexbox-join-name-${n}`;
  input.name = 'name';
  input.type = 'text';
  input.autocomplete = 'name';
  input.spellcheck = false;
  input.required = true;
  label.htmlFor = input.id;
  const help = el('p', 'join-help', t('nameHelp', MAX_NAME));
  help.id = `iexbox-join-help-${n}`;
  const button = el('button', 'join-button', t('join'));
  button.type = 'submit';
  const row = el('div', 'join-row');
  row.append(input, button);
  form.append(title, alert, label, row, help);

  const say = (text) => {
    alert.textContent = text;
    alert.hidden = !text;
    input.setAttribute('aria-invalid', String(!!text));
    input.setAttribute('aria-describedby', text ? `${alert.id} ${help.id}` : help.id);
  };
  say(problem ? `${t('nameRefused')}: ${problem}` : '');

  const name = new Promise((resolve) => {
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const value = input.value.trim();
      const wrong = nameProblem(value, t);
      if (wrong) {
        say(wrong);
        input.focus();
        return;
      }
      button.disabled = true;
      input.readOnly = true;
      resolve(value);
    });
  });
  return { form, input, name };
}
