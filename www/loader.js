// fetching served models: the manifest, and a streamed download with progress whose length and
// sha256 are checked against it. shared by the page (app.js) and the custom element.
// failures are LoadErrors with a code and arguments, so each caller words them in its language
// (i18n.js: T.loadError(e)); their message is the English wording.
import { strings } from './i18n.js';

export class LoadError extends Error {
  constructor(code, ...args) {
    super(strings('en').loadError({ code, args }));
    this.code = code;
    this.args = args;
  }
}

async function sha256Hex(buf) {
  const d = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** the models listed in `<base>models/models.json`. */
export async function readManifest(base) {
  const url = new URL('models/models.json', base);
  const res = await fetch(url, { cache: 'no-cache' });
  if (!res.ok) throw new LoadError('manifest', url.pathname, res.status);
  let models;
  try {
    ({ models } = await res.json());
  } catch {
    throw new LoadError('manifestJson', url.pathname);
  }
  if (!models?.length) throw new LoadError('noModels', url.pathname);
  return models;
}

/** how long a download may go without a byte before it is given up (ms). */
export const STALL_MS = 30000;

/** downloads `entry` (a manifest row) from `<base>models/`; onProgress(got, total).
 * `signal` aborts it (a newer choice of model); a server that sends nothing for `stallMs`
 * ends it with a 'stalled' error. the buffer is returned only when its length and sha256 match
 * the manifest, so a caller never sees half a model. */
export async function downloadModel(base, entry, onProgress = () => {}, { signal, stallMs = STALL_MS } = {}) {
  const ctl = new AbortController();
  const abort = () => ctl.abort();
  signal?.addEventListener('abort', abort);
  let stalled = false;
  let timer = null;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { stalled = true; ctl.abort(); }, stallMs);
  };
  const total = entry.bytes;
  let got = 0;
  try {
    arm();
    let res;
    try {
      res = await fetch(new URL(`models/${entry.file}`, base), { signal: ctl.signal });
    } catch (e) {
      throw failure(e, 0);
    }
    if (!res.ok) throw new LoadError('http', entry.file, res.status);
    // a length the server declares up front is checked before a byte is kept.
    const declared = res.headers.get('content-encoding') ? null : res.headers.get('content-length');
    if (declared !== null && Number(declared) !== total) throw new LoadError('length', entry.file, Number(declared), total);
    const buf = new Uint8Array(total);
    const reader = res.body.getReader();
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw failure(e, got);
      }
      const { done, value } = chunk;
      if (done) break;
      arm();
      if (got + value.length > total) {
        ctl.abort();
        throw new LoadError('longer', entry.file, total);
      }
      buf.set(value, got);
      got += value.length;
      onProgress(got, total);
    }
    if (got !== total) throw new LoadError('shorter', entry.file, got, total);
    const sha = await sha256Hex(buf);
    if (sha !== entry.sha256) throw new LoadError('sha', entry.file, sha, entry.sha256);
    return buf;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', abort);
  }

  /** what a failed fetch or read means: our abort, a stall, or the network. */
  function failure(e, at) {
    if (signal?.aborted) return new LoadError('aborted', entry.file);
    if (stalled) return new LoadError('stalled', entry.file, Math.round(stallMs / 1000), at, total);
    return new LoadError('network', entry.file, at, total, e.message);
  }
}
