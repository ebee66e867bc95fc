// fetching served models: the manifest, and a streamed download with progress whose length and
// sha256 are checked against it. shared by the page (app.js), the custom element, the iframe
// page and the Prompt panel's whole-model download (lens.js). a checked download is kept in the
// browser's Cache Storage under its sha256 (the model cache below), so a second page, a reload
// or tomorrow's visit reads it from there instead of the network.
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

// the model cache: one Cache Storage cache of the origin, one entry per sha256, read back only
// when its length and sha256 still match the manifest. at most cacheLimit() bytes: the oldest
// entries are dropped to make room, a file larger than the limit is not kept. where the
// browser offers no Cache Storage (an insecure http origin) or refuses to store, models are
// downloaded every time, as before.
const CACHE_NAME = 'unembed-models-v1';
/** the default limit, MB (both files of the default model: 32 MB + 98 MB). */
export const CACHE_LIMIT_MB = 256;
/** the origin's setting: localStorage `unembed-model-cache-mb` (0 turns the cache off). */
export const CACHE_SETTING = 'unembed-model-cache-mb';

/** bytes the model cache keeps at most. */
export function cacheLimit() {
  let mb = CACHE_LIMIT_MB;
  try {
    const v = globalThis.localStorage?.getItem(CACHE_SETTING);
    if (v !== null && v !== undefined && v !== '' && Number.isFinite(Number(v)) && Number(v) >= 0) mb = Number(v);
  } catch {
    // storage blocked: the default
  }
  return mb * 1024 * 1024;
}
const cacheKey = (sha256) => new URL(`/.unembed-model-cache/sha256-${sha256}`, globalThis.location?.href ?? 'http://localhost/').href;

async function openCache() {
  if (cacheLimit() === 0) return null;
  try {
    return globalThis.caches ? await caches.open(CACHE_NAME) : null;
  } catch {
    return null; // e.g. storage disabled for this origin
  }
}

/** the entries of the model cache: [{ file, sha256, bytes, stored }], oldest first. */
export async function cachedModels() {
  const cache = await openCache();
  if (!cache) return [];
  const rows = [];
  for (const req of await cache.keys()) {
    const res = await cache.match(req);
    if (!res) continue;
    rows.push({
      file: res.headers.get('x-unembed-file') ?? '',
      sha256: req.url.split('sha256-').pop(),
      bytes: Number(res.headers.get('content-length') ?? 0),
      stored: Number(res.headers.get('x-unembed-stored') ?? 0),
    });
  }
  return rows.sort((a, b) => a.stored - b.stored);
}

/** empties the model cache (also when it is turned off); resolves to the bytes freed. */
export async function clearModelCache() {
  let freed = 0;
  try {
    if (!globalThis.caches || !(await caches.has(CACHE_NAME))) return 0;
    const cache = await caches.open(CACHE_NAME);
    for (const req of await cache.keys()) freed += Number((await cache.match(req))?.headers.get('content-length') ?? 0);
    await caches.delete(CACHE_NAME);
  } catch {
    // nothing to clear
  }
  return freed;
}

/** the model whose sha256 is `entry.sha256`, from the cache, or null. a stored file whose
 * length or digest no longer match is dropped. */
async function fromCache(entry) {
  const cache = await openCache();
  if (!cache) return null;
  try {
    const res = await cache.match(cacheKey(entry.sha256));
    if (!res) return null;
    const buf = new Uint8Array(await res.arrayBuffer());
    if (buf.length === entry.bytes && (await sha256Hex(buf)) === entry.sha256) return buf;
    await cache.delete(cacheKey(entry.sha256));
  } catch {
    // unreadable entry: download again
  }
  return null;
}

/** keeps a checked download, dropping the oldest entries beyond the limit. */
async function toCache(entry, buf) {
  const limit = cacheLimit();
  if (buf.length > limit) return;
  const cache = await openCache();
  if (!cache) return;
  try {
    let used = 0;
    const rows = await cachedModels();
    for (const r of rows) used += r.bytes;
    for (const r of rows) {
      if (used + buf.length <= limit) break;
      await cache.delete(cacheKey(r.sha256));
      used -= r.bytes;
    }
    await cache.put(cacheKey(entry.sha256), new Response(buf, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(buf.length),
        'x-unembed-file': entry.file,
        'x-unembed-stored': String(Date.now()),
      },
    }));
  } catch {
    // quota exceeded or storage refused: the model still works, it is only not kept
  }
}

/** how long a download may go without a byte before it is given up (ms). */
export const STALL_MS = 30000;

/** `entry` (a manifest row): from the model cache when it holds that sha256, else downloaded
 * from `<base>models/` and kept there; onProgress(got, total). `signal` aborts it (a newer
 * choice of model); a server that sends nothing for `stallMs` ends it with a 'stalled' error.
 * the buffer is returned only when its length and sha256 match the manifest, so a caller
 * never sees half a model. `cache: false` neither reads nor writes the cache. */
export async function downloadModel(base, entry, onProgress = () => {}, { signal, stallMs = STALL_MS, cache = true } = {}) {
  if (cache && entry.sha256) {
    const kept = await fromCache(entry);
    if (kept) {
      onProgress(kept.length, kept.length);
      return kept;
    }
  }
  const buf = await fetchModel(base, entry, onProgress, { signal, stallMs });
  if (cache) await toCache(entry, buf);
  return buf;
}

async function fetchModel(base, entry, onProgress, { signal, stallMs }) {
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
