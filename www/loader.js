// fetching served models: the manifest, and a streamed download with progress whose length and
// sha256 are checked against it. shared by the page (app.js) and the custom element.

async function sha256Hex(buf) {
  const d = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** the models listed in `<base>models/models.json`. */
export async function readManifest(base) {
  const url = new URL('models/models.json', base);
  const res = await fetch(url, { cache: 'no-cache' });
  if (!res.ok) throw new Error(`could not read ${url.pathname}: HTTP ${res.status}`);
  const { models } = await res.json();
  if (!models?.length) throw new Error(`${url.pathname} lists no models`);
  return models;
}

/** downloads `entry` (a manifest row) from `<base>models/`; onProgress(got, total). */
export async function downloadModel(base, entry, onProgress = () => {}) {
  const res = await fetch(new URL(`models/${entry.file}`, base));
  if (!res.ok) throw new Error(`could not download ${entry.file}: HTTP ${res.status}`);
  const total = entry.bytes;
  const buf = new Uint8Array(total);
  let got = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > total) throw new Error(`${entry.file} is longer than the manifest says (${total} bytes)`);
    buf.set(value, got);
    got += value.length;
    onProgress(got, total);
  }
  if (got !== total) throw new Error(`${entry.file} ended after ${got} of ${total} bytes`);
  const sha = await sha256Hex(buf);
  if (sha !== entry.sha256) throw new Error(`${entry.file}: sha256 is ${sha}, the manifest says ${entry.sha256}`);
  return buf;
}
