// Where a resumable session's token survives a reload: sessionStorage, so
// one per tab. The page keeps one session; each <iex-console> keeps its
// own. Storage can be disabled or full: then nothing is kept, load finds
// nothing, and the session just does not survive a reload.

/** A place for one session's resume token, under a storage key. */
class ResumeSlot {
  constructor(key) {
    this.key = key;
  }

  /** @returns {{token: string, instance: string}|null} what save kept */
  load() {
    try {
      return JSON.parse(sessionStorage.getItem(this.key) || 'null');
    } catch {
      return null;
    }
  }

  /** Keep the token of a "ready" event and the instance that holds it. */
  save(token, instance) {
    try {
      sessionStorage.setItem(this.key, JSON.stringify({ token, instance }));
    } catch {
      // No storage: the session will not survive a reload.
    }
  }

  /** Forget the session: it ended, or a fresh one replaces it. */
  clear() {
    try {
      sessionStorage.removeItem(this.key);
    } catch {
      // No storage: the session will not survive a reload.
    }
  }
}

/** The page's session; a class's page (?classroom=CODE) keeps its own,
 *  so that joining a class never resumes a session outside it. */
export function pageResume(classCode = '') {
  return new ResumeSlot(classCode ? `iexbox.resume:${classCode}` : 'iexbox.resume');
}

/** The session of the index-th <iex-console> on the page at path, talking
 *  to server. */
export function widgetResume(server, path, index) {
  return new ResumeSlot(`iexbox.embed:${server}:${path}:${index}`);
}

// Longer-lived choices live in localStorage, under keys written once here
// (docs/embedding.md documents them).

/** The page's text size, in CSS pixels of the terminal font. */
export const TEXT_SIZE_KEY = 'iexbox.textSize';

/** The editor text of the console `id` (its id attribute, else its index)
 *  on the page at `path`. */
export function codeKey(path, id) {
  return `iexbox.code:${path}:${id}`;
}

/** The learner token and name of the class `code` (as stored: upper
 *  case, no dash) on the iexbox server at `server`, kept from the first
 *  "ready" of the class: the page and every console of a lesson page
 *  name the learner by it, so the name is asked once per class. */
export function learnerKey(server, code) {
  return `iexbox.learner:${server}:${code}`;
}

/** The teacher page's light or dark theme, once chosen. */
export const THEME_KEY = 'iexbox.theme';

/** The teacher page's class and teacher token, {code, token}, moved
 *  here from the URL's fragment: sessionStorage, so one per tab, gone
 *  with it. */
export const TEACH_KEY = 'iexbox.teach';

/** Read a localStorage value; null when storage is disabled. */
export function loadLocal(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Write (or, for null, remove) a localStorage value, if storage allows. */
export function saveLocal(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // No storage: nothing is kept.
  }
}
