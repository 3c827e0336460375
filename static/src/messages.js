// Plain-language wording for the ways a session can end.
//
// Every function here returns {title, detail, tone}: `title` is the one-line
// headline of the end banner, `detail` a sentence of context (may be empty)
// and `tone` one of 'info' | 'warn' | 'error', used for colour only.

/** Close codes specific to iexbox.v1, used when a socket closes without an
 *  exit or error event. Generic codes (1000, 1001, 1006, 1011, ...) without
 *  such an event are reported as a lost connection. */
const CLOSE_CODES = {
  1009: { error: 'protocol', message: 'A message was too large.' },
  4000: { exit: 'idle_timeout' },
  4001: { exit: 'max_lifetime' },
  4002: { error: 'capacity' },
  4004: { error: 'protocol' },
  4005: { error: 'unavailable' },
  4006: { exit: 'oom' },
  4010: { error: 'resume_failed' },
  4011: { error: 'not_found' },
  4013: { exit: 'class_ended' },
};

/** "90 s", "5 min", "1 h 30 min" – for limits and retry hints. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  const rest = m % 60;
  return rest ? `${h} h ${rest} min` : `${h} h`;
}

/**
 * Status text while waiting in line: {"type":"queued","position":N,"eta":S}.
 * @param {{position: number, eta?: number}} msg
 */
export function describeQueued(msg, lang = 'en') {
  if (lang === 'ko') return koQueued(msg);
  const n = Math.max(0, Math.floor(Number(msg.position) || 0));
  let text = n === 0 ? 'Starting… you are next' : `Starting… ${n} ahead of you`;
  if (Number(msg.eta) > 0) text += ` (about ${duration(msg.eta)})`;
  return text;
}

/**
 * Wording for an {"type":"exit"} event.
 * @param {{reason: string, code: number|null}} msg
 * @param {{idle_timeout?: number, max_lifetime?: number}|null} limits from "ready"
 */
export function describeExit(msg, limits, lang = 'en') {
  if (lang === 'ko' && KO_EXIT[msg.reason]) return { ...KO_EXIT[msg.reason], tone: describeExit(msg, limits).tone };
  const idle = limits && limits.idle_timeout > 0 ? limits.idle_timeout : 0;
  const life = limits && limits.max_lifetime > 0 ? limits.max_lifetime : 0;
  switch (msg.reason) {
    case 'exited':
      return {
        title: 'iex exited',
        detail:
          typeof msg.code === 'number' && msg.code !== 0
            ? `The iex process stopped with exit code ${msg.code}. Start a new session to continue.`
            : 'The iex process finished. Start a new session to continue.',
        tone: 'info',
      };
    case 'idle_timeout':
      return {
        title: 'Session ended after a period of inactivity',
        detail: idle
          ? `Nothing was typed for ${duration(idle)}, so the sandbox was shut down. Its state is gone; start a new session to continue.`
          : 'The sandbox was shut down because it was idle. Start a new session to continue.',
        tone: 'warn',
      };
    case 'max_lifetime':
      return {
        title: 'Session reached its time limit',
        detail: life
          ? `Each session can run for at most ${duration(life)}. Start a new session to continue.`
          : 'Sessions have a maximum running time. Start a new session to continue.',
        tone: 'warn',
      };
    case 'oom':
      return {
        title: 'The sandbox ran out of memory',
        detail: 'iex used more memory than a sandbox is allowed, so it was stopped.',
        tone: 'error',
      };
    case 'shutdown':
      return {
        title: 'The server is restarting',
        detail: 'Your session was closed for maintenance. Start a new session in a moment.',
        tone: 'warn',
      };
    case 'closed':
      return {
        title: 'The presenter ended the session',
        detail: 'The live session you were watching is over.',
        tone: 'info',
      };
    case 'unshared':
      return {
        title: 'The presenter stopped sharing',
        detail: 'This watch link no longer works; ask for a new one.',
        tone: 'info',
      };
    case 'class_ended':
      return {
        title: 'The class has ended',
        detail: 'Your teacher ended the class, or took you out of it. Your work so far is with your teacher.',
        tone: 'info',
      };
    case 'error':
      return {
        title: 'The session stopped because of an internal error',
        detail: 'Something went wrong on the server. Starting a new session usually helps.',
        tone: 'error',
      };
    default:
      return {
        title: 'Session ended',
        detail: msg.reason ? `Reason: ${msg.reason}.` : '',
        tone: 'info',
      };
  }
}

/**
 * Wording for an {"type":"error"} event.
 * @param {{code: string, message?: string, retry_after?: number}} msg
 */
export function describeError(msg, lang = 'en') {
  if (lang === 'ko') return koError(msg);
  const retry = Number(msg.retry_after) > 0 ? Number(msg.retry_after) : 0;
  const serverSays = msg.message ? String(msg.message) : '';
  switch (msg.code) {
    case 'capacity':
      return {
        title: retry
          ? `All sandboxes are busy, try again in ${duration(retry)}`
          : 'All sandboxes are busy, try again shortly',
        detail: 'Too many sessions are running right now.',
        tone: 'warn',
      };
    case 'unavailable':
      return {
        title: 'The sandbox service is unavailable',
        detail: withRetry(serverSays || 'The server cannot start sandboxes at the moment.', retry),
        tone: 'error',
      };
    case 'protocol':
      return {
        title: 'The page and the server did not understand each other',
        detail: withRetry(
          serverSays || 'Reloading the page usually fixes this.',
          retry,
        ),
        tone: 'error',
      };
    case 'resume_failed':
      return {
        title: 'The session could not be resumed',
        detail: 'It ended while you were away. Start a new session to continue.',
        tone: 'warn',
      };
    case 'not_found':
      return {
        title: 'This session or exercise is not available',
        detail: serverSays || 'The link is wrong, the shared session has ended, or the server has no such exercise.',
        tone: 'info',
      };
    case 'forbidden':
      return {
        title: 'This page may not open a console',
        detail: 'Its access token is missing or no longer valid.',
        tone: 'error',
      };
    case 'rate_limited':
      return {
        title: 'Too many sessions from your address',
        detail: withRetry('Wait a moment before starting another.', retry),
        tone: 'warn',
      };
    case 'internal':
      return {
        title: 'Something went wrong on the server',
        detail: withRetry(serverSays || 'Starting a new session usually helps.', retry),
        tone: 'error',
      };
    default:
      return {
        title: 'The server reported an error',
        detail: withRetry(serverSays, retry),
        tone: 'error',
      };
  }
}

function withRetry(text, retry) {
  if (!retry) return text;
  const hint = `Try again in ${duration(retry)}.`;
  return text ? `${text.replace(/\.?$/, '.')} ${hint}` : hint;
}

/**
 * Wording for a socket that closed without an exit or error event.
 * @param {{code: number, reason: string, opened: boolean}} info
 * @param {object|null} limits
 */
export function describeClose(info, limits, lang = 'en') {
  const known = CLOSE_CODES[info.code];
  if (known && known.exit) return describeExit({ reason: known.exit, code: null }, limits, lang);
  if (known && known.error) {
    return describeError({ code: known.error, message: known.message || info.reason }, lang);
  }
  if (lang === 'ko') {
    return info.opened
      ? { title: '연결이 끊어졌습니다', detail: '서버와의 연결이 끊겨 세션이 끝났습니다. 새 세션을 시작하세요.', tone: 'error' }
      : { title: '서버에 연결할 수 없습니다', detail: '연결을 열 수 없습니다. 네트워크를 확인하고 새 세션을 시작하세요.', tone: 'error' };
  }
  if (!info.opened) {
    return {
      title: 'Could not reach the server',
      detail: 'The connection could not be opened. Check your network and start a new session.',
      tone: 'error',
    };
  }
  return {
    title: 'Connection lost',
    detail: 'The connection to the server was interrupted, which ends the session. Start a new session to continue.',
    tone: 'error',
  };
}

/** Short form of a warning for the header, e.g. "Idle: ends in 30 s". */
export function describeWarning(msg, lang = 'en') {
  if (lang === 'ko') return koWarning(msg);
  const left = duration(msg.seconds_left);
  if (msg.reason === 'idle_timeout') {
    return {
      header: `Idle – ends in ${left}. Type to stay.`,
      line: `session ends in ${left} unless you type something (idle)`,
    };
  }
  if (msg.reason === 'max_lifetime') {
    return {
      header: `Time limit – ends in ${left}`,
      line: `session ends in ${left} (time limit reached)`,
    };
  }
  return {
    header: `Session ends in ${left}`,
    line: `session ends in ${left}`,
  };
}

// ---- 한국어 (Korean) ----------------------------------------------------------
// The same events worded for Korean readers: the server sends codes, the
// client words them (docs/protocol.md).

/** "90초", "5분", "1시간 30분". */
function koDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 120) return `${s}초`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}분`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}시간 ${m % 60}분` : `${h}시간`;
}

function koQueued(msg) {
  const n = Math.max(0, Math.floor(Number(msg.position) || 0));
  let text = n === 0 ? '시작하는 중… 다음 차례입니다' : `시작하는 중… 앞에 ${n}명`;
  if (Number(msg.eta) > 0) text += ` (약 ${koDuration(msg.eta)})`;
  return text;
}

const KO_EXIT = {
  exited: { title: 'iex가 종료되었습니다', detail: 'iex 프로세스가 끝났습니다. 계속하려면 새 세션을 시작하세요.' },
  idle_timeout: { title: '오랫동안 입력이 없어 세션이 끝났습니다', detail: '샌드박스가 종료되어 상태가 사라졌습니다. 계속하려면 새 세션을 시작하세요.' },
  max_lifetime: { title: '세션 시간 제한에 도달했습니다', detail: '세션마다 최대 실행 시간이 있습니다. 계속하려면 새 세션을 시작하세요.' },
  oom: { title: '샌드박스의 메모리가 부족합니다', detail: 'iex가 허용된 메모리보다 많이 사용하여 중지되었습니다.' },
  shutdown: { title: '서버가 다시 시작하는 중입니다', detail: '점검을 위해 세션이 닫혔습니다. 잠시 후 새 세션을 시작하세요.' },
  closed: { title: '발표자가 세션을 끝냈습니다', detail: '보고 있던 실시간 세션이 끝났습니다.' },
  unshared: { title: '발표자가 공유를 멈췄습니다', detail: '이 보기 링크는 더 이상 작동하지 않습니다. 새 링크를 요청하세요.' },
  class_ended: { title: '수업이 끝났습니다', detail: '선생님이 수업을 끝냈거나 여러분을 수업에서 뺐습니다. 지금까지의 결과는 선생님에게 있습니다.' },
  error: { title: '내부 오류로 세션이 멈췄습니다', detail: '서버에 문제가 생겼습니다. 새 세션을 시작하면 대개 해결됩니다.' },
};

const KO_ERROR = {
  capacity: { title: '모든 샌드박스가 사용 중입니다', detail: '지금 실행 중인 세션이 너무 많습니다.', tone: 'warn' },
  unavailable: { title: '샌드박스 서비스를 사용할 수 없습니다', detail: '지금은 서버가 샌드박스를 시작할 수 없습니다.', tone: 'error' },
  protocol: { title: '페이지와 서버가 서로 이해하지 못했습니다', detail: '페이지를 새로 고치면 대개 해결됩니다.', tone: 'error' },
  resume_failed: { title: '세션을 이어 갈 수 없습니다', detail: '자리를 비운 사이 세션이 끝났습니다. 계속하려면 새 세션을 시작하세요.', tone: 'warn' },
  not_found: { title: '이 세션이나 연습 문제를 찾을 수 없습니다', detail: '링크가 잘못되었거나, 공유 세션이 끝났거나, 서버에 그런 연습 문제가 없습니다.', tone: 'info' },
  internal: { title: '서버에 문제가 생겼습니다', detail: '새 세션을 시작하면 대개 해결됩니다.', tone: 'error' },
  forbidden: { title: '이 페이지는 콘솔을 열 수 없습니다', detail: '접근 토큰이 없거나 유효하지 않습니다.', tone: 'error' },
  rate_limited: { title: '이 주소에서 세션을 너무 많이 열었습니다', detail: '잠시 기다린 뒤 다시 시도하세요.', tone: 'warn' },
};

function koError(msg) {
  const retry = Number(msg.retry_after) > 0 ? Number(msg.retry_after) : 0;
  const d = KO_ERROR[msg.code] || { title: '서버가 오류를 알렸습니다', detail: '', tone: 'error' };
  if (!retry) return { ...d };
  return { ...d, detail: `${d.detail} ${koDuration(retry)} 후에 다시 시도하세요.`.trim() };
}

function koWarning(msg) {
  const left = koDuration(msg.seconds_left);
  if (msg.reason === 'idle_timeout') {
    return {
      header: `입력 없음 – ${left} 후 종료. 계속하려면 입력하세요.`,
      line: `아무것도 입력하지 않으면 ${left} 후에 세션이 끝납니다 (입력 없음)`,
    };
  }
  if (msg.reason === 'max_lifetime') {
    return {
      header: `시간 제한 – ${left} 후 종료`,
      line: `${left} 후에 세션이 끝납니다 (시간 제한)`,
    };
  }
  return { header: `${left} 후 세션 종료`, line: `${left} 후에 세션이 끝납니다` };
}
