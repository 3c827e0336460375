// The teacher's view of a class (teach.js): the roster as the event
// stream keeps it (GET /classes/CODE/events: roster, learner, removed,
// class), a card per learner and a summary per exercise. Every name and
// text from the server is set as textContent, never parsed as markup.

import { clock } from './countdown.js';

/** The class's roster as the latest events say, with when each learner's
 *  idle seconds were true, so that they count up in the page. */
export class Roster {
  constructor() {
    this.code = '';
    this.title = '';
    this.state = '';
    this.exercises = [];
    this.learners = new Map(); // id → {view, at}
  }

  /** A roster event (or GET /classes/CODE): the whole class. */
  reset(r) {
    this.code = r.code || this.code;
    this.title = r.title || '';
    this.state = r.state || '';
    this.exercises = Array.isArray(r.exercises) ? r.exercises : [];
    const now = Date.now();
    this.learners = new Map((r.learners || []).map((l) => [l.id, { view: l, at: now }]));
  }

  /** A learner event: returns the results that are new since the last
   *  view of that learner, [{exercise, result}], and whether the learner
   *  is new. */
  update(l) {
    const old = this.learners.get(l.id);
    this.learners.set(l.id, { view: l, at: Date.now() });
    const fresh = [];
    for (const [ex, res] of Object.entries(l.exercises || {})) {
      const before = old && old.view.exercises ? old.view.exercises[ex] : null;
      if (!before || before.attempts !== res.attempts || before.status !== res.status) fresh.push({ exercise: ex, result: res });
    }
    return { joined: !old, fresh };
  }

  remove(id) {
    const old = this.learners.get(id);
    this.learners.delete(id);
    return old ? old.view : null;
  }

  /** Every exercise: the class's own, then any other a learner checked. */
  allExercises() {
    const all = [...this.exercises];
    for (const { view } of this.learners.values()) {
      for (const ex of Object.keys(view.exercises || {})) if (!all.includes(ex)) all.push(ex);
    }
    return all;
  }

  /** Per exercise: learners who checked it, who solved it once, whose
   *  latest check passes (the server's summary, kept current here). */
  summary() {
    const out = new Map(this.allExercises().map((ex) => [ex, { attempted: 0, solved: 0, passing: 0 }]));
    for (const { view } of this.learners.values()) {
      for (const [ex, res] of Object.entries(view.exercises || {})) {
        const s = out.get(ex);
        s.attempted += 1;
        if (res.solved_at) s.solved += 1;
        if (res.status === 'pass') s.passing += 1;
      }
    }
    return out;
  }

  /** The learners, by name. */
  sorted() {
    return [...this.learners.values()].sort((a, b) => a.view.name.localeCompare(b.view.name));
  }
}

/** Seconds idle now, counted up from what the server said at `at`. */
function idleNow(idleS, at) {
  return (Number(idleS) || 0) + Math.floor((Date.now() - at) / 1000);
}

/** "5/5 passed", "2/5 passed", "error", in the page's words t. */
export function resultText(res, t) {
  if (res.status === 'error') return t('resultError');
  return t('passed', res.passed, res.total);
}

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** Draws the roster into the page's learner list and summary table. */
export class RosterView {
  /**
   * @param {{list: HTMLElement, empty: HTMLElement, count: HTMLElement,
   *          summary: HTMLElement, heading: HTMLElement}} parts
   * @param {{watch: (l: object) => void, remove: (l: object) => void}} actions
   * @param {(key: string, ...args: any[]) => string} t the page's words (teach-words.js)
   */
  constructor(parts, actions, t) {
    this.t = t;
    this.parts = parts;
    this.actions = actions;
    this.cards = new Map(); // id → {li, parts}
  }

  /** Redraw everything that changed (cards are kept, so the focus is). */
  render(roster) {
    const seen = new Set();
    let prev = null;
    for (const entry of roster.sorted()) {
      const { view } = entry;
      seen.add(view.id);
      let card = this.cards.get(view.id);
      if (!card) {
        card = this.card(view);
        this.cards.set(view.id, card);
      }
      this.fill(card, entry, roster);
      // Keep the list in name order without moving cards that are in place.
      const want = prev ? prev.nextSibling : this.parts.list.firstChild;
      if (want !== card.li) this.parts.list.insertBefore(card.li, want);
      prev = card.li;
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        // A removed learner's card took the focus with it: keep it near.
        if (card.li.contains(document.activeElement)) this.parts.heading.focus();
        card.li.remove();
        this.cards.delete(id);
      }
    }
    const n = roster.learners.size;
    this.parts.empty.hidden = n > 0;
    this.parts.count.textContent = `(${n})`;
    this.renderSummary(roster, n);
  }

  /** A learner's card: its buttons are made once, its text refilled. */
  card(view) {
    const li = el('li', 'learner');
    const name = el('h3', 'learner-name');
    const state = el('p', 'learner-state');
    const consoles = el('ul', 'learner-consoles');
    const results = el('dl', 'learner-results');
    const actions = el('div', 'learner-actions');
    const watch = el('button', 'btn', this.t('watch'));
    watch.type = 'button';
    watch.dataset.action = 'watch';
    const remove = el('button', 'btn btn-danger-quiet', this.t('remove'));
    remove.type = 'button';
    remove.dataset.action = 'remove';
    actions.append(watch, remove);
    li.append(name, state, consoles, results, actions);
    const card = { li, name, state, consoles, results, watch, remove, view };
    watch.addEventListener('click', () => this.actions.watch(card.view));
    remove.addEventListener('click', () => this.actions.remove(card.view));
    return card;
  }

  fill(card, entry, roster) {
    const { view, at } = entry;
    // Redraw only what changed: the learner, or the class's exercises.
    const key = JSON.stringify([view, roster.allExercises()]);
    card.at = at;
    if (card.key === key) return;
    card.key = key;
    card.view = view;
    card.li.dataset.id = view.id;
    card.li.dataset.connected = String(!!view.connected);
    card.name.textContent = view.name;
    const t = this.t;
    card.watch.setAttribute('aria-label', t('watchLabel', view.name));
    card.watch.disabled = !view.connected;
    card.watch.title = view.connected ? '' : t('noConsole');
    card.remove.setAttribute('aria-label', t('removeLabel', view.name));
    this.tickCard(card);

    const results = [];
    for (const ex of roster.allExercises()) {
      const res = (view.exercises || {})[ex];
      const row = el('div', 'result');
      row.dataset.status = res ? res.status : 'none';
      row.append(el('dt', '', ex));
      if (!res) {
        row.append(el('dd', 'result-none', t('notCheckedYet')));
      } else {
        const parts = [`${res.status === 'pass' ? '✓' : res.status === 'fail' ? '✗' : '!'} ${resultText(res, t)}`,
          t('attempts', res.attempts)];
        if (res.solved_at) parts.push(t('solvedAt', new Date(res.solved_at).toLocaleTimeString(document.documentElement.lang, { hour: '2-digit', minute: '2-digit' })));
        row.append(el('dd', 'result-text', parts.join(' · ')));
      }
      results.push(row);
    }
    card.results.replaceChildren(...results);
  }

  /** The idle times, counted up once a second by the page. */
  tick() {
    for (const card of this.cards.values()) this.tickCard(card);
  }

  tickCard(card) {
    const { view, at } = card;
    const t = this.t;
    const state = view.connected
      ? t('connectedIdle', clock(idleNow(view.idle_s, at) * 1000))
      : t('notConnected');
    if (card.state.textContent !== state) card.state.textContent = state;
    const consoles = (view.consoles || []).map((c) => t('consoleIdle', c.exercise || t('noExercise'), clock(idleNow(c.idle_s, at) * 1000)));
    const items = card.consoles.children;
    if (items.length !== consoles.length) {
      card.consoles.replaceChildren(...consoles.map((text) => el('li', '', text)));
      card.consoles.setAttribute('aria-label', t('consolesOf', view.name));
    } else {
      consoles.forEach((text, i) => {
        if (items[i].textContent !== text) items[i].textContent = text;
      });
    }
  }

  renderSummary(roster, n) {
    const rows = [];
    for (const [ex, s] of roster.summary()) {
      const tr = el('tr');
      const th = el('th', '', ex);
      th.scope = 'row';
      tr.append(th, el('td', '', this.t('checkedOf', s.attempted, n)), el('td', '', String(s.solved)), el('td', '', String(s.passing)));
      rows.push(tr);
    }
    if (rows.length === 0) {
      const tr = el('tr');
      const td = el('td', 'summary-none', this.t('noExercises'));
      td.colSpan = 4;
      tr.append(td);
      rows.push(tr);
    }
    this.parts.summary.replaceChildren(...rows);
  }
}
