// the example course as MkDocs Material builds it (scripts/build-course.sh; COURSE_SITE names
// the built folder): every widget renders, each model file is downloaded at most once for the
// whole visit (the §1 logit lens is on the first screen, so the whole model serves every
// explorer), presets differ, the lens shows the model's real prediction, the labels are
// Vietnamese, Material's instant navigation keeps working, the formulas are typeset by the
// site's own KaTeX (no raw $$, no request to any host but the server), a reload reads the
// model from the browser's cache, and nothing is logged as a console error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { serve, launch, watchErrors } from './harness.mjs';

const SITE = process.env.COURSE_SITE ?? 'target/course-site';
// Material's instant navigation needs the site served at the site_url it was built with:
// scripts/test.sh builds with UNEMBED_SITE_URL=http://127.0.0.1:47831/.
const PORT = Number(process.env.COURSE_PORT ?? 47831);
// the explorer's policy (src/cli/serve/mod.rs) plus what Material needs: its pages carry inline
// scripts (`__md_scope`, the palette) and inline styles (table cells). README, "Serving".
const COURSE_CSP = "default-src 'none'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; worker-src 'self'; "
  + "connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self'; "
  + "manifest-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'";
let srv, browser;

before(async () => {
  if (!existsSync(`${SITE}/index.html`)) throw new Error(`build the course first: bash scripts/build-course.sh ${SITE}`);
  srv = await serve(SITE, 'target/release/unembed', PORT, ['--csp', COURSE_CSP]);
  browser = await launch({ modelCache: true });
});

after(async () => {
  await browser?.close();
  srv?.stop();
});

test('the lesson with six explorers (two logit lenses), one download, Vietnamese labels, instant navigation', async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1400, height: 900 }); // wide enough for Material's sidebar
  const errors = watchErrors(page);
  const downloads = [];
  const outside = [];
  page.on('request', (r) => {
    if (r.url().endsWith('.gguf')) downloads.push(r.url());
    if (!/^(http:\/\/127\.0\.0\.1[:/]|data:|blob:)/.test(r.url())) outside.push(r.url());
  });
  await page.goto(srv.url);
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  // the maths: typeset, with nothing of the TeX source left in the text a reader sees.
  await page.waitForFunction(() => document.querySelectorAll('.md-content .katex').length >= 30);
  const text = await page.evaluate(() => document.querySelector('.md-content').innerText);
  assert.doesNotMatch(text, /\$\$|\\\[|\\\(|\\(text|rightarrow|mathbf)\b/, 'no raw TeX in the rendered lesson');
  assert.equal(await page.locator('.md-content .katex-error').count(), 0, 'every formula parses');
  const widgets = page.locator('unembed-explorer');
  assert.equal(await widgets.count(), 6);
  // every widget renders its views (the §10 one has no table: it shows the spectrum and top-k).
  await page.waitForFunction(() => [...document.querySelectorAll('unembed-explorer')]
    .every((w) => w.shadowRoot?.querySelector('.topk-table tbody tr, canvas[data-chart]')), null, { timeout: 60000 });
  await page.waitForFunction(() => [...document.querySelectorAll('unembed-explorer')]
    .map((w) => w.shadowRoot?.querySelector('.topk-table tbody')).filter(Boolean)
    .every((t, _, all) => all.length === 5 && t.rows.length === 10), null, { timeout: 60000 });
  assert.equal(new Set(downloads).size, downloads.length, `each file once: ${downloads}`);
  assert.deepEqual(downloads.map((u) => u.split('/').pop()), ['SmolLM2-135M-Instruct.Q4_1.gguf'], 'the whole model serves every explorer');
  // the widgets' text is sized like the lesson's (Material's body is .8rem of a 125 % root),
  // not by that root: a table's text is .85–.88 of a paragraph's, as on the full page.
  const [para, cell] = await page.evaluate(() => [
    parseFloat(getComputedStyle(document.querySelector('.md-content p')).fontSize),
    parseFloat(getComputedStyle(document.querySelector('unembed-explorer').shadowRoot.querySelector('.topk-table td')).fontSize),
  ]);
  assert.ok(cell / para >= 0.84 && cell / para <= 0.89, `a table cell's text is ${cell}px beside the lesson's ${para}px`);
  const ids = await page.$$eval('unembed-explorer', (ws) => ws.map((w) => [...w.shadowRoot.querySelectorAll('.topk-table tbody tr')].map((r) => r.cells[2].textContent).join()));
  assert.notEqual(ids[1], ids[2], '§5 (" Paris") and §7 (" king") show different tables');
  assert.match(await page.textContent('unembed-explorer .table h3'), /Các token đứng đầu/);
  // §1: the lens runs its prompt on sight; the model says " Paris" (#7042), as the text says.
  await page.waitForFunction(() => { const e = document.querySelector('unembed-explorer'); const l = e.lens; return l && !l.state.busy && l.state.rows === 31 && e.explorer?.controls.h?.length; }, null, { timeout: 120000 });
  assert.equal(await page.evaluate(() => document.querySelector('unembed-explorer').lens.state.cells[30][4].top[0].id), 7042);
  assert.match(await page.textContent('unembed-explorer .unembed-lens h3'), /^Prompt: logit lens$/);
  assert.ok(await page.locator('unembed-explorer canvas[data-chart="spectrum"]').count() === 1);
  // Material's instant navigation swaps the page without a reload.
  await page.evaluate(() => { window.unembedVisit = 'same document'; });
  await page.locator('a[href$="nhung-widget/"]:visible').first().click();
  await page.waitForFunction(() => location.pathname.endsWith('/nhung-widget/'));
  await page.waitForSelector('unembed-explorer .topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  assert.equal(await page.evaluate(() => window.unembedVisit), 'same document', 'no full reload');
  await page.locator(`a[href="${srv.url}"]:visible`).first().click();
  await page.waitForFunction(() => document.querySelectorAll('unembed-explorer').length === 6);
  await page.waitForFunction(() => [...document.querySelectorAll('unembed-explorer')]
    .map((w) => w.shadowRoot?.querySelector('.topk-table tbody')).filter(Boolean)
    .every((t, _, all) => all.length === 5 && t.rows.length === 10), null, { timeout: 60000 });
  assert.equal(await page.evaluate(() => window.unembedVisit), 'same document', 'no full reload');
  assert.equal(downloads.length, 1, 'still one download after navigating');
  // §11: the Vietnamese prompt, run once its panel is scrolled to; the text calls its
  // prediction wrong (" n", #304): the page shows the same.
  await page.locator('unembed-explorer[prompt^="H"] .unembed-lens').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => { const e = document.querySelector('unembed-explorer[prompt^="H"]'); const l = e.lens; return l && !l.state.busy && l.state.rows === 31 && e.explorer?.controls.h?.length; }, null, { timeout: 120000 });
  await page.waitForFunction(() => /residual sau tầng 30\/30 tại vị trí 17/.test(document.querySelector('unembed-explorer[prompt^="H"]').shadowRoot.querySelector('.pipeline-line').textContent));
  assert.equal(await page.evaluate(() => { const s = document.querySelector('unembed-explorer[prompt^="H"]').lens.state; return s.cells[30][s.cols - 1].top[0].id; }), 304);
  await page.locator('unembed-explorer[prompt^="H"]').screenshot({ path: 'target/screenshots/course-lens-vi.png' });
  assert.equal(downloads.length, 1, 'the second lens shares the model');
  await page.screenshot({ path: 'target/screenshots/course.png', fullPage: false });
  assert.deepEqual(outside, [], 'no request outside 127.0.0.1');
  errors.check();
  await page.close();
  // a second visit (tomorrow's, or another lesson's) reads the model from the browser's cache.
  const again = await browser.context.newPage();
  await again.setViewportSize({ width: 1400, height: 900 });
  const errors2 = watchErrors(again);
  again.on('request', (r) => {
    if (r.url().endsWith('.gguf')) downloads.push(r.url());
    if (!/^(http:\/\/127\.0\.0\.1[:/]|data:|blob:)/.test(r.url())) outside.push(r.url());
  });
  await again.goto(srv.url);
  await again.waitForFunction(() => { const l = document.querySelector('unembed-explorer')?.lens; return l && !l.state.busy && l.state.rows === 31; }, null, { timeout: 120000 });
  assert.equal(await again.evaluate(() => document.querySelector('unembed-explorer').lens.state.cells[30][4].top[0].id), 7042);
  assert.equal(downloads.length, 1, 'no second request for the model on a second visit');
  assert.deepEqual(outside, [], 'no request outside 127.0.0.1');
  errors2.check();
  await again.close();
});
