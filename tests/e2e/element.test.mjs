// <unembed-explorer> on a page of its own: two elements share one download of the model,
// show their own presets, follow attribute changes, and clean up when removed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { serve, launch, watchErrors, copySite } from './harness.mjs';

let dir, srv, browser;

before(async () => {
  dir = copySite('unembed-element-');
  writeFileSync(join(dir, 'two.html'), `<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="stylesheet" href="style.css"><link rel="icon" href="data:,">
<script type="module" src="unembed-explorer.js"></script></head><body>
<h2>one</h2><unembed-explorer id="a" token=" Paris" views="topk,table"></unembed-explorer>
<h2>two</h2><unembed-explorer id="b" token=" king" temperature="0.5" views="cosnorm,table"></unembed-explorer>
<section lang="vi"><h2>ba</h2><unembed-explorer id="c" token=" Paris" views="table"></unembed-explorer>
<unembed-explorer id="d" model="khong-co.gguf" views="table"></unembed-explorer></section>
</body></html>`);
  srv = await serve(dir);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const firstIds = (page, id) => page.$$eval(`#${id} .topk-table tbody tr`, (rows) => rows.map((r) => r.cells[2].textContent));

test('two elements share one download and keep their own presets', async () => {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  const downloads = [];
  page.on('request', (r) => { if (r.url().endsWith('.gguf')) downloads.push(r.url()); });
  await page.goto(`${srv.url}two.html`);
  await page.waitForSelector('#a .topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  await page.waitForSelector('#b .topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  await page.waitForSelector('#c .topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  assert.equal(downloads.length, 1, `one download, not ${downloads.length}`);
  // lang="vi" on an ancestor: Vietnamese labels and a decimal comma.
  assert.match(await page.textContent('#c h3'), /Các token đứng đầu/);
  assert.equal(await page.locator('#c input[aria-label="nhiệt độ T"]').count(), 1);
  assert.match(await page.textContent('#c .topk-table caption'), /entropy \d+,\d{3} nat/);
  assert.match(await page.textContent('#a h3'), /Top tokens/);
  // errors in Vietnamese too: an unknown token, and a model the manifest does not list.
  await page.evaluate(() => document.querySelector('#c').setAttribute('token', 'zzqxqz'));
  await page.waitForFunction(() => /không có token nào là "zzqxqz"/.test(document.querySelector('#c').shadowRoot.querySelector('.error')?.textContent ?? ''));
  await page.waitForFunction(() => /không tải được mô hình: không có mô hình "khong-co.gguf"/.test(document.querySelector('#d')?.shadowRoot?.textContent ?? ''));
  assert.equal(await page.locator('#d button:text("Thử lại")').count(), 1);
  assert.notDeepEqual(await firstIds(page, 'a'), await firstIds(page, 'b'));
  // each shows only its views.
  assert.equal(await page.locator('#a canvas[data-chart="topk"]').count(), 1);
  assert.equal(await page.locator('#a canvas[data-chart="cosnorm"]').count(), 0);
  assert.equal(await page.locator('#b canvas[data-chart="cosnorm"]').count(), 1);
  assert.match(await page.textContent('#b .topk-table caption'), /T = 0\.5/);
  // attributes are live.
  await page.evaluate(() => document.querySelector('#b').setAttribute('temperature', '2'));
  await page.waitForFunction(() => /T = 2/.test(document.querySelector('#b').shadowRoot.querySelector('.topk-table caption').textContent));
  const before = await firstIds(page, 'a');
  await page.evaluate(() => document.querySelector('#a').setAttribute('token', 'king - man + woman'));
  await page.waitForFunction((b) => [...document.querySelector('#a').shadowRoot.querySelectorAll('.topk-table tbody tr')].map((r) => r.cells[2].textContent).join() !== b.join(), before);
  // removing one leaves the other working.
  await page.evaluate(() => document.querySelector('#a').remove());
  await page.evaluate(() => document.querySelector('#b').setAttribute('temperature', '1'));
  await page.waitForFunction(() => /T = 1 /.test(document.querySelector('#b').shadowRoot.querySelector('.topk-table caption').textContent));
  assert.equal(downloads.length, 1);
  errors.check();
  await page.close();
});

test('embed.html restores the same state from its hash as the full page', async () => {
  const state = { base: 'king - man + woman', mix_with: ' London', mix: 0.2, temperature: 0.6, target: ' queen', steps: 2 };
  const s = encodeURIComponent(JSON.stringify(state));
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  // a link's steps beyond the first are replayed in a Worker: both pages are compared once
  // their explorer is neither loading nor replaying (the table shows the state before the
  // steps meanwhile).
  const settled = () => {
    const e = document.querySelector('.unembed-explorer');
    return e && !e.dataset.busy && document.querySelector('.topk-table tbody tr:nth-child(10)');
  };
  await page.goto(`${srv.url}index.html#m=smollm2-135m.gguf&s=${s}`);
  await page.waitForFunction(settled, null, { timeout: 60000 });
  const full = await page.$eval('.topk-table tbody', (t) => t.textContent);
  const embed = await browser.context.newPage();
  const embedErrors = watchErrors(embed);
  await embed.goto(`${srv.url}embed.html#m=smollm2-135m.gguf&s=${s}&views=table&lang=en`);
  await embed.waitForFunction(settled, null, { timeout: 60000 });
  assert.equal(await embed.$eval('.topk-table tbody', (t) => t.textContent), full);
  assert.equal(await embed.locator('canvas').count(), 0);
  errors.check();
  embedErrors.check();
  await page.close();
  await embed.close();
});
