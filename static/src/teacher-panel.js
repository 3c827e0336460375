// The "Teacher's console" panel of a learner's page and widget: when the
// class shows the teacher's console (the server's teacher_console event),
// a button offers it; opening it shows a read-only view of it (the watch
// page, /watch/TOKEN, in a frame), closing it drops the view. When the
// class stops showing it (teacher_console_ended) the panel says so. The
// status line is a live region that stays in place, so screen readers
// hear the offer and its end. Pure DOM: the caller decides where.

let panels = 0;

export class TeacherPanel {
  /** doc: the document that makes the elements; t: the words of i18n.js. */
  constructor(doc, t) {
    this.t = t;
    this.url = '';
    const id = `iexbox-teacher-view-${++panels}`;
    this.root = doc.createElement('div');
    this.root.className = 'teacher-panel';
    this.status = doc.createElement('p');
    this.status.className = 'teacher-status';
    this.status.setAttribute('role', 'status');
    this.status.setAttribute('aria-live', 'polite');
    this.status.tabIndex = -1; // where the focus goes when the button goes
    this.toggle = doc.createElement('button');
    this.toggle.type = 'button';
    this.toggle.className = 'btn teacher-toggle';
    this.toggle.setAttribute('aria-expanded', 'false');
    this.toggle.setAttribute('aria-controls', id);
    this.toggle.hidden = true;
    this.toggle.addEventListener('click', () => (this.isOpen() ? this.close() : this.open()));
    this.view = doc.createElement('div');
    this.view.id = id;
    this.view.className = 'teacher-view';
    this.view.hidden = true;
    this.frame = doc.createElement('iframe');
    this.frame.className = 'teacher-frame';
    this.frame.src = 'about:blank';
    this.view.append(this.frame);
    const head = doc.createElement('div');
    head.className = 'teacher-head';
    head.append(this.toggle, this.status);
    this.root.append(head, this.view);
    this.root.hidden = true;
    this.label();
  }

  /** Words in the panel's language, again after a change of it. */
  relabel(t) {
    this.t = t;
    this.label();
  }

  label() {
    this.toggle.textContent = this.isOpen() ? this.t('teacherConsoleClose') : this.t('teacherConsoleOpen');
    this.frame.title = this.t('teacherConsoleFrame');
  }

  isOpen() {
    return !this.view.hidden;
  }

  /** The class shows the teacher's console at url (the watch page). */
  offer(url) {
    const again = this.url !== '';
    this.url = url;
    this.root.hidden = false;
    this.toggle.hidden = false;
    if (!again) this.status.textContent = this.t('teacherConsoleShown');
    if (this.isOpen()) this.frame.src = url; // another console: follow it
  }

  /** The class no longer shows it: the view closes and the panel says so. */
  withdraw() {
    if (!this.url) return;
    const hadFocus = this.toggle.getRootNode().activeElement === this.toggle;
    this.url = '';
    this.close();
    this.toggle.hidden = true;
    this.status.textContent = this.t('teacherConsoleStopped');
    if (hadFocus) this.status.focus();
  }

  open() {
    if (!this.url) return;
    this.frame.src = this.url;
    this.view.hidden = false;
    this.toggle.setAttribute('aria-expanded', 'true');
    this.label();
  }

  close() {
    this.frame.src = 'about:blank';
    this.view.hidden = true;
    this.toggle.setAttribute('aria-expanded', 'false');
    this.label();
  }

  /** The page's session is over: no panel. */
  reset() {
    this.url = '';
    this.close();
    this.toggle.hidden = true;
    this.status.textContent = '';
    this.root.hidden = true;
  }
}

/** The watch page of a teacher_console event (its url, a path), on the
 *  server at origin, pinned to instance (the server holding it). */
export function teacherURL(msg, origin, instance) {
  const u = new URL(msg.url, origin);
  if (instance) u.searchParams.set('instance', instance);
  return u.toString();
}
