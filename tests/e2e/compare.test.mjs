// the Compare view (www/compare.js) of SmolLM2-135M beside Gemma 3 270M, as `scripts/serve.sh
// --with gemma` serves them (scripts/test.sh prepares both): reached by its tab (and by the
// keyboard), it downloads the second model with a progress bar, then shows the numbers
// `unembed compare --json` prints for the same files and text: each model's effective rank,
// the directions carrying 90% of ‖E‖², the norm and anisotropy statistics, Spearman's ρ between
// logit and cosine and the top-10 by each; and a word's nearest neighbours (the top by cosine
// without the word itself). screenshots at 1366×768 and 390×844 in target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { serve, launch, watchErrors } from './harness.mjs';

const SMOL = 'www/models/smollm2-135m.gguf';
const GEMMA = 'www/models/gemma-3-270m.gguf';
const SHOTS = 'target/screenshots';
let srv, browser, cli;

before(async () => {
  assert.ok(existsSync(GEMMA), `${GEMMA} is missing: run bash scripts/prepare.sh --with gemma`);
  mkdirSync(SHOTS, { recursive: true });
  // the page reads "Paris" as an expression: the bare word is " Paris" in both vocabularies.
  cli = JSON.parse(execFileSync('target/release/unembed', ['compare', SMOL, GEMMA, '--expr', 'Paris', '--top', '11', '--json'], { encoding: 'utf8' }));
  srv = await serve('www');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  srv?.stop();
});

/** the page's numbers as English text: fixed digits. */
const fixed = (x, d) => x.toFixed(d);

async function openCompare(page) {
  await page.goto(srv.url);
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  // the tabs by keyboard: focus the selected one, ArrowRight moves to Compare.
  await page.focus('#tab-explore');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('#tab-compare', 'aria-selected'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-compare');
  assert.equal(await page.isHidden('#explore-panel'), true);
  // the second model downloads with its progress shown (Gemma is the only other served model).
  assert.equal(await page.inputValue('#compare-select'), 'gemma-3-270m.gguf');
  await page.waitForFunction(() => /Gemma 3 270M/.test(document.getElementById('compare-status').textContent));
  await page.waitForFunction(() => window.unembedPage.compare, null, { timeout: 180000 });
  await page.evaluate(() => window.unembedPage.compare.ready);
  await page.waitForSelector('.cmp-words .cmp-side[data-model="1"] tbody tr');
}

test('Compare shows the CLI\'s numbers for SmolLM2 beside Gemma 3', async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1366, height: 768 });
  const errors = watchErrors(page);
  await openCompare(page);
  assert.match(await page.textContent('#compare-status'), /SmolLM2-135M-Instruct beside Gemma 3 270M/);
  assert.match(decodeURIComponent(await page.evaluate(() => location.hash)), /view=compare&with=gemma-3-270m\.gguf/);
  assert.match(await page.textContent('#compare-license'), /Gemma Terms of Use/);

  const [a, b] = cli.models;
  const summary = (key) => page.$$eval(`.cmp-summary tr[data-key="${key}"] td`, (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(await summary('effective_rank'), [a, b].map((m) => `${fixed(m.effective_rank, 1)} of ${m.d}`));
  assert.deepEqual(await summary('energy_90'), [a, b].map((m) => String(m.energy_90)));
  const range = (s) => `${fixed(s.mean, 4)} ± ${fixed(s.std, 4)} [${fixed(s.min, 4)}, ${fixed(s.max, 4)}]`;
  assert.deepEqual(await summary('norms'), [a, b].map((m) => range(m.norms)));
  assert.deepEqual(await summary('anisotropy'), [a, b].map((m) => range(m.anisotropy)));

  // the text: ρ and the top-10 by logit and by cosine in each model.
  for (const [i, m] of [a, b].entries()) {
    const side = `.cmp-text .cmp-side[data-model="${i}"]`;
    const rho = await page.textContent(`${side} .cmp-rho`);
    assert.ok(rho.includes(`= ${fixed(m.spearman_dot_cos, 4)};`), `${rho} vs ${m.spearman_dot_cos}`);
    const rows = await page.$$eval(`${side} tbody tr`, (trs) => trs.map((tr) => [Number(tr.dataset.logitId), Number(tr.dataset.cosId)]));
    assert.deepEqual(rows.map((r) => r[0]), m.h.top_logit.slice(0, 10).map((e) => e.id));
    assert.deepEqual(rows.map((r) => r[1]), m.h.top_cosine.slice(0, 10).map((e) => e.id));
    // the word's neighbours: the top by cosine without the word itself (its own cosine is 1).
    assert.equal(m.h.top_cosine[0].id, (await page.$$eval(`${side} tbody tr`, (trs) => trs.map((tr) => Number(tr.dataset.cosId))))[0]);
    const nn = await page.$$eval(`.cmp-words .cmp-side[data-model="${i}"] tbody tr`, (trs) => trs.map((tr) => Number(tr.dataset.id)));
    assert.deepEqual(nn, m.h.top_cosine.slice(1, 11).map((e) => e.id));
  }
  // Gemma's vectors are all one length: its logit and cosine rankings agree (§9); SmolLM2's do not.
  assert.ok(b.spearman_dot_cos > 0.999 && a.spearman_dot_cos < 0.9);

  // a neighbour both vocabularies have is matched by its text: " London" in both.
  const there = await page.$$eval('.cmp-words .cmp-side[data-model="0"] tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const london = there.find((r) => r[1] === '" London"');
  assert.ok(london, JSON.stringify(there));
  assert.match(london[4], /^#\d+$/);

  // an expression and a word only one vocabulary has: each side answers for itself.
  await page.fill('input[id$="-text"]', 'king - man + woman');
  await page.press('input[id$="-text"]', 'Enter');
  await page.waitForFunction(() => /woman/.test(document.querySelector('.cmp-text .cmp-side[data-model="1"] caption')?.textContent ?? ''));

  await page.screenshot({ path: `${SHOTS}/compare-1366.png`, fullPage: true });
  errors.check();
  await page.close();
});

test('Compare on a phone: one column, charts stacked', async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  const errors = watchErrors(page);
  await openCompare(page);
  // nothing wider than the screen.
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390, `page is ${wide}px wide`);
  await page.screenshot({ path: `${SHOTS}/compare-390.png`, fullPage: true });
  errors.check();
  await page.close();
});

test('the element: views="compare" compare="gemma-3-270m.gguf", in Vietnamese', async () => {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  // a host page of the served site's origin (so the module and models resolve beside it).
  await page.route(`${srv.url}compare-element.html`, (r) => r.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><html lang="vi"><head><meta charset="utf-8">
<link rel="stylesheet" href="style.css"><link rel="icon" href="data:,">
<script type="module" src="unembed-explorer.js"></script></head><body>
<unembed-explorer id="c" views="compare" compare="gemma-3-270m.gguf" token="Paris"></unembed-explorer>
<unembed-explorer id="none" views="compare"></unembed-explorer>
</body></html>`,
  }));
  await page.goto(`${srv.url}compare-element.html`);
  await page.waitForFunction(() => document.getElementById('c').compare, null, { timeout: 180000 });
  await page.evaluate(() => document.getElementById('c').compare.ready);
  await page.waitForSelector('#c .cmp-words .cmp-side[data-model="1"] tbody tr');
  const [a, b] = cli.models;
  const ranks = await page.$$eval('#c .cmp-summary tr[data-key="effective_rank"] td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(ranks, [a, b].map((m) => `${m.effective_rank.toFixed(1).replace('.', ',')} trên ${m.d}`));
  assert.match(await page.textContent('#c h3'), /Hai ma trận unembedding/);
  // without a second model the element says what it needs.
  await page.waitForFunction(() => /compare=/.test(document.querySelector('#none').shadowRoot?.querySelector('.unembed-status')?.textContent ?? ''));
  errors.check();
  await page.close();
});

test('a local file as the second model: its spectrum computed in Workers, the same matrix gives the same numbers', async () => {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  await page.goto(srv.url);
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  await page.click('#tab-compare');
  // the served file's source: the whole SmolLM2 GGUF, which carries no spectrum.
  await page.setInputFiles('#compare-file', 'www/models/SmolLM2-135M-Instruct.Q4_1.gguf');
  await page.waitForFunction(() => document.querySelector('#compare-select').value.startsWith('local:')
    && window.unembedPage.compare?.b === window.unembedPage.second && window.unembedPage.second?.info().vocab === 49152, null, { timeout: 180000 });
  await page.evaluate(() => window.unembedPage.compare.ready);
  const ranks = await page.$$eval('.cmp-summary tr[data-key="effective_rank"] td', (tds) => tds.map((td) => td.textContent));
  assert.equal(ranks[0], ranks[1]);
  assert.equal(ranks[0], `${cli.models[0].effective_rank.toFixed(1)} of 576`);
  const rho = await page.$$eval('.cmp-text .cmp-rho', (ps) => ps.map((p) => p.textContent));
  assert.equal(rho[0], rho[1]);
  errors.check();
  await page.close();
});

test('the same prompt through both models: two lenses drawn to one height', async () => {
  const { models } = JSON.parse(readFileSync('www/models/models.json', 'utf8'));
  const layers = models.map((m) => m.full?.layers);
  assert.ok(layers.every((l) => l > 0), `both models need their whole files: ${layers}`);
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1366, height: 768 });
  const errors = watchErrors(page);
  await page.goto(`${srv.url}#m=smollm2-135m.gguf&view=compare&with=gemma-3-270m.gguf`);
  await page.waitForFunction(() => window.unembedPage.compare, null, { timeout: 180000 });
  await page.evaluate(() => window.unembedPage.compare.ready);
  await page.fill('#compare-prompt', 'The capital of France is');
  await page.click('#compare-run');
  // each whole model downloads, runs in its worker, and reads every layer.
  await page.waitForFunction(() => {
    const l = window.unembedPage.lenses;
    return l && l.every((x) => x.state.grid && !x.state.busy && x.state.rows > 0 && x.state.rows === x.state.layers + 1);
  }, null, { timeout: 600000 });
  const st = await page.evaluate(() => window.unembedPage.lenses.map((l) => ({ rows: l.state.rows, cols: l.state.cols, layers: l.state.layers })));
  assert.deepEqual(st.map((s) => s.layers), layers);
  // one height for both stacks, whatever their depth: a row at the same height is the same
  // fraction of the way through each model.
  const heights = await page.$$eval('#compare-lenses canvas.lens-canvas', (cs) => cs.map((c) => c.getBoundingClientRect().height));
  assert.equal(heights.length, 2);
  assert.equal(heights[0], heights[1]);
  // these lenses are looked at, not taken as the explorer's h: their help does not promise it,
  // and a click selects nothing but says the cell's top tokens under the lens.
  for (const t of await page.$$eval('#compare-lenses .unembed-lens p.help', (ps) => ps.map((p) => p.textContent))) {
    assert.doesNotMatch(t, /explorer's h/);
  }
  // (on screen first: a click outside the viewport reaches nothing, which this check, before,
  // could not tell from a click that selects nothing.)
  await page.locator('#compare-lenses canvas.lens-canvas').first().scrollIntoViewIfNeeded();
  const box = await page.locator('#compare-lenses canvas.lens-canvas').first().boundingBox();
  // a point on a cell: the grid leaves margins for its labels, so try a few.
  let said = '';
  for (const [fx, fy] of [[0.5, 0.3], [0.6, 0.5], [0.7, 0.2], [0.5, 0.5]]) {
    await page.mouse.click(box.x + box.width * fx, box.y + box.height * fy);
    said = await page.locator('#compare-lenses .lens-live').first().textContent();
    if (said) break;
  }
  assert.equal(await page.evaluate(() => window.unembedPage.lenses[0].state.selected), null);
  assert.match(said, /layer|embed/i, `the clicked cell is said: ${said}`);
  assert.match(said, /\d\.\d|e-\d/, `with its probabilities: ${said}`);
  await page.$eval('#compare-lens', (e) => e.scrollIntoView());
  await page.screenshot({ path: `${SHOTS}/compare-lens-1366.png`, fullPage: true });
  errors.check();
  await page.close();
});
