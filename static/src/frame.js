// The iframe form of the widget (/embed?exercise=...&code=...): one
// <iex-console> whose attributes come from the query, driven by the page
// that frames it over postMessage, for sites that cannot load scripts.
//
// Messages both ways are objects {"iexbox": 1, "type": ...}. The parent
// sends run {code?, id?}, check {id?}, restart, resetCode, focus,
// setCode {code}, token {token} (before the first Run: a token never goes
// in the URL), get {id?}; the frame answers run and check with result
// {id, output} or checked {id, result} (or failed {id, message}), get with
// state {id, state, code} (the element's properties), and forwards iex-ready,
// iex-result, iex-exit and iex-check as {type, detail}. Only origins in the
// server's -origins (and its own) are listened to and written to.

const ATTRIBUTES = ['exercise', 'code', 'setup', 'theme', 'rows', 'lang', 'label', 'instance'];

const el = document.getElementById('console');
const query = new URLSearchParams(window.location.search);
for (const name of ATTRIBUTES) {
  if (query.has(name)) el.setAttribute(name, query.get(name));
}
if (query.has('lang')) document.documentElement.lang = query.get('lang');
// embed.js defined the element, and the parser connected it, before this
// deferred script set its attributes; exercise, rows and the rest are read
// on connection: connect it again, before any session, so that it reads them.
{
  const place = el.parentNode;
  const next = el.nextSibling;
  el.remove();
  place.insertBefore(el, next);
}

/** Origins that may drive this frame and hear from it. */
const allowed = new Set([window.location.origin]);
const meta = document.querySelector('meta[name="iexbox-origins"]');
for (const o of (meta ? meta.content : '').split(/\s+/)) if (o) allowed.add(o);

/** Tell the framing page, on whichever allowed origin it is. */
function tell(msg) {
  if (window.parent === window) return;
  const data = { iexbox: 1, ...msg };
  for (const origin of allowed) window.parent.postMessage(data, origin);
}

for (const type of ['iex-ready', 'iex-result', 'iex-exit', 'iex-check']) {
  el.addEventListener(type, (e) => tell({ type, detail: e.detail }));
}

window.addEventListener('message', (e) => {
  if (!allowed.has(e.origin) || e.source !== window.parent) return;
  const m = e.data;
  if (!m || typeof m !== 'object' || m.iexbox !== 1) return;
  const id = m.id ?? null;
  const fail = (err) => tell({ type: 'failed', id, message: String(err && err.message ? err.message : err) });
  switch (m.type) {
    case 'run':
      el.run(typeof m.code === 'string' ? m.code : undefined).then((output) => tell({ type: 'result', id, output }), fail);
      break;
    case 'check':
      el.check().then((result) => tell({ type: 'checked', id, result }), fail);
      break;
    case 'restart':
      el.restart();
      break;
    case 'resetCode':
      el.resetCode();
      break;
    case 'focus':
      el.focus();
      break;
    case 'setCode':
      el.code = String(m.code ?? '');
      break;
    case 'token':
      el.setAttribute('token', String(m.token ?? ''));
      break;
    case 'get':
      tell({ type: 'state', id, state: el.state, code: el.code });
      break;
    default:
  }
});

tell({ type: 'iex-loaded', detail: { state: el.state } });
