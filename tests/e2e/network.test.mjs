// the page against a server on 127.0.0.1 that misbehaves on purpose: 404, a connection closed
// mid-file, a body longer or shorter than the manifest says (declared or not), a sha256
// mismatch, a server that goes quiet. each ends in a clear message and a Retry that works once
// the server is fixed, and the page never shows a half-loaded model: before a first model there
// is no explorer, and when switching, the model on screen stays and keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { launch } from './harness.mjs';

const MODEL = readFileSync('www/models/smollm2-135m.gguf');
const SHOTS = 'target/screenshots';
mkdirSync(SHOTS, { recursive: true });
const SHA = createHash('sha256').update(MODEL).digest('hex');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };

// what /models/flaky.gguf does; /models/good.gguf is always served well.
let mode = 'ok';
const requests = [];
let server, base, browser;

function sendModel(req, res) {
  const m = mode;
  requests.push(m);
  const full = MODEL;
  switch (m) {
    case '404':
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      return;
    case 'close-mid': // declares the full length, sends half, drops the connection
      res.writeHead(200, { 'content-length': full.length });
      res.write(full.subarray(0, full.length >> 1), () => res.socket.destroy());
      return;
    case 'longer': // no declared length, more bytes than the manifest
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.write(full);
      res.end(Buffer.alloc(4096, 7));
      return;
    case 'longer-declared':
      res.writeHead(200, { 'content-length': full.length + 4096 });
      res.write(full);
      res.end(Buffer.alloc(4096, 7));
      return;
    case 'shorter': // a clean end, too early
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.end(full.subarray(0, full.length - 4096));
      return;
    case 'sha': { // the right length, one byte changed
      const bad = Buffer.from(full);
      bad[bad.length - 100] ^= 0xff;
      res.writeHead(200, { 'content-length': bad.length });
      res.end(bad);
      return;
    }
    case 'slow': { // a quarter of the file in small pieces, then silence with the socket open
      res.writeHead(200, { 'content-length': full.length });
      let at = 0;
      const step = () => {
        if (at >= full.length >> 2 || res.destroyed) return;
        res.write(full.subarray(at, at + 65536));
        at += 65536;
        setTimeout(step, 5);
      };
      step();
      return;
    }
    default:
      res.writeHead(200, { 'content-length': full.length, 'content-type': 'application/octet-stream' });
      res.end(full);
  }
}

before(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path === '/models/models.json') {
      const entry = (file, name) => ({ name, file, bytes: MODEL.length, sha256: SHA });
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ models: [entry('flaky.gguf', 'flaky'), entry('good.gguf', 'good')] }));
      return;
    }
    if (path === '/models/flaky.gguf') return sendModel(req, res);
    if (path === '/models/good.gguf') {
      res.writeHead(200, { 'content-length': MODEL.length });
      res.end(MODEL);
      return;
    }
    const file = normalize(join('www', path === '/' ? 'index.html' : path));
    if (!file.startsWith('www') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  // keep-alive sockets would hold a 'slow' response open past the test.
  server.keepAliveTimeout = 1;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  server?.close();
});

/** page errors and console errors other than the failed loads this test causes on purpose. */
function watch(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|net::ERR_/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return errors;
}

const CASES = [
  ['404', /could not download flaky\.gguf: HTTP 404/],
  ['close-mid', /flaky\.gguf: the connection failed after \d+ of 32371648 bytes/],
  ['longer', /flaky\.gguf is longer than the manifest says \(32371648 bytes\)/],
  ['longer-declared', /flaky\.gguf: the server says 32375744 bytes, the manifest says 32371648/],
  ['shorter', /flaky\.gguf ended after 32367552 of 32371648 bytes/],
  ['sha', /flaky\.gguf: sha256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}/],
  ['slow', /flaky\.gguf: no data for 2 s after 8126464 of 32371648 bytes; the server may be down/],
];

for (const [m, message] of CASES) {
  test(`first load, server ${m}: a clear error, no explorer, and a working Retry`, async () => {
    mode = m;
    const page = await browser.context.newPage();
    const errors = watch(page);
    const progress = [];
    if (m === 'slow') {
      await page.exposeFunction('__progress', (t) => progress.push(t));
      await page.addInitScript(() => {
        document.addEventListener('DOMContentLoaded', () => new MutationObserver(() => window.__progress(document.querySelector('#status').textContent))
          .observe(document.querySelector('#status'), { childList: true, characterData: true, subtree: true }));
      });
    }
    await page.goto(`${base}?stall=2`);
    await page.waitForSelector('#retry:not([hidden])', { timeout: 60000 });
    assert.match(await page.textContent('#error'), message);
    assert.equal(await page.textContent('#status'), 'failed');
    // no half-loaded model: nothing mounted, no table.
    assert.equal(await page.evaluate(() => window.unembedPage.mounted), null);
    assert.equal(await page.$('.topk-table'), null);
    if (m === 'slow') assert.ok(progress.some((t) => /MB \(\d+%\)/.test(t)), `progress was shown: ${progress.slice(-3)}`);
    await page.screenshot({ path: `${SHOTS}/network-${m}.png` });
    mode = 'ok';
    await page.click('#retry');
    await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
    assert.equal(await page.isHidden('#error'), true);
    assert.equal(await page.isHidden('#retry'), true);
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('switching to a model whose download fails keeps the model on screen working', async () => {
  mode = 'ok';
  const page = await browser.context.newPage();
  const errors = watch(page);
  await page.goto(`${base}?stall=2#m=good.gguf`);
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  assert.equal(await page.inputValue('#model-select'), 'good.gguf');
  for (const [m, message] of [['close-mid', /connection failed/], ['sha', /sha256 is/], ['404', /HTTP 404/]]) {
    mode = m;
    await page.selectOption('#model-select', 'flaky.gguf');
    await page.waitForSelector('#retry:not([hidden])', { timeout: 60000 });
    assert.match(await page.textContent('#error'), message);
    assert.match(await page.textContent('#status'), /the model on screen is unchanged/);
    if (m === 'close-mid') await page.screenshot({ path: `${SHOTS}/network-switch-failed.png` });
    // the picker shows the model that is on screen, and that model still answers.
    assert.equal(await page.inputValue('#model-select'), 'good.gguf');
    const before = await page.textContent('.topk-table tbody');
    await page.fill('input[aria-label^="hidden state"]', m === 'sha' ? ' queen' : ' king');
    await page.press('input[aria-label^="hidden state"]', 'Enter');
    await page.waitForFunction((b) => document.querySelector('.topk-table tbody').textContent !== b, before);
  }
  // Retry after the server is fixed loads the model that failed.
  mode = 'ok';
  await page.click('#retry');
  await page.waitForFunction(() => document.querySelector('#model-select').value === 'flaky.gguf' && document.querySelector('#error').hidden, null, { timeout: 60000 });
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a newer choice cancels a download in flight', async () => {
  mode = 'ok';
  const page = await browser.context.newPage();
  const errors = watch(page);
  await page.goto(`${base}?stall=30#m=good.gguf`);
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  // flaky goes quiet after a quarter; choosing good meanwhile must win, with no error shown.
  mode = 'slow';
  await page.selectOption('#model-select', 'flaky.gguf');
  await page.waitForFunction(() => /MB \(\d+%\)/.test(document.querySelector('#status').textContent));
  await page.selectOption('#model-select', 'good.gguf');
  await page.waitForFunction(() => /tokens × d = 576/.test(document.querySelector('#status').textContent), null, { timeout: 60000 });
  assert.equal(await page.isHidden('#error'), true);
  assert.equal(await page.inputValue('#model-select'), 'good.gguf');
  assert.deepEqual(errors, []);
  await page.close();
});
