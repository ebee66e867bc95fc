// the model cache (www/loader.js): a model is downloaded once per browser, not once per page.
// a reload, the iframe page and the Prompt panel's whole model read it from Cache Storage;
// a stored file that no longer matches its sha256 is downloaded again; the page's button
// empties the cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { serve, launch, watchErrors } from './harness.mjs';

const { models: [ENTRY] } = JSON.parse(readFileSync('www/models/models.json', 'utf8'));
let srv, browser;

before(async () => {
  srv = await serve('www');
  browser = await launch({ modelCache: true });
});

after(async () => {
  await browser?.close();
  srv?.stop();
});

/** a page that records the .gguf files it requests. */
async function open() {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  const downloads = [];
  page.on('request', (r) => { if (r.url().endsWith('.gguf')) downloads.push(r.url().split('/').pop()); });
  return { page, errors, downloads };
}

const TABLE = '.topk-table tbody tr:nth-child(10)';
const cached = (page) => page.evaluate(async () => (await import('./loader.js')).cachedModels());

test('a reload, the iframe page and a second visit read the model from the cache', async () => {
  const { page, errors, downloads } = await open();
  await page.goto(`${srv.url}index.html`);
  await page.waitForSelector(TABLE, { timeout: 60000 });
  assert.deepEqual(downloads, [ENTRY.file]);
  await page.waitForSelector('#clear-cache:not([hidden])');
  assert.match(await page.textContent('#clear-cache'), new RegExp(`\\(${(ENTRY.bytes / 1e6).toFixed(0)} MB\\)`));
  assert.deepEqual((await cached(page)).map((r) => [r.file, r.sha256, r.bytes]), [[ENTRY.file, ENTRY.sha256, ENTRY.bytes]]);
  await page.reload();
  await page.waitForSelector(TABLE, { timeout: 60000 });
  assert.deepEqual(downloads, [ENTRY.file], 'no second request after a reload');
  errors.check();
  await page.close();

  const second = await open();
  await second.page.goto(`${srv.url}embed.html#m=${ENTRY.file}&views=topk,table`);
  await second.page.waitForSelector(TABLE, { timeout: 60000 });
  assert.deepEqual(second.downloads, [], 'the iframe page (and the element: same loader) reads the cache');
  second.errors.check();
  await second.page.close();
});

test('the whole model for the logit lens is kept too', async () => {
  const lensDone = (page) => page.waitForFunction(() => { const l = window.unembedLens; return l && !l.state.busy && l.state.rows > 1; }, null, { timeout: 180000 });
  const url = `${srv.url}embed.html#views=lens,topk,table&prompt=${encodeURIComponent('The capital of France is')}`;
  const { page, errors, downloads } = await open();
  await page.goto(url);
  await lensDone(page);
  assert.deepEqual(downloads, [ENTRY.full.file]);
  await page.reload();
  await lensDone(page);
  assert.deepEqual(downloads, [ENTRY.full.file], 'no second request for the whole model');
  const rows = await cached(page);
  assert.ok(rows.some((r) => r.sha256 === ENTRY.full.sha256 && r.bytes === ENTRY.full.bytes), JSON.stringify(rows));
  assert.ok(rows.reduce((n, r) => n + r.bytes, 0) <= 256 * 1024 * 1024, 'within the limit');
  errors.check();
  await page.close();
});

test('a stored model that fails its sha256 is downloaded again; the button clears the cache', async () => {
  const { page, errors, downloads } = await open();
  await page.goto(`${srv.url}index.html`);
  await page.waitForSelector(TABLE, { timeout: 60000 });
  assert.deepEqual(downloads, []);
  // the same length, one byte changed: only the digest can tell.
  await page.evaluate(async ({ sha, file }) => {
    const cache = await caches.open('unembed-models-v1');
    const key = (await cache.keys()).find((k) => k.url.endsWith(sha));
    const buf = new Uint8Array(await (await cache.match(key)).arrayBuffer());
    buf[buf.length - 1] ^= 1;
    await cache.put(key, new Response(buf, { headers: { 'content-length': String(buf.length), 'x-unembed-file': file, 'x-unembed-stored': '1' } }));
  }, { sha: ENTRY.sha256, file: ENTRY.file });
  await page.reload();
  await page.waitForSelector(TABLE, { timeout: 60000 });
  assert.deepEqual(downloads, [ENTRY.file], 'the altered copy was not used');
  await page.waitForSelector('#clear-cache:not([hidden])');
  await page.click('#clear-cache');
  await page.waitForSelector('#clear-cache[hidden]', { state: 'attached' });
  assert.deepEqual(await cached(page), []);
  await page.reload();
  await page.waitForSelector(TABLE, { timeout: 60000 });
  assert.deepEqual(downloads, [ENTRY.file, ENTRY.file], 'downloaded again after clearing');
  errors.check();
  await page.close();
});
