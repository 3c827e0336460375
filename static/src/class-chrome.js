// The page's class strip (/?classroom=CODE): the class and the learner's
// name, the notice that the teacher watches, the teacher's messages in a
// polite live region, and the form that asks for the name. Pure DOM
// updates; main.js decides when (learner.js keeps the learner).

import { nameForm } from './learner.js';

const byId = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`iexbox: element #${id} missing from the page`);
  return el;
};

export class ClassChrome {
  /** t: the words of i18n.js. */
  constructor(t) {
    this.t = t;
    this.bar = byId('classbar');
    this.info = byId('class-info');
    this.watchedEl = byId('watched');
    this.join = byId('join');
    this.box = byId('class-message-box');
    this.message = byId('class-message');
    this.dismiss = byId('class-message-dismiss');
    this.dismiss.textContent = t('dismiss');
    this.dismiss.setAttribute('aria-label', t('dismissLabel'));
    this.dismiss.addEventListener('click', () => this.hideMessage());
    this.lastMessage = '';
  }

  /** Show the class and the name the learner joined as. */
  show(code, name) {
    this.info.textContent = name ? this.t('inClass', code, name) : code;
    this.bar.hidden = false;
  }

  /** The class is over for this page: no strip. */
  hide() {
    this.bar.hidden = true;
    this.watched(false);
  }

  /** Ask for the name in a form; resolves with it. problem: why the last
   *  one was refused, if it was. */
  ask(code, problem) {
    const { form, input, name } = nameForm(document, this.t, code, problem);
    this.join.textContent = '';
    this.join.append(form);
    this.join.hidden = false;
    input.focus();
    return name.then((value) => {
      this.join.hidden = true;
      this.join.textContent = '';
      return value;
    });
  }

  /** Whether the form is up. */
  asking() {
    return !this.join.hidden;
  }

  /** "Your teacher is watching", or nothing. The status element stays in
   *  place (a live region must exist before it speaks); only its text
   *  comes and goes. */
  watched(on) {
    this.watchedEl.textContent = on ? this.t('watched') : '';
  }

  /** A message from the teacher, in the polite live region. */
  showMessage(text) {
    this.lastMessage = text;
    const from = document.createElement('strong');
    from.textContent = `${this.t('fromTeacher')}: `;
    const body = document.createElement('span');
    body.className = 'class-message-text';
    body.textContent = text; // a teacher's text is text, never markup
    this.message.replaceChildren(from, body);
    this.box.dataset.shown = 'true';
    this.dismiss.hidden = false;
  }

  hideMessage() {
    const hadFocus = document.activeElement === this.dismiss;
    this.message.textContent = '';
    this.box.dataset.shown = 'false';
    this.dismiss.hidden = true;
    if (hadFocus) document.getElementById('terminal')?.focus();
  }
}
