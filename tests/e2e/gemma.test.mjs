// the optional second model as `scripts/serve.sh --with gemma` serves it (scripts/test.sh
// prepares it): the picker offers Gemma 3 270M with its size and the name of its licence, linked
// to the Gemma Terms of Use; choosing it loads its 262,144 tokens, shows the CLI's top-10 for
// the same state, and a slider still moves the table. screenshot in target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { serve, launch, watchErrors } from './harness.mjs';

const GEMMA = 'www/models/gemma-3-270m.gguf';
const SHOTS = 'target/screenshots';
let srv, browser;

function cli(...args) {
  return JSON.parse(execFileSync('target/release/unembed', ['query', GEMMA, ...args, '--json'], { encoding: 'utf8' }));
}

const tableIds = (page) => page.$$eval('.topk-table tbody tr', (rows) => rows.map((r) => Number(r.cells[2].textContent)));
const tableText = (page) => page.$eval('.topk-table tbody', (t) => t.textContent);

before(async () => {
  // scripts/test.sh runs `prepare.sh --with gemma` first; run alone, say what is missing.
  assert.ok(existsSync(GEMMA), `${GEMMA} is missing: run bash scripts/prepare.sh --with gemma`);
  mkdirSync(SHOTS, { recursive: true });
  srv = await serve('www');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  srv?.stop();
});

test('the picker offers Gemma 3 270M with its size and licence; choosing it shows its numbers', async () => {
  const { models } = JSON.parse(readFileSync('www/models/models.json', 'utf8'));
  const entry = models.find((m) => m.file === 'gemma-3-270m.gguf');
  assert.equal(entry.license, 'gemma');
  assert.equal(entry.license_url, 'https://ai.google.dev/gemma/terms');
  // the default model stays first (the page opens on it).
  assert.equal(models[0].file, 'smollm2-135m.gguf');

  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  await page.goto(srv.url);
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  const option = await page.$eval('#model-select option[value="gemma-3-270m.gguf"]', (o) => o.textContent);
  assert.equal(option, `Gemma 3 270M (${(entry.bytes / 1e6).toFixed(0)} MB, Gemma Terms of Use)`);
  assert.match(await page.textContent('#model-license'), /Apache-2\.0/);

  const before = await tableText(page);
  await page.selectOption('#model-select', 'gemma-3-270m.gguf');
  // offered: the licence and its link show as soon as it is chosen, before the download ends.
  await page.waitForFunction(() => /Gemma Terms of Use/.test(document.getElementById('model-license').textContent));
  assert.equal(await page.getAttribute('#model-license', 'href'), 'https://ai.google.dev/gemma/terms');
  await page.waitForFunction(() => /262,144 tokens × d = 640/.test(document.getElementById('status').textContent), null, { timeout: 180000 });
  await page.waitForFunction((b) => document.querySelector('.topk-table tbody')?.textContent !== b, before, { timeout: 30000 });
  assert.equal(await page.inputValue('input[aria-label^="hidden state"]'), ' Paris');
  assert.deepEqual(await tableIds(page), cli('--token', ' Paris', '--top', '10').top.map((e) => e.id));
  assert.match(decodeURIComponent(await page.evaluate(() => location.hash)), /m=gemma-3-270m\.gguf/);

  // a slider still moves the table over 262,144 tokens.
  const shown = await tableText(page);
  await page.locator('input[aria-label="temperature T"]').focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowLeft');
  await page.locator('input[aria-label="‖h‖ scale"]').focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
  await page.waitForFunction((b) => document.querySelector('.topk-table tbody')?.textContent !== b, shown, { timeout: 10000 });
  await page.screenshot({ path: `${SHOTS}/gemma.png`, fullPage: true });

  // a target: at 262,144 tokens its gradient (one transposed pass, ~40 ms) waits until the
  // sliders rest, so a step stays short; then ‖∇L‖ is the CLI's for the same state.
  await page.fill('input[aria-label="target token for the loss"]', ' London');
  await page.press('input[aria-label="target token for the loss"]', 'Enter');
  await page.locator('input[aria-label="target token for the loss"]').blur();
  const during = await page.evaluate(() => {
    window.unembedPage.mounted.set({ temperature: 1, scale: 1 }, { sync: true });
    return document.querySelector('.target-info').textContent;
  });
  assert.match(during, /target " London": p = .*‖∇L‖ = …/);
  await page.waitForFunction(() => /‖∇L‖ = [0-9]/.test(document.querySelector('.target-info').textContent), null, { timeout: 10000 });
  const norm = Number((await page.textContent('.target-info')).match(/‖∇L‖ = ([0-9.]+)/)[1]);
  const want = cli('--token', ' Paris', '--target', ' London').target.gradient.norm;
  assert.ok(Math.abs(norm - want) <= 6e-4, `‖∇L‖ ${norm} on the page, ${want} from the CLI`);
  errors.check();
  await page.close();
});

/** Gemma's page once its table and its product Worker (product.js) are in: the pool's state. */
async function gemmaPage(page) {
  await page.goto(`${srv.url}#m=gemma-3-270m.gguf`);
  await page.waitForFunction(() => window.unembedPage?.explorer?.info().vocab === 262144
    && document.querySelectorAll('.topk-table tbody tr').length >= 10, null, { timeout: 180000 });
  await page.waitForFunction(() => { const p = window.unembedPage.mounted.pool; return p && (p.ready || p.failed); }, null, { timeout: 60000 });
  return page.evaluate(() => { const p = window.unembedPage.mounted.pool; return { ready: p.ready, failed: p.failed, split: p.split, answered: p.answered }; });
}

/** types a token into the hidden-state box and waits for the table to change. */
async function typeToken(page, token) {
  const before = await tableText(page);
  await page.fill('input[aria-label^="hidden state"]', token);
  await page.press('input[aria-label^="hidden state"]', 'Enter');
  await page.waitForFunction((b) => document.querySelector('.topk-table tbody')?.textContent !== b, before, { timeout: 30000 });
  await page.waitForFunction(() => !document.querySelector('#explorer .unembed-explorer, .unembed-explorer')?.dataset.busy);
}

test('at 262,144 tokens a new piece\'s product is shared with a Worker, bit for bit the page\'s own', async () => {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  const pool = await gemmaPage(page);
  assert.equal(pool.failed, null, 'the product Worker started');
  assert.equal(pool.split, 131072);
  // every row the Worker holds, for three vectors, against the page's own one-thread product
  // of the same h.
  const differing = await page.evaluate(async () => {
    const ex = window.unembedPage.explorer;
    const p = window.unembedPage.mounted.pool;
    const { d } = ex.info();
    const hs = [
      Float32Array.from({ length: d }, (_, j) => Math.sin(j * 0.37) * 2),
      Float32Array.from({ length: d }, (_, j) => (j % 7) - 3.5e-3 * j),
      Float32Array.from({ length: d }, (_, j) => (j % 2 ? 1e-3 : -40) * Math.cos(j)),
    ];
    let bad = 0;
    for (const h of hs) {
      const one = ex.logits(h);
      const tail = await p.tail(h);
      if (tail.length !== one.length - p.split) return -1;
      for (let i = 0; i < tail.length; i++) if (!Object.is(tail[i], one[p.split + i])) bad += 1;
    }
    return bad;
  });
  assert.equal(differing, 0, 'the Worker\'s rows are the page\'s bits');
  // a token typed is built with the Worker, and the table is the CLI's.
  const answered = await page.evaluate(() => window.unembedPage.mounted.pool.answered);
  await typeToken(page, ' London');
  assert.ok(await page.evaluate((a) => window.unembedPage.mounted.pool.answered > a, answered), 'the Worker shared the product');
  assert.deepEqual(await tableIds(page), cli('--token', ' London', '--top', '10').top.map((e) => e.id));
  // and the logits are one product's: the view's top logits against the page's own query of
  // the same token (one thread).
  const worst = await page.evaluate(() => {
    const q = window.unembedPage.explorer.query({ token: ' London', top: 10 }).top;
    const top = window.unembedPage.mounted.view.top;
    return Math.max(...top.map((t, i) => (t.id === q[i].id ? Math.abs(t.logit - q[i].logit) / Math.abs(q[i].logit) : Infinity)));
  });
  assert.ok(worst <= 1e-12, `the shown logits are off by ${worst} (relative)`);
  // another model: the explorer on Gemma is gone, and its Worker with it.
  await page.evaluate(() => { window.gemmaPool = window.unembedPage.mounted.pool; });
  await page.selectOption('#model-select', 'smollm2-135m.gguf');
  await page.waitForFunction(() => window.unembedPage?.explorer?.info().vocab === 49152, null, { timeout: 60000 });
  assert.deepEqual(await page.evaluate(() => [window.gemmaPool.ready, window.gemmaPool.failed, window.unembedPage.mounted.pool]),
    [false, 'the product Worker was released', null]);
  errors.check();
  await page.close();
});

test('a product Worker that cannot start leaves the explorer computing alone', async () => {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  await page.route('**/product-worker.js', (r) => r.fulfill({ status: 404, body: 'gone' }));
  const pool = await gemmaPage(page);
  assert.equal(pool.ready, false);
  assert.ok(pool.failed, 'the pool says why');
  await typeToken(page, ' London');
  assert.deepEqual(await tableIds(page), cli('--token', ' London', '--top', '10').top.map((e) => e.id));
  assert.equal(await page.evaluate(() => window.unembedPage.mounted.pool.answered), 0);
  errors.check();
  await page.close();
});
