// The page's part of recordings: the Record control (a recording is asked
// for in the hello, so Record starts a fresh, recorded session), and the
// notice that a session is recorded, shown to the presenter and to every
// viewer, with the replay link (and, for a viewer, a way to scrub back
// through what was recorded so far and return to live).

const $ = (id) => document.getElementById(id);

/** What the presenter is told wherever recording is offered. */
export const PRIVACY =
  'Recorded: what iex shows (its output, including the echo of what you type) and the terminal size. ' +
  'Keystrokes themselves are not recorded, but iex echoes them.';

export class RecordingNotice {
  constructor(viewer, watchPath) {
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
    this.link.textContent = this.viewer ? 'Catch up' : 'Replay';
    this.link.title = this.viewer
      ? 'Scrub back through what was recorded so far, then return to live'
      : 'Open the recording (it grows while the session runs)';
    this.text.textContent = this.viewer ? 'This session is being recorded' : 'Recording';
    this.pill.title = PRIVACY;
    this.pill.hidden = false;
  }

  /** recording_stopped: the byte bound was reached. */
  stop() {
    this.stopped = true;
    this.text.textContent = 'Recording stopped (size limit)';
  }

  clear() {
    this.current = null;
    this.pill.hidden = true;
  }
}

/** The text a refused recording's warning shows. */
export function describeRefused(msg) {
  const why = {
    storage: 'the server has no room for more recordings',
    rate: 'too many recordings from your address this hour',
  }[msg.refused] || 'the server could not record it';
  return `Not recorded: ${why}. The session goes on.`;
}
