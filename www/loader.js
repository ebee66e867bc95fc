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

/** downloads `entry` (a manifest row) from `<base>models/`; onProgress(got, total). */
export async function downloadModel(base, entry, onProgress = () => {}) {
  const res = await fetch(new URL(`models/${entry.file}`, base));
  if (!res.ok) throw new LoadError('http', entry.file, res.status);
  const total = entry.bytes;
  const buf = new Uint8Array(total);
  let got = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > total) throw new LoadError('longer', entry.file, total);
    buf.set(value, got);
    got += value.length;
    onProgress(got, total);
  }
  if (got !== total) throw new LoadError('shorter', entry.file, got, total);
  const sha = await sha256Hex(buf);
  if (sha !== entry.sha256) throw new LoadError('sha', entry.file, sha, entry.sha256);
  return buf;
}
