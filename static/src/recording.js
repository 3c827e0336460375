// The page's part of recordings: the Record control (a recording is asked
// for in the hello, so Record starts a fresh, recorded session), and the
// notice that a session is recorded, shown to the presenter and to every
// viewer, with the replay link (for a viewer, one that leads back to live;
// its Catch up control is catch-up.js).

const $ = (id) => document.getElementById(id);

export class RecordingNotice {
  /** @param {(key: string, ...args: any[]) => string} t the page's words */
  constructor(viewer, watchPath, t) {
    this.t = t;
    this.viewer = viewer;
    this.watchPath = watchPath;
    this.pill = $('recording');
    this.text = $('recording-text');
    this.link = $('recording-link');
    this.current = null; // the last recording event
    this.stopped = false;
  }

  /** A recording event: show it. */
  show(msg) {
    this.current = msg;
    this.stopped = false;
    const replay = new URL(msg.replay_url, window.location.origin);
    if (this.viewer && this.watchPath) replay.searchParams.set('live', this.watchPath);
    this.link.href = replay.toString();
    // A viewer catches up in this page (catch-up.js); the link opens the
    // replay page, which leads back to live.
    this.link.textContent = this.t('replay');
    this.link.title = this.t('replayTitle');
    this.text.textContent = this.t(this.viewer ? 'recordedLive' : 'recording');
    this.pill.title = this.t('privacy');
    this.pill.hidden = false;
  }

  /** recording_stopped: the byte bound was reached. */
  stop() {
    this.stopped = true;
    this.text.textContent = this.t('recordingStopped');
  }

  clear() {
    this.current = null;
    this.pill.hidden = true;
  }
}

/** The text a refused recording's warning shows. */
export function describeRefused(msg, t) {
  const why = { storage: 'refusedStorage', rate: 'refusedRate' }[msg.refused] || 'refusedOther';
  return t('notRecorded', t(why));
}
