// The words of the widget, in every language it speaks. A console speaks
// the language of its lang attribute, else the page's (<html lang>), else
// the browser's; English fills any gap.

const CATALOGUE = {
  en: {
    notStarted: 'Not started',
    starting: 'Starting…',
    reconnecting: 'Reconnecting…',
    preparing: 'Preparing…',
    running: 'Running',
    loadingTerminal: 'Loading the terminal…',
    run: 'Run',
    runTitle: 'Run the code (Ctrl+Enter)',
    runLabel: 'Run the code in iex',
    check: 'Check',
    checkTitle: "Check the code against the exercise's tests (Alt+Enter)",
    checkLabel: 'Check the code against the exercise',
    restart: 'Start over in a fresh session',
    textSize: 'Text size',
    smallerLabel: 'A− smaller text',
    smallerTitle: 'Smaller text',
    largerLabel: 'A+ larger text',
    largerTitle: 'Larger text',
    codeLabel: 'Elixir code for this exercise (Ctrl+Enter runs it)',
    termLabel: 'iex session: output, and input once started',
    termHelp: 'Tab completes. F6, or Escape twice, leaves the terminal.',
    inputLabel: 'iex input',
    hint: 'Press <strong>Run</strong>, or click here and type, to start a fresh Elixir session.',
    unknownExercise: 'Unknown exercise',
    noExercise: (name) => `The server has no exercise called ${name}.`,
    checking: 'Checking…',
    solved: (n) => `Solved: all ${n} tests pass.`,
    someFail: (passed, n) => `${passed} of ${n} tests pass.`,
    notChecked: 'The code could not be checked.',
    passed: 'passed',
    failed: 'failed',
    pressRun: 'Press Run to start again.',
    noTerminal: 'The terminal could not be loaded',
    keys: 'Terminal keys',
    paste: 'Paste',
    pasteLabel: 'Paste from the clipboard',
    loadingRecording: 'Loading the recording…',
    recording: 'Recording',
    recorded: 'This session is recorded.',
    recordingStopped: 'Recording stopped: the recording reached its size limit. The session goes on.',
    replayLink: 'Replay',
    replay: 'Replay',
    replayLabel: 'Play the recording from the start',
    noRecording: (why) => `The recording could not be loaded (${why})`,
    joinTitle: (code) => `Join class ${code}`,
    nameLabel: 'Your name',
    nameHelp: (n) => `Your teacher sees your work under this name (at most ${n} characters).`,
    join: 'Join',
    nameNeeded: 'Type your name first.',
    nameTooLong: (n) => `A name has at most ${n} characters.`,
    nameRefused: 'That name cannot be used',
    inClass: (code, name) => `Class ${code} · ${name}`,
    fromTeacher: 'Message from your teacher',
    dismiss: 'Dismiss',
    dismissLabel: 'Dismiss the message from your teacher',
    watched: 'Your teacher is watching',
    teacherConsoleShown: 'Your teacher is showing their console',
    teacherConsoleStopped: 'Your teacher stopped showing their console',
    teacherConsoleOpen: "Open teacher's console",
    teacherConsoleClose: "Close teacher's console",
    teacherConsoleFrame: "Teacher's console, read-only",
    noClass: 'This class is not open',
    askingName: 'Type your name to join the class',
  },
  ko: {
    notStarted: '시작 전',
    starting: '시작하는 중…',
    reconnecting: '다시 연결하는 중…',
    preparing: '준비하는 중…',
    running: '실행 중',
    loadingTerminal: '터미널을 불러오는 중…',
    run: '실행',
    runTitle: '코드 실행 (Ctrl+Enter)',
    runLabel: 'iex에서 코드 실행',
    check: '채점',
    checkTitle: '연습 문제의 테스트로 코드 채점 (Alt+Enter)',
    checkLabel: '연습 문제로 코드 채점',
    restart: '새 세션으로 다시 시작',
    textSize: '글자 크기',
    smallerLabel: 'A− 글자 작게',
    smallerTitle: '글자 작게',
    largerLabel: 'A+ 글자 크게',
    largerTitle: '글자 크게',
    codeLabel: '이 연습 문제의 Elixir 코드 (Ctrl+Enter로 실행)',
    termLabel: 'iex 세션: 출력, 시작 후에는 입력',
    termHelp: 'Tab은 자동 완성입니다. F6 또는 Escape 두 번으로 터미널을 나갑니다.',
    inputLabel: 'iex 입력',
    hint: '<strong>실행</strong>을 누르거나 여기를 눌러 입력하면 새 Elixir 세션이 시작됩니다.',
    unknownExercise: '알 수 없는 연습 문제',
    noExercise: (name) => `서버에 ${name} 연습 문제가 없습니다.`,
    checking: '채점하는 중…',
    solved: (n) => `통과: 테스트 ${n}개 모두 성공.`,
    someFail: (passed, n) => `테스트 ${n}개 중 ${passed}개 성공.`,
    notChecked: '코드를 채점할 수 없습니다.',
    passed: '성공',
    failed: '실패',
    pressRun: '다시 시작하려면 실행을 누르세요.',
    noTerminal: '터미널을 불러올 수 없습니다',
    keys: '터미널 키',
    paste: '붙여넣기',
    pasteLabel: '클립보드에서 붙여넣기',
    loadingRecording: '녹화를 불러오는 중…',
    recording: '녹화',
    recorded: '이 세션은 녹화되고 있습니다.',
    recordingStopped: '녹화가 크기 한도에 이르러 멈췄습니다. 세션은 계속됩니다.',
    replayLink: '다시 보기',
    replay: '다시 보기',
    replayLabel: '녹화를 처음부터 재생',
    noRecording: (why) => `녹화를 불러올 수 없습니다 (${why})`,
    joinTitle: (code) => `${code} 수업에 참여`,
    nameLabel: '이름',
    nameHelp: (n) => `선생님은 이 이름으로 여러분의 결과를 봅니다 (최대 ${n}자).`,
    join: '참여',
    nameNeeded: '먼저 이름을 입력하세요.',
    nameTooLong: (n) => `이름은 최대 ${n}자입니다.`,
    nameRefused: '이 이름은 쓸 수 없습니다',
    inClass: (code, name) => `${code} 수업 · ${name}`,
    fromTeacher: '선생님의 메시지',
    dismiss: '닫기',
    dismissLabel: '선생님의 메시지 닫기',
    watched: '선생님이 보고 있습니다',
    teacherConsoleShown: '선생님이 콘솔을 보여 주고 있습니다',
    teacherConsoleStopped: '선생님이 콘솔 보여 주기를 멈췄습니다',
    teacherConsoleOpen: '선생님 콘솔 열기',
    teacherConsoleClose: '선생님 콘솔 닫기',
    teacherConsoleFrame: '선생님 콘솔 (읽기 전용)',
    noClass: '이 수업은 열려 있지 않습니다',
    askingName: '수업에 참여하려면 이름을 입력하세요',
  },
};

/** The languages the catalogue speaks completely. */
export const LANGUAGES = Object.keys(CATALOGUE);

/** pickLanguage returns the first supported language among the tags, by
 *  primary subtag ("ko-KR" speaks ko); English when none is. */
export function pickLanguage(...tags) {
  for (const tag of tags) {
    if (!tag) continue;
    const primary = String(tag).toLowerCase().split(/[-_]/)[0];
    if (CATALOGUE[primary]) return primary;
  }
  return 'en';
}

/** words returns a function from a message key (and its arguments) to text. */
export function words(lang) {
  return wordsOf(CATALOGUE, lang);
}

/** wordsOf is words for another catalogue of the same shape ({en, ko}):
 *  the full page's and the teacher's page's own. */
export function wordsOf(catalogue, lang) {
  const cat = catalogue[lang] || catalogue.en;
  return (key, ...args) => {
    const w = key in cat ? cat[key] : catalogue.en[key];
    return typeof w === 'function' ? w(...args) : w;
  };
}

/** pageLanguage is a whole page's language: its ?lang=, else the
 *  browser's languages; English when none is spoken. */
export function pageLanguage() {
  return pickLanguage(new URLSearchParams(window.location.search).get('lang'),
    ...(navigator.languages || [navigator.language]));
}

/** localize words a page's static markup: an element's data-i18n names
 *  the key of its text, data-i18n-label of its aria-label, data-i18n-title
 *  of its title. <html lang> says the language. */
export function localize(lang, t) {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll('[data-i18n-label]')) e.setAttribute('aria-label', t(e.dataset.i18nLabel));
  for (const e of document.querySelectorAll('[data-i18n-title]')) e.title = t(e.dataset.i18nTitle);
}
