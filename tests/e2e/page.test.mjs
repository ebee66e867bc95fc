// the page as the README serves it, in Debian's headless Chromium: it loads the real model,
// shows the same top-10 as `unembed query`, reacts to input, fails loudly on bad downloads,
// and never logs a console error. screenshots go to target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve, launch, watchErrors } from './harness.mjs';

const MODEL = 'www/models/smollm2-135m.gguf';
const SHOTS = 'target/screenshots';
let srv, browser;

function cli(...args) {
  return JSON.parse(execFileSync('target/release/unembed', ['query', MODEL, ...args, '--json'], { encoding: 'utf8' }));
}

async function tableIds(page, id) {
  return page.$$eval(`#${id} tr`, (rows) => rows.slice(1).map((r) => Number(r.cells[2].textContent)));
}

async function openPage() {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  await page.goto(srv.url);
  await page.waitForSelector('#by-logit tr:nth-child(11)', { timeout: 60000 });
  return { page, errors };
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  srv = await serve('www');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  srv?.stop();
});

test('first screen shows " Paris" with the same top-10 as the CLI', async () => {
  const { page, errors } = await openPage();
  assert.equal(await page.inputValue('#token'), ' Paris');
  const byLogit = cli('--token', ' Paris', '--top', '10');
  const byCos = cli('--token', ' Paris', '--top', '10', '--cosine');
  assert.deepEqual(await tableIds(page, 'by-logit'), byLogit.top.map((e) => e.id));
  assert.deepEqual(await tableIds(page, 'by-cosine'), byCos.top.map((e) => e.id));
  // the lesson's point, in one sentence: own token first by cosine, not by dot product.
  assert.equal(byCos.top[0].text, ' Paris');
  assert.notEqual(byLogit.top[0].text, ' Paris');
  assert.match(await page.textContent('#lesson'), /By angle alone, " Paris" comes first/);
  const logit0 = await page.$eval('#by-logit tr:nth-child(2)', (r) => r.cells[3].textContent);
  assert.equal(logit0, byLogit.top[0].logit.toFixed(3));
  await page.screenshot({ path: `${SHOTS}/first-screen.png`, fullPage: true });
  errors.check();
  await page.close();
});

test('expressions and temperature recompute the tables', async () => {
  const { page, errors } = await openPage();
  await page.fill('#token', 'king - man + woman');
  await page.press('#token', 'Enter');
  const want = cli('--expr', 'king - man + woman', '--cosine');
  await page.waitForFunction((id) => document.querySelector('#by-cosine tr:nth-child(2)')?.cells[2].textContent === String(id), want.top[0].id);
  assert.deepEqual(await tableIds(page, 'by-cosine'), want.top.map((e) => e.id));
  await page.fill('#temperature', '0.5');
  await page.press('#temperature', 'Enter');
  const hot = cli('--expr', 'king - man + woman', '--temperature', '0.5');
  await page.waitForFunction((p) => document.querySelector('#by-logit tr:nth-child(2)')?.cells[4].textContent === p, hot.top[0].prob.toExponential(2));
  await page.fill('#token', 'zzqxqz');
  await page.press('#token', 'Enter');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /no token reads "zzqxqz"/);
  await page.screenshot({ path: `${SHOTS}/expression-and-error.png`, fullPage: true });
  errors.check();
  await page.close();
});

test('a bad download ends in a clear error and a working Retry', async () => {
  // a copy of the site whose manifest has the wrong sha256.
  const dir = mkdtempSync(join(tmpdir(), 'unembed-site-'));
  for (const f of ['index.html', 'app.js', 'style.css', 'pkg']) symlinkSync(resolve('www', f), join(dir, f));
  mkdirSync(join(dir, 'models'));
  symlinkSync(resolve(MODEL), join(dir, 'models', 'smollm2-135m.gguf'));
  const manifest = JSON.parse(execFileSync('cat', ['www/models/models.json'], { encoding: 'utf8' }));
  const good = manifest.models[0].sha256;
  manifest.models[0].sha256 = '0'.repeat(64);
  writeFileSync(join(dir, 'models', 'models.json'), JSON.stringify(manifest));
  const bad = await serve(dir);
  try {
    const page = await browser.context.newPage();
    await page.goto(bad.url);
    await page.waitForSelector('#retry:not([hidden])', { timeout: 60000 });
    assert.match(await page.textContent('#error'), /sha256 is [0-9a-f]{64}, the manifest says 0{64}/);
    await page.screenshot({ path: `${SHOTS}/bad-sha256.png`, fullPage: true });
    // fix the manifest on the server, then Retry loads the model (the page re-reads it).
    manifest.models[0].sha256 = good;
    writeFileSync(join(dir, 'models', 'models.json'), JSON.stringify(manifest));
    await page.click('#retry');
    await page.waitForSelector('#by-logit tr:nth-child(11)', { timeout: 60000 });
    assert.equal(await page.isHidden('#error'), true);
    await page.close();
  } finally {
    bad.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
