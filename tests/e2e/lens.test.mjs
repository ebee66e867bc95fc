// the Prompt panel (the logit lens) in the full page, the element and embed.html: type a
// prompt, see the heatmap fill layer by layer, hover a cell (its top 5), click one (the
// explorer's h becomes that cell's hidden state, and its table and charts follow), generate,
// stop, export; bad prompts end in defined results; the numbers agree with `unembed lens`.
// needs scripts/prepare.sh (www/models holds the whole model, recorded as the entry's
// `full`). prints the timings it measures; screenshots go to target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { serve, launch, watchErrors, copySite } from './harness.mjs';

const BIN = 'target/release/unembed';
const manifest = JSON.parse(readFileSync('www/models/models.json', 'utf8'));
const ENTRY = manifest.models[0];
const WHOLE = `www/models/${ENTRY.full?.file}`;
const PROMPT = 'The capital of France is';
// 16 tokens, for the timings.
const LONG = 'The capital of France is the city where the government sits, and its name is';
const cli = (prompt, ...more) => JSON.parse(execFileSync(BIN, ['lens', WHOLE, '--prompt', prompt, '--json', '--top', '5', ...more], { maxBuffer: 1 << 26 }));

let srv, browser, site;

before(async () => {
  if (!ENTRY.full) throw new Error('www/models/models.json has no whole model: run scripts/prepare.sh');
  mkdirSync('target/screenshots', { recursive: true });
  site = copySite('unembed-lens-');
  writeFileSync(join(site, 'lens.html'), `<!doctype html><html lang="vi"><head><meta charset="utf-8">
<link rel="stylesheet" href="style.css"><link rel="icon" href="data:,">
<script type="module" src="unembed-explorer.js"></script></head><body>
<unembed-explorer id="a" prompt="Hà Nội là thủ đô của" views="lens,topk,table"></unembed-explorer>
<unembed-explorer id="b" token=" king" views="table" controls="token,directions"></unembed-explorer>
</body></html>`);
  srv = await serve(site);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  srv?.stop();
  if (site) rmSync(site, { recursive: true, force: true });
});

async function openPage(width = 1366, height = 768, hash = '') {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width, height });
  const errors = watchErrors(page);
  const downloads = [];
  page.on('request', (r) => { if (r.url().endsWith('.gguf')) downloads.push(r.url().split('/').pop()); });
  await page.goto(`${srv.url}index.html${hash}`);
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  return { page, errors, downloads };
}

const lensState = (page) => page.evaluate(() => {
  const s = window.unembedPage.lens.state;
  return { tokens: s.tokens, ids: s.ids, rows: s.rows, cols: s.cols, busy: s.busy, selected: s.selected, layers: s.layers, gridCols: s.grid?.cols, quantity: s.grid?.quantity };
});

async function runPrompt(page, text) {
  await page.fill('.lens-prompt', text);
  await page.click('.lens-run');
  await page.waitForFunction((n) => {
    const s = window.unembedPage.lens.state;
    return !s.busy && s.rows === n + 1 && s.grid && s.grid.values.every((v) => v !== null) && window.unembedPage.mounted.controls.h?.length;
  }, ENTRY.full.layers, { timeout: 180000 });
  // the explorer renders the selected cell's h on its next frame.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** the CSS pixel centre of a cell, from plot::lens's layout: 64 px left, 70 right, 22 on top,
 * below the grid 34 + 3·16 + 20 (inputs and the commitment strip); the top row is the last
 * layer. */
async function cellCenter(page, row, col) {
  const box = await page.locator('.lens-canvas').boundingBox();
  const g = await page.evaluate(() => ({ rows: window.unembedPage.lens.state.grid.rows, cols: window.unembedPage.lens.state.grid.cols }));
  const cw = (box.width - 134) / g.cols;
  const ch = (box.height - 22 - 102) / g.rows;
  return { x: box.x + 64 + (col + 0.5) * cw, y: box.y + 22 + (g.rows - 1 - row + 0.5) * ch };
}

const topkPixels = (page) => page.$eval('canvas[data-chart="topk"]', (c) => c.toDataURL());
const tableText = (page) => page.$eval('.topk-table tbody', (t) => t.textContent);

test('a prompt: heatmap, hover, click a cell into the explorer, keyboard, quantities, generate, stop, export', async () => {
  const { page, errors, downloads } = await openPage();
  assert.deepEqual(downloads, [ENTRY.file], 'the plain explorer downloads only its small file');
  const want = cli(PROMPT);
  await runPrompt(page, PROMPT);
  assert.deepEqual(downloads, [ENTRY.file, ENTRY.full.file], 'the whole model once a prompt is run');
  let s = await lensState(page);
  assert.deepEqual(s.ids, want.ids, 'the page tokenizes as the CLI does');
  assert.equal(s.rows, ENTRY.full.layers + 1);
  assert.equal(await page.locator('.lens-tokens .tok').count(), want.ids.length);
  // the last row at the last position is the model's prediction: the CLI's next token.
  const L = ENTRY.full.layers;
  const last = await page.evaluate(([r, c]) => window.unembedPage.lens.state.cells[r][c], [L, want.ids.length - 1]);
  assert.equal(last.top[0].id, want.next.top[0].id, `${last.top[0].shown} vs ${want.next.top[0].shown}`);
  // the wasm pass (simd128) adds its float order to the activations' quantization: the same
  // spread as the CLI's quantized against its --exact pass (README, "Numbers").
  assert.ok(Math.abs(last.top[0].prob - want.next.top[0].prob) < 0.03, `${last.top[0].prob} vs ${want.next.top[0].prob}`);
  // after the run the explorer shows the model's own last state: its norm is the CLI's h_norm.
  const hn = await page.evaluate(() => window.unembedPage.mounted.view.h_norm);
  assert.ok(Math.abs(hn - want.next.h_norm) / want.next.h_norm < 0.01, `${hn} vs ${want.next.h_norm}`);
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('.pipeline-line').textContent), `after layer ${L} of ${L} at position ${want.ids.length - 1}`);
  // the last row is read exactly, as the explorer reads the same h: the same probabilities.
  const shown = await page.evaluate(() => window.unembedPage.mounted.view);
  shown.top.slice(0, 5).forEach((t, k) => {
    assert.equal(t.id, last.top[k].id);
    assert.ok(Math.abs(t.prob - last.top[k].prob) < 1e-9, `${t.prob} vs ${last.top[k].prob}`);
  });

  // hover: the cell's top 5 with probabilities.
  await page.locator('.lens-canvas').scrollIntoViewIfNeeded();
  const p = await cellCenter(page, 12, 3);
  await page.mouse.move(p.x, p.y);
  await page.waitForSelector('.lens-tip:not([hidden])');
  assert.match(await page.textContent('.lens-tip strong'), /^layer 12, position 3 \(" France"\)$/);
  assert.equal(await page.locator('.lens-tip .tip-row').count(), 5);
  const cell = await page.evaluate(() => window.unembedPage.lens.state.cells[12][3]);
  assert.equal(await page.textContent('.lens-tip .tip-row .tok'), `1. ${cell.top[0].shown}`);

  // click: the explorer's h is the worker's hidden state of that cell; its table and charts move.
  const beforeTable = await tableText(page);
  const beforeChart = await topkPixels(page);
  await page.mouse.click(p.x, p.y);
  await page.waitForFunction(() => window.unembedPage.mounted.controls.base.startsWith('layer 12, position 3'));
  await page.waitForFunction((t) => document.querySelector('.topk-table tbody').textContent !== t, beforeTable);
  assert.notEqual(await topkPixels(page), beforeChart, 'the top-k chart is redrawn for the new h');
  const { h, given } = await page.evaluate(async () => ({
    h: await window.unembedPage.lens.hidden(12, 3), given: window.unembedPage.mounted.controls.h,
  }));
  assert.deepEqual(given, h, 'the explorer holds the cell\'s hidden state exactly');
  // the explorer reads that h as the lens did (T = 1): the same top 5 and probabilities, up to
  // the precision the lens read this row at (rows below the last: the fast product, logits
  // within about 4e-5 of |z| relative, so a probability within about 1e-3 relative; 4e-4 of
  // 0.36 was seen). the last row is exact, checked above to 1e-9.
  const view = await page.evaluate(() => window.unembedPage.mounted.view);
  assert.deepEqual(view.top.slice(0, 5).map((t) => t.id), cell.top.map((t) => t.id));
  view.top.slice(0, 5).forEach((t, k) => assert.ok(Math.abs(t.prob - cell.top[k].prob) <= 5e-3 * cell.top[k].prob + 1e-9, `${t.prob} vs ${cell.top[k].prob}`));
  assert.match(await page.textContent('.pipeline-line'), /residual after layer 12 of 30 at position 3 \(" France"\)/);
  assert.match(await page.textContent('.lens-live'), /layer 12, position 3 \(" France"\): .* is now the explorer's h\./);
  // the sliders move h around that state: the pipeline line says so.
  await page.$eval('input[aria-label="‖h‖ scale"]', (e) => { e.value = '1.5'; e.dispatchEvent(new Event('input')); });
  await page.waitForFunction(() => /then moved by: ‖h‖ scale/.test(document.querySelector('.pipeline-line').textContent));

  // keyboard: the canvas takes focus, arrows move, Enter loads the cell.
  await page.focus('.lens-canvas');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.unembedPage.mounted.controls.base.startsWith('layer 11, position 2'));
  assert.match(await page.textContent('.lens-live'), /^layer 11, position 2 \(" of"\): /);
  assert.equal(await page.getAttribute('.lens-canvas', 'aria-label'), 'logit lens heatmap: layers from bottom (embedding) to top (last layer), positions left to right. Arrow keys move between cells, Enter loads a cell into the explorer.');

  // every quantity colours the cells (KL is computed on request).
  for (const q of ['token_prob', 'token_rank', 'kl', 'entropy', 'top_prob']) {
    await page.selectOption('.unembed-lens select[aria-label="colour by"]', q);
    await page.waitForFunction((x) => window.unembedPage.lens.state.grid.quantity === x
      && window.unembedPage.lens.state.grid.values.every((v) => v !== null), q, { timeout: 60000 });
  }
  // a chosen token: its probability at every cell.
  await page.fill('.unembed-lens input[aria-label="chosen token"]', ' Paris');
  await page.press('.unembed-lens input[aria-label="chosen token"]', 'Enter');
  await page.waitForFunction(() => window.unembedPage.lens.state.grid.quantity === 'token_prob');
  await page.selectOption('.unembed-lens select[aria-label="colour by"]', 'top_prob');
  await page.fill('.unembed-lens input[aria-label="chosen token"]', 'zzqxqz');
  await page.press('.unembed-lens input[aria-label="chosen token"]', 'Enter');
  await page.waitForFunction(() => /no token reads "zzqxqz"/.test(document.querySelector('.lens-error').textContent));
  await page.fill('.unembed-lens input[aria-label="chosen token"]', '');
  await page.press('.unembed-lens input[aria-label="chosen token"]', 'Enter');

  // generate 5 greedy tokens: five more columns, the tokens the CLI generates.
  const gen = cli(PROMPT, '--generate', '5');
  await page.fill('.lens-count', '5');
  await page.click('.lens-generate');
  await page.waitForFunction((n) => !window.unembedPage.lens.state.busy && window.unembedPage.lens.state.cols === n, want.ids.length + 5, { timeout: 120000 });
  s = await lensState(page);
  assert.equal(s.gridCols, want.ids.length + 5);
  assert.deepEqual(s.ids, gen.ids, 'greedy generation continues as the CLI does');
  assert.match(await page.textContent('.lens-status'), /^generated 5 tokens in \d+\.\d s\.$/);
  await page.screenshot({ path: 'target/screenshots/lens-1366.png', fullPage: false });
  await page.locator('.unembed-lens').screenshot({ path: 'target/screenshots/lens-panel-1366.png' });

  // Stop: a long generation ends between two tokens.
  await page.fill('.lens-count', '40');
  await page.click('.lens-generate');
  await page.waitForFunction((n) => window.unembedPage.lens.state.cols > n, s.cols, { timeout: 60000 });
  await page.click('.lens-stop');
  await page.waitForFunction(() => !window.unembedPage.lens.state.busy, null, { timeout: 60000 });
  const stopped = await lensState(page);
  assert.ok(stopped.cols > s.cols && stopped.cols < s.cols + 40, `${stopped.cols}`);
  assert.match(await page.textContent('.lens-status'), /stopped\.|ended its text/);

  // export: the lens as JSON (the CLI's shape), the heatmap as PNG.
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('.lens-export button:text("JSON")')]);
  const exported = JSON.parse(readFileSync(await json.path(), 'utf8'));
  assert.equal(exported.layers.length, L + 1);
  assert.deepEqual(exported.ids, stopped.ids);
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('.lens-export button:text("PNG")')]);
  assert.deepEqual([...readFileSync(await png.path()).subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
  assert.equal(downloads.length, 2, 'each file once');
  errors.check();
  await page.close();
});

test('rows after attention: the toggle runs the prompt again with 2L + 1 rows, as `unembed lens --mid` reads them', async () => {
  const { page, errors } = await openPage();
  const want = cli(PROMPT, '--mid');
  const L = ENTRY.full.layers;
  await runPrompt(page, PROMPT);
  await page.check('.lens-mid');
  await page.waitForFunction((n) => {
    const s = window.unembedPage.lens.state;
    return !s.busy && s.mid && s.rows === 2 * n + 1 && s.grid?.rows === 2 * n + 1 && s.grid.values.every((v) => v !== null);
  }, L, { timeout: 180000 });
  const s = await page.evaluate(() => { const st = window.unembedPage.lens.state; return { names: st.grid.row_names, cells: st.cells }; });
  assert.deepEqual(s.names, want.rows, 'the rows are named as the CLI names them (embed, 1a, 1, 2a, …)');
  // every cell's top token is the CLI's, or the two swapped places: the page's pass (wasm,
  // simd128) and the CLI's (avx2) add in other orders, and through 30 layers that moves a
  // logit by up to a few tenths (forward_check allows 1.6 against llama.cpp, from llama.cpp's
  // own spread), a probability near 0.5 by up to about 0.1 (0.101 was seen, at row 27a). so:
  // each probability within 0.15 of the CLI's; a swap keeps the pair, in at most 2% of the
  // cells (4 of 305 were seen).
  let same = 0;
  for (let r = 0; r <= 2 * L; r++) {
    for (let c = 0; c < want.ids.length; c++) {
      const a = s.cells[r][c].top, b = want.layers[r][c].top;
      if (a[0].id === b[0].id) {
        same += 1;
        assert.ok(Math.abs(a[0].prob - b[0].prob) < 0.15, `row ${want.rows[r]}, position ${c}: ${a[0].prob} vs ${b[0].prob}`);
      }
      else {
        const where = `row ${want.rows[r]}, position ${c}: ${a[0].shown} ${a[0].prob} vs ${b[0].shown} ${b[0].prob}`;
        assert.deepEqual(new Set([a[0].id, a[1].id]), new Set([b[0].id, b[1].id]), where);
        for (const t of a.slice(0, 2)) assert.ok(Math.abs(t.prob - b.slice(0, 2).find((u) => u.id === t.id).prob) < 0.15, where);
      }
    }
  }
  assert.ok(same >= 0.98 * (2 * L + 1) * want.ids.length, `${same} top-1s agree`);
  // layer 30 after attention, at the last position, into the explorer: the pipeline says so.
  const row = 2 * L - 1;
  await page.locator('.lens-canvas').scrollIntoViewIfNeeded();
  const q = await cellCenter(page, row, want.ids.length - 1);
  await page.mouse.click(q.x, q.y);
  await page.waitForFunction((L) => window.unembedPage.mounted.controls.base.startsWith(`layer ${L} after attention, position`), L);
  await page.waitForFunction((L) => new RegExp(`residual of layer ${L} of ${L} after its attention and before its MLP`).test(document.querySelector('.pipeline-line').textContent), L);
  const { h, given } = await page.evaluate(async (r) => ({ h: await window.unembedPage.lens.hidden(r, 4), given: window.unembedPage.mounted.controls.h }), row);
  assert.deepEqual(given, h, 'the explorer holds the mid cell\'s hidden state');
  const view = await page.evaluate(() => window.unembedPage.mounted.view);
  assert.equal(view.top[0].id, want.layers[row][want.ids.length - 1].top[0].id);
  // off again: L + 1 rows.
  await page.uncheck('.lens-mid');
  await page.waitForFunction((n) => { const st = window.unembedPage.lens.state; return !st.busy && !st.mid && st.rows === n + 1 && st.grid?.rows === n + 1; }, L, { timeout: 180000 });
  errors.check();
  await page.close();
});

test('bad prompts: empty, 10,000 characters, special-token text, right-to-left, zero-width, lone surrogates', async () => {
  const { page, errors, downloads } = await openPage();
  // empty: said at once, nothing downloaded for it.
  await page.click('.lens-run');
  await page.waitForSelector('.lens-error:not([hidden])');
  assert.equal(await page.textContent('.lens-error'), 'The prompt is empty: type some text first.');
  assert.deepEqual(downloads, [ENTRY.file]);
  // 10,000 characters: more tokens than the lens holds; the error names the limit.
  await page.fill('.lens-prompt', 'The capital of France is Paris. '.repeat(313).slice(0, 10000));
  await page.click('.lens-run');
  await page.waitForFunction(() => /at most 256 positions/.test(document.querySelector('.lens-error').textContent), null, { timeout: 180000 });
  assert.match(await page.textContent('.lens-error'), /^The prompt is \d+ tokens long; the lens holds at most 256 positions/);
  // special-token text typed by hand is the special token.
  await runPrompt(page, '<|im_start|>user\nHi');
  let s = await lensState(page);
  assert.deepEqual(s.ids, cli('<|im_start|>user\nHi').ids);
  assert.equal(s.tokens[0], '"<|im_start|>"');
  assert.equal(s.ids[0], 1);
  assert.equal(await page.isHidden('.lens-error'), true, 'a good run clears the error');
  // right-to-left and zero-width characters run; they reach the page escaped.
  for (const text of ['שלום עולם', 'abc\u202Edef\u200Bghi', 'a\u200D\u200Cb\uFEFF']) {
    await runPrompt(page, text);
    s = await lensState(page);
    assert.deepEqual(s.ids, cli(text).ids, JSON.stringify(text));
    const shown = await page.textContent('.lens-tokens');
    assert.ok(!/[\u202E\u200B\u200C\u200D\uFEFF]/.test(shown), `escaped: ${shown}`);
  }
  // a lone surrogate cannot cross into wasm as text: it arrives as U+FFFD.
  await runPrompt(page, 'a\uD800b');
  s = await lensState(page);
  assert.deepEqual(s.ids, cli('a\uFFFDb').ids);
  // a new prompt while one runs: the first ends at its next layer, the second is what shows.
  await page.fill('.lens-prompt', LONG);
  await page.click('.lens-run');
  await page.waitForFunction(() => window.unembedPage.lens.state.rows >= 2 && window.unembedPage.lens.state.cols === 16);
  await runPrompt(page, PROMPT);
  s = await lensState(page);
  assert.deepEqual(s.ids, cli(PROMPT).ids);
  assert.equal(s.rows, ENTRY.full.layers + 1);
  assert.match(await page.textContent('.lens-status'), /^5 positions × 31 rows in \d+\.\d s\.$/);
  await page.screenshot({ path: 'target/screenshots/lens-bad-prompts.png' });
  errors.check();
  await page.close();
});

test('timings: Run to the first row on screen, to the whole heatmap (16 tokens), per generated token', async () => {
  const { page, errors } = await openPage();
  const marks = () => page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])));
  assert.equal(cli(LONG).ids.length, 16);
  // the first run includes the download (from this machine), the sha256 and starting the worker.
  await runPrompt(page, LONG);
  const m1 = await marks();
  // the second run: the model is in the worker.
  await page.evaluate(() => performance.clearMarks());
  await runPrompt(page, LONG);
  const m2 = await marks();
  await page.fill('.lens-count', '5');
  await page.click('.lens-generate');
  await page.waitForFunction(() => !window.unembedPage.lens.state.busy && window.unembedPage.lens.state.cols === 21, null, { timeout: 120000 });
  const per = await page.evaluate(() => window.unembedPage.lens.state.times.perToken);
  const ms = (x) => `${Math.round(x)} ms`;
  const t = {
    firstRunFirstRow: m1['unembed:lens-first-row'] - m1['unembed:lens-run'],
    firstRunComplete: m1['unembed:lens-complete'] - m1['unembed:lens-run'],
    firstRow: m2['unembed:lens-first-row'] - m2['unembed:lens-run'],
    complete: m2['unembed:lens-complete'] - m2['unembed:lens-run'],
  };
  console.log(`lens timings (16 tokens, 31 rows): first run (download + sha256 + worker start) first row ${ms(t.firstRunFirstRow)}, whole heatmap ${ms(t.firstRunComplete)}; `
    + `model loaded: first row ${ms(t.firstRow)}, whole heatmap ${ms(t.complete)}; per generated token ${per.map(ms).join(', ')}`);
  // the page stays responsive while the worker runs: a frame is never held for long.
  const longest = await page.evaluate(async () => {
    let worst = 0;
    let last = performance.now();
    const lens = window.unembedPage.lens;
    document.querySelector('.lens-run').click();
    await new Promise((done) => {
      const tick = () => {
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
        if (!lens.state.busy && lens.state.rows === 31 && performance.getEntriesByName('unembed:lens-complete').length) done();
        else requestAnimationFrame(tick);
      };
      performance.clearMarks();
      requestAnimationFrame(tick);
    });
    return worst;
  });
  console.log(`longest frame on the main thread during a run: ${ms(longest)}`);
  assert.ok(longest < 500, `a frame took ${longest} ms`);
  errors.check();
  await page.close();
});

test('a phone: 390 × 844, the heatmap scrolls sideways and nothing overflows the page', async () => {
  const { page, errors } = await openPage(390, 844);
  await runPrompt(page, PROMPT);
  await page.fill('.lens-count', '5');
  await page.click('.lens-generate');
  await page.waitForFunction(() => !window.unembedPage.lens.state.busy && window.unembedPage.lens.state.cols === 10, null, { timeout: 120000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
  await page.locator('.unembed-lens').scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'target/screenshots/lens-390.png' });
  await page.locator('.unembed-lens').screenshot({ path: 'target/screenshots/lens-panel-390.png' });
  errors.check();
  await page.close();
});

test('the element: prompt and views="lens,…" run on sight with one download for every explorer; Vietnamese', async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1366, height: 768 });
  const errors = watchErrors(page);
  const downloads = [];
  page.on('request', (r) => { if (r.url().endsWith('.gguf')) downloads.push(r.url().split('/').pop()); });
  await page.goto(`${srv.url}lens.html`);
  await page.waitForFunction(() => { const e = document.querySelector('#a'); const l = e.lens; return l && !l.state.busy && l.state.rows === 31 && e.explorer?.controls.h?.length; }, null, { timeout: 180000 });
  await page.waitForSelector('#b .topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  assert.deepEqual(downloads, [ENTRY.full.file], 'the whole model serves the lens and both explorers');
  const want = cli('Hà Nội là thủ đô của');
  const s = await page.evaluate(() => { const st = document.querySelector('#a').lens.state; return { ids: st.ids, top: st.cells[30][st.ids.length - 1].top[0] }; });
  assert.deepEqual(s.ids, want.ids);
  assert.equal(s.top.id, want.next.top[0].id);
  assert.match(await page.textContent('#a .unembed-lens h3'), /^Prompt: logit lens$/);
  assert.match(await page.textContent('#a .lens-status'), /vị trí × 31 hàng trong \d+,\d giây\./);
  await page.waitForFunction(() => /residual sau tầng 30\/30 tại vị trí 17/.test(document.querySelector('#a').shadowRoot.querySelector('.pipeline-line').textContent));
  // the explorer built from the whole file gets its spectrum computed: the sliders come alive.
  await page.waitForFunction(() => !document.querySelector('#b').shadowRoot.querySelector('input[aria-label="độ lệch theo hướng kỳ dị 1"]').disabled, null, { timeout: 120000 });
  // a new prompt attribute runs again.
  await page.evaluate(() => document.querySelector('#a').setAttribute('prompt', 'The capital of France is'));
  await page.waitForFunction(() => { const l = document.querySelector('#a').lens; return !l.state.busy && l.state.cols === 5 && l.state.rows === 31; }, null, { timeout: 120000 });
  // a control attribute leaves the cell's h alone.
  await page.evaluate(() => document.querySelector('#a').setAttribute('temperature', '0.5'));
  await page.waitForFunction(() => /T = 0,5/.test(document.querySelector('#a').shadowRoot.querySelector('.topk-table caption').textContent));
  assert.ok((await page.evaluate(() => document.querySelector('#a').explorer.controls.h.length)) > 0);
  // h is still the cell's, and the pipeline line still says so.
  assert.match(await page.evaluate(() => document.querySelector('#a').shadowRoot.querySelector('.pipeline-line').textContent), /residual sau tầng 30\/30 tại vị trí 4/);
  await page.locator('#a .unembed-lens').screenshot({ path: 'target/screenshots/lens-element-vi.png' });
  errors.check();
  await page.close();
});

test('embed.html#views=lens,…&prompt=…', async () => {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${srv.url}embed.html#views=lens,table&lang=en&prompt=${encodeURIComponent(PROMPT)}`);
  await page.waitForFunction(() => window.unembedLens && !window.unembedLens.state.busy && window.unembedLens.state.rows === 31
    && /layer 30, position 4/.test(document.querySelector('input[aria-label^="hidden state h"]').value), null, { timeout: 180000 });
  assert.equal(await page.locator('canvas[data-chart]').count(), 0);
  assert.match(await page.textContent('.topk-table tbody tr:first-child'), /" Paris"/);
  errors.check();
  await page.close();
});
