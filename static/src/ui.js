// The page chrome around the terminal: header status pill, time-left pill,
// header notice and the end-of-session banner. Pure DOM updates, no logic
// about the protocol.

import { clock } from './countdown.js';

const byId = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`iexbox: element #${id} missing from the page`);
  return el;
};

/** The status pill's word for each state (keys of page-words.js). */
const STATE_TEXT = {
  connecting: 'connecting',
  running: 'running',
  ended: 'ended',
};

const VIEWER_STATE_TEXT = {
  connecting: 'joining',
  running: 'watchingLive',
  ended: 'ended',
};

const RUNTIME_TEXT = {
  runsc: 'gVisor (runsc)',
  runc: 'runc',
};

export class Chrome {
  /** @param {(key: string, ...args: any[]) => string} t the page's words */
  constructor(t) {
    this.t = t;
    this.status = byId('status');
    this.statusText = byId('status-text');
    this.time = byId('time-left');
    this.timeValue = byId('time-left-value');
    this.notice = byId('notice');
    this.banner = byId('banner');
    this.bannerTitle = byId('banner-title');
    this.bannerDetail = byId('banner-detail');
    this.viewers = byId('viewers');
    this.viewersValue = byId('viewers-value');
    this.shareButton = byId('share');
    this.sharePanel = byId('share-panel');
    this.shareLink = byId('share-link');
    byId('share-copy').addEventListener('click', () => this.copyShare());
    byId('share-close').addEventListener('click', () => this.hideShare());
    this.lastClock = '';
  }

  /**
   * @param {'connecting'|'running'|'ended'} state
   * @param {boolean} viewer the page watches someone else's session
   */
  setState(state, viewer = false) {
    this.status.dataset.state = state;
    const key = (viewer ? VIEWER_STATE_TEXT : STATE_TEXT)[state];
    this.statusText.textContent = key ? this.t(key) : state;
    document.body.dataset.state = state;
    document.body.dataset.mode = viewer ? 'viewer' : 'presenter';
    this.shareButton.disabled = state !== 'running';
    if (state !== 'running') this.status.removeAttribute('title');
  }

  /** While connecting, say where the client stands in line. */
  setWaiting(text) {
    if (document.body.dataset.state === 'connecting') this.statusText.textContent = text;
  }

  /** Describe the sandbox in the status pill's tooltip. */
  setSessionInfo(ready) {
    const parts = [];
    if (ready.runtime) parts.push(this.t('runtimeInfo', RUNTIME_TEXT[ready.runtime] || ready.runtime));
    if (ready.instance) parts.push(this.t('serverInfo', ready.instance));
    if (ready.session) parts.push(this.t('sessionInfo', ready.session));
    if (parts.length) this.status.title = parts.join('\n');
  }

  /**
   * Show the time left, or a placeholder.
   * @param {{ms: number, reason: string}|null} left
   * @param {'connecting'|'running'|'ended'} state
   */
  setTimeLeft(left, state) {
    let text;
    let level = '';
    let title;
    if (left) {
      text = this.t('timeLeft', clock(left.ms));
      if (left.ms <= 10_000) level = 'critical';
      else if (left.ms <= 60_000) level = 'warn';
      title =
        left.reason === 'idle_timeout'
          ? this.t('idleTitle')
          : this.t('lifetimeTitle');
    } else if (state === 'running') {
      text = this.t('noLimit');
      title = this.t('noLimitTitle');
    } else {
      text = '–:––';
      title = this.t('noSession');
    }
    if (text !== this.lastClock) {
      this.timeValue.textContent = text;
      this.lastClock = text;
    }
    this.time.dataset.level = level;
    this.time.title = title;
  }

  /** A short warning next to the status pill; null hides it. */
  setNotice(text) {
    if (text) {
      this.notice.textContent = text;
      this.notice.hidden = false;
    } else {
      this.notice.hidden = true;
      this.notice.textContent = '';
    }
  }

  /** @param {{title: string, detail: string, tone: string}} d */
  showBanner(d) {
    this.bannerTitle.textContent = d.title;
    this.bannerDetail.textContent = d.detail || '';
    this.bannerDetail.hidden = !d.detail;
    this.banner.dataset.tone = d.tone || 'info';
    this.banner.hidden = false;
  }

  hideBanner() {
    this.banner.hidden = true;
  }

  /** How many people watch; 0 hides the pill. */
  setViewers(n) {
    this.viewers.hidden = !(n > 0);
    this.viewersValue.textContent = this.t('watching', n);
  }

  /** Show the watch link, selected for copying. */
  showShare(url) {
    this.shareLink.value = url;
    this.sharePanel.hidden = false;
    this.shareLink.focus();
    this.shareLink.select();
  }

  hideShare() {
    this.sharePanel.hidden = true;
  }

  async copyShare() {
    this.shareLink.select();
    const button = byId('share-copy');
    try {
      await navigator.clipboard.writeText(this.shareLink.value);
      button.textContent = this.t('copied');
    } catch {
      button.textContent = this.t('pressCtrlC');
    }
    setTimeout(() => { button.textContent = this.t('copy'); }, 1500);
  }
}
