// the explorer as the README serves it, in Debian's headless Chromium: it loads the real model,
// shows the same top-10 as `unembed query` for the same state, every slider moves the table and
// the charts, gradient steps raise the target, a copied URL restores the view, bad downloads
// end in a clear error with a working Retry, and nothing is logged as a console error (so
// nothing breaks the server's Content-Security-Policy).
// screenshots go to target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve, launch, watchErrors, siteWith } from './harness.mjs';

const MODEL = 'www/models/smollm2-135m.gguf';
const SHOTS = 'target/screenshots';
let srv, browser;

function cli(...args) {
  return JSON.parse(execFileSync('target/release/unembed', ['query', MODEL, ...args, '--json'], { encoding: 'utf8' }));
}

const tableIds = (page) => page.$$eval('.topk-table tbody tr', (rows) => rows.map((r) => Number(r.cells[2].textContent)));
const tableText = (page) => page.$eval('.topk-table tbody', (t) => t.textContent);
const chartPixels = (page, name) => page.$eval(`canvas[data-chart="${name}"]`, (c) => c.toDataURL());

async function openPage(hash = '') {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  const response = await page.goto(`${srv.url}${hash}`);
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  return { page, errors, response };
}

/** waits until the table differs from `before` (the page redraws on the next frame). */
async function changed(page, before) {
  await page.waitForFunction((b) => document.querySelector('.topk-table tbody')?.textContent !== b, before, { timeout: 10000 });
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

test('first screen: h = v(" Paris"), the same top-10 as the CLI, and the lesson in one sentence', async () => {
  const { page, errors, response } = await openPage();
  // the page runs under the server's Content-Security-Policy: a violation (an inline script or
  // style, eval, another host) is a console error, which errors.check() below fails on.
  assert.match(response.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  assert.equal(response.headers()['x-content-type-options'], 'nosniff');
  assert.equal(await page.inputValue('input[aria-label^="hidden state"]'), ' Paris');
  const byLogit = cli('--token', ' Paris', '--top', '10');
  assert.deepEqual(await tableIds(page), byLogit.top.map((e) => e.id));
  const first = await page.$eval('.topk-table tbody tr', (r) => r.cells[3].textContent);
  assert.equal(first, byLogit.top[0].logit.toFixed(3));
  // own token first by cosine, not by dot product.
  assert.notEqual(byLogit.top[0].text, ' Paris');
  assert.match(await page.textContent('.lesson'), /" Paris" points most directly along h/);
  for (const name of ['topk', 'cosnorm', 'spectrum', 'loss']) {
    assert.ok((await chartPixels(page, name)).length > 5000, `${name} drew something`);
  }
  // hovering a bar or a direction names what is under the cursor.
  await page.locator('canvas[data-chart="topk"]').scrollIntoViewIfNeeded();
  const topk = await page.locator('canvas[data-chart="topk"]').boundingBox();
  await page.mouse.move(topk.x + topk.width * 0.5, topk.y + topk.height * 0.2);
  await page.waitForSelector('.tooltip:not([hidden])');
  assert.match(await page.textContent('.tooltip'), /#\d+ +z = /);
  await page.locator('canvas[data-chart="spectrum"]').scrollIntoViewIfNeeded();
  const sp = await page.locator('canvas[data-chart="spectrum"]').boundingBox();
  await page.mouse.move(sp.x + sp.width * 0.5, sp.y + sp.height * 0.5);
  await page.waitForFunction(() => /direction \d+: σ = /.test(document.querySelector('.tooltip').textContent));
  await page.mouse.move(0, 0);
  await page.screenshot({ path: `${SHOTS}/first-screen.png`, fullPage: true });
  errors.check();
  await page.close();
});

test('a second visit revalidates the model (ETag, 304) instead of downloading it again', async () => {
  const bodies = [];
  for (let visit = 0; visit < 2; visit++) {
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    const sizes = [];
    page.on('requestfinished', (r) => { if (r.url().endsWith('.gguf')) sizes.push(r.sizes()); });
    await page.goto(srv.url);
    await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
    for (let i = 0; i < 100 && !sizes.length; i++) await page.waitForTimeout(50);
    bodies.push((await Promise.all(sizes)).map((s) => s.responseBodySize));
    errors.check();
    await page.close();
  }
  // the first visit may itself revalidate (an earlier test filled the cache); the second must.
  assert.deepEqual(bodies[1], [0], `model bytes sent per visit: ${JSON.stringify(bodies)}`);
});

test('with --isolate the page is cross-origin isolated and works the same', async () => {
  const iso = await serve('www', 'target/release/unembed', 0, ['--isolate']);
  try {
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    await page.goto(iso.url);
    await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    assert.deepEqual(await tableIds(page), cli('--token', ' Paris', '--top', '10').top.map((e) => e.id));
    errors.check();
    await page.close();
  } finally {
    iso.stop();
  }
});

test('an expression and a hashed state match the CLI for the same state', async () => {
  const { page, errors } = await openPage();
  const before = await tableText(page);
  await page.fill('input[aria-label^="hidden state"]', 'king - man + woman');
  await page.press('input[aria-label^="hidden state"]', 'Enter');
  await changed(page, before);
  assert.deepEqual(await tableIds(page), cli('--expr', 'king - man + woman').top.map((e) => e.id));
  // the autocomplete is an ARIA combobox: type, ArrowDown to an option, Enter picks it.
  const h = 'input[aria-label^="hidden state"]';
  await page.fill(h, ' Lond');
  await page.waitForSelector('[role=listbox]:not([hidden]) [role=option]');
  assert.equal(await page.getAttribute(h, 'aria-expanded'), 'true');
  const first = await page.$eval('[role=listbox] [role=option]', (o) => o.dataset.value);
  const shown = await tableText(page);
  await page.press(h, 'ArrowDown');
  assert.match(await page.getAttribute(h, 'aria-activedescendant'), /-0$/);
  await page.press(h, 'Enter');
  assert.equal(await page.inputValue(h), first);
  assert.equal(await page.getAttribute(h, 'aria-expanded'), 'false');
  await changed(page, shown);
  await page.fill(h, ' Par');
  await page.waitForSelector('[role=listbox]:not([hidden])');
  await page.press(h, 'Escape');
  assert.equal(await page.isHidden('[role=listbox]'), true);
  await page.close();
  const state = { base: ' Paris', mix_with: ' London', mix: 0.3, scale: 1.5, noise: 0.02, seed: 3, temperature: 0.7 };
  const hash = `#m=smollm2-135m.gguf&s=${encodeURIComponent(JSON.stringify(state))}`;
  const second = await openPage(hash);
  const want = cli('--token', ' Paris', '--mix-with', ' London', '--mix', '0.3', '--scale', '1.5', '--noise', '0.02', '--seed', '3', '--temperature', '0.7');
  assert.deepEqual(await tableIds(second.page), want.top.map((e) => e.id));
  const p = await second.page.$eval('.topk-table tbody tr', (r) => r.cells[4].textContent);
  const p0 = want.top[0].prob;
  assert.equal(p, p0 >= 1e-3 ? p0.toFixed(4) : p0.toExponential(2));
  errors.check();
  second.errors.check();
  await second.page.close();
});

test('every slider works from the keyboard and moves the table and the charts', async () => {
  const { page, errors } = await openPage('#s=' + encodeURIComponent(JSON.stringify({ base: ' Paris', mix_with: ' London' })));
  const sliders = ['‖h‖ scale', 'mix toward', 'noise σ', 'temperature T', 'offset along singular direction 1', 'offset along singular direction 2'];
  // the singular directions are folded away at first.
  await page.click('.unembed-explorer .more summary');
  for (const label of sliders) {
    const before = await tableText(page);
    const pixels = await chartPixels(page, 'topk');
    const input = page.locator(`input[aria-label="${label}"]`);
    await input.focus();
    for (let i = 0; i < 25; i++) await page.keyboard.press('ArrowRight');
    await changed(page, before).catch((e) => { throw new Error(`${label}: the table did not change (${e.message})`); });
    assert.notEqual(await chartPixels(page, 'topk'), pixels, `${label} redrew the chart`);
  }
  await page.screenshot({ path: `${SHOTS}/sliders.png`, fullPage: true });
  errors.check();
  await page.close();
});

test('a target\'s gradient waits while the sliders move, then shows the CLI\'s ‖∇L‖', async () => {
  const { page, errors } = await openPage();
  await page.fill('input[aria-label="target token for the loss"]', ' London');
  await page.press('input[aria-label="target token for the loss"]', 'Enter');
  await page.locator('input[aria-label="target token for the loss"]').blur();
  // a step leaves the gradient's transposed pass for later: the sentence says so at once …
  const during = await page.evaluate(() => {
    window.unembedPage.mounted.set({ temperature: 0.8 }, { sync: true });
    window.unembedPage.mounted.set({ temperature: 1 }, { sync: true });
    return document.querySelector('.target-info').textContent;
  });
  assert.match(during, /target " London": p = .*‖∇L‖ = …/);
  // … and once the controls rest, the number, as the CLI computes it for the same state.
  await page.waitForFunction(() => /‖∇L‖ = [0-9]/.test(document.querySelector('.target-info').textContent));
  const shown = Number((await page.textContent('.target-info')).match(/‖∇L‖ = ([0-9.]+)/)[1]);
  const want = cli('--token', ' Paris', '--target', ' London').target.gradient.norm;
  assert.ok(Math.abs(shown - want) <= 6e-4, `‖∇L‖ ${shown} on the page, ${want} from the CLI`);
  errors.check();
  await page.close();
});

test('gradient steps toward a target raise its probability; the URL reproduces the state', async () => {
  const { page, errors } = await openPage();
  await page.fill('input[aria-label="target token for the loss"]', ' London');
  await page.press('input[aria-label="target token for the loss"]', 'Enter');
  await page.locator('input[aria-label="target token for the loss"]').blur();
  await page.waitForFunction(() => /target " London": p = /.test(document.querySelector('.target-info')?.textContent ?? ''));
  const pOf = async () => Number((await page.textContent('.target-info')).match(/p = ([0-9.e-]+)/)[1]);
  const p0 = await pOf();
  for (let i = 0; i < 5; i++) {
    const before = await page.textContent('.target-info');
    await page.click('button:text("Step")');
    await page.waitForFunction((b) => document.querySelector('.target-info').textContent !== b, before);
  }
  const p5 = await pOf();
  assert.ok(p5 > p0, `p rose from ${p0} to ${p5}`);
  assert.match(await page.textContent('.target-info'), /5 steps taken/);
  // hovering the loss chart names the step under the cursor and its loss.
  await page.locator('canvas[data-chart="loss"]').scrollIntoViewIfNeeded();
  const lc = await page.locator('canvas[data-chart="loss"]').boundingBox();
  await page.mouse.move(lc.x + lc.width * 0.3, lc.y + lc.height * 0.5);
  await page.waitForFunction(() => /^step \d: L = \d/.test(document.querySelector('.tooltip:not([hidden])')?.textContent ?? ''));
  await page.mouse.move(0, 0);
  await page.screenshot({ path: `${SHOTS}/gradient-steps.png`, fullPage: true });
  // the URL follows the state (debounced): wait until it has the five steps.
  await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('s')?.includes('"steps":5'));
  const url = page.url();
  const ids = await tableIds(page);
  const again = await openPage(url.slice(url.indexOf('#')));
  // a link's steps beyond the first are replayed in a Worker; the view follows once they land.
  await again.page.waitForFunction(() => window.unembedPage.mounted.controls.steps === 5 && !window.unembedPage.mounted.replaying, null, { timeout: 60000 });
  assert.deepEqual(await tableIds(again.page), ids);
  assert.equal(await again.page.textContent('.target-info'), await page.textContent('.target-info'));
  errors.check();
  again.errors.check();
  await page.close();
  await again.page.close();
});

test('a bad download ends in a clear error and a working Retry', async () => {
  // a copy of the site whose manifest has the wrong sha256.
  const site = siteWith([{ name: 'SmolLM2-135M-Instruct', path: MODEL }]);
  const { manifest } = site;
  const good = manifest.models[0].sha256;
  manifest.models[0].sha256 = '0'.repeat(64);
  site.writeManifest(manifest);
  const bad = await serve(site.dir);
  try {
    const page = await browser.context.newPage();
    await page.goto(bad.url);
    await page.waitForSelector('#retry:not([hidden])', { timeout: 60000 });
    assert.match(await page.textContent('#error'), /sha256 is [0-9a-f]{64}, the manifest says 0{64}/);
    await page.screenshot({ path: `${SHOTS}/bad-sha256.png`, fullPage: true });
    manifest.models[0].sha256 = good;
    site.writeManifest(manifest);
    await page.click('#retry');
    await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
    assert.equal(await page.isHidden('#error'), true);
    await page.close();
  } finally {
    bad.stop();
    site.remove();
  }
});

test('a local GGUF opens by slices; its spectrum is computed by one Worker per core, with progress, while the sliders keep working', async () => {
  const src = execFileSync('bash', ['scripts/fetch-model.sh'], { encoding: 'utf8' }).trim();
  const { page, errors } = await openPage();
  // every value the spectrum's progress bar takes (the attribute reflects the property).
  await page.evaluate(() => {
    window.spectrumSeen = [];
    const bar = document.querySelector('#spectrum-progress');
    new MutationObserver(() => window.spectrumSeen.push(bar.value)).observe(bar, { attributes: true });
  });
  await page.setInputFiles('#file-input', src);
  await page.waitForFunction(() => document.querySelector('#model-select').value.startsWith('local:'), null, { timeout: 60000 });
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)');
  const want = JSON.parse(execFileSync('target/release/unembed', ['query', src, '--token', ' Paris', '--json'], { encoding: 'utf8' }));
  assert.deepEqual(await tableIds(page), want.top.map((e) => e.id));
  // the coefficient sliders wait for the spectrum, which arrives from the Workers; meanwhile
  // another slider moves the table (the main thread is free).
  await page.waitForSelector('#spectrum-status:not([hidden])');
  const workers = Number(await page.getAttribute('#spectrum-status', 'data-workers'));
  const cores = await page.evaluate(() => navigator.hardwareConcurrency || 2);
  assert.equal(workers, Math.min(cores, 8), `${workers} Workers for ${cores} cores`);
  const before = await tableText(page);
  await page.$eval('input[aria-label="noise σ"]', (e) => { e.value = '0.3'; e.dispatchEvent(new Event('input')); });
  await changed(page, before);
  assert.equal(await page.isHidden('#spectrum-status'), false, 'the table answered while the spectrum was still computing');
  assert.equal(await page.isDisabled('input[aria-label="offset along singular direction 1"]'), true);
  await page.waitForFunction(() => !document.querySelector('input[aria-label="offset along singular direction 1"]').disabled, null, { timeout: 120000 });
  assert.equal(await page.isHidden('#spectrum-status'), true);
  const seen = await page.evaluate(() => window.spectrumSeen);
  assert.ok(new Set(seen.map((v) => v.toFixed(2))).size >= 4, `progress values seen: ${seen}`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `progress went back: ${seen}`);
  assert.ok(seen.some((v) => v > 0.9), `the eigen-decomposition's share: ${seen}`);
  // the spectrum the Workers made matches the CLI's σ₁ (to its printed precision).
  const spec = JSON.parse(execFileSync('target/release/unembed', ['spectrum', src, '--json'], { encoding: 'utf8' }));
  const sigma1 = await page.evaluate(() => window.unembedPage.explorer.singularValues(null)[0]);
  assert.ok(Math.abs(sigma1 - spec.singular_values[0]) <= 1e-6 * spec.singular_values[0], `σ₁ ${sigma1} vs ${spec.singular_values[0]}`);
  await page.screenshot({ path: `${SHOTS}/local-gguf.png`, fullPage: true });
  errors.check();
  await page.close();
});

test('local GGUFs whose embedding is Q4_K, Q5_0 or Q6_K open, show the CLI\'s top-10 and say how far the served Q8_0 copy is', async () => {
  // written by tests/oracle/quant_embedding.py (test.sh runs it first), which holds the CLI to
  // gguf-py + numpy on the same files.
  const dir = process.env.QUANT_MODELS || 'target/quant-models';
  const { page, errors } = await openPage();
  for (const name of ['q4_k', 'q5_0', 'q6_k']) {
    const file = resolve(dir, `random-${name}.gguf`);
    await page.setInputFiles('#file-input', file);
    await page.waitForFunction((n) => document.querySelector('#model-select').value === `local:random-${n}.gguf`
      && /Q8_0/.test(document.querySelector('#status').textContent), name, { timeout: 60000 });
    assert.match(await page.textContent('#status'), new RegExp(`stores E as ${name.toUpperCase()}, served here as Q8_0 \\(largest difference 0\\.\\d{3}% of a row's norm, RMS 0\\.\\d{3}%\\)`));
    for (const base of ['#7', '#1234', 't5 - t9']) {
      const want = JSON.parse(execFileSync('target/release/unembed', ['query', file, '--expr', base, '--json'], { encoding: 'utf8' }))
        .top.map((e) => e.id);
      await page.fill('input[aria-label^="hidden state"]', base);
      await page.press('input[aria-label^="hidden state"]', 'Enter');
      await page.waitForFunction((b) => window.unembedPage.mounted.view && window.unembedPage.mounted.controls.base === b, base);
      // the table follows on the next frame.
      await page.waitForFunction((w) => [...document.querySelectorAll('.topk-table tbody tr')]
        .map((r) => Number(r.cells[2].textContent)).join() === w.join(), want, { timeout: 10000 })
        .catch(() => {});
      assert.deepEqual(await tableIds(page), want, `${name} ${base}`);
    }
  }
  await page.screenshot({ path: `${SHOTS}/local-q4k.png`, fullPage: true });
  errors.check();
  await page.close();
});

test('a local GPT-2 style safetensors with its vocab.json opens and shows decoded tokens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unembed-st-'));
  try {
    const vocab = 50257;
    const d = 64;
    const data = new Float32Array(vocab * d);
    let s = 12345;
    for (let i = 0; i < data.length; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      data[i] = (s / 2147483648 - 0.5) * (1 + (i / d) % 3);
    }
    const header = JSON.stringify({ 'wte.weight': { dtype: 'F32', shape: [vocab, d], data_offsets: [0, data.byteLength] } });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([len, Buffer.from(header), Buffer.from(data.buffer)]));
    const { page, errors } = await openPage();
    await page.setInputFiles('#file-input', [join(dir, 'model.safetensors'), resolve('tests/data/gpt2-encoder.json')]);
    await page.waitForFunction(() => /50,257 tokens × d = 64/.test(document.querySelector('#status').textContent), null, { timeout: 60000 });
    await page.waitForSelector('.topk-table tbody tr:nth-child(10)');
    // h = v(" Paris"): by cosine its own token comes first (id 6342 in GPT-2).
    const cosTop = await page.evaluate(() => window.unembedPage.mounted.view.by_cosine[0]);
    assert.equal(cosTop.id, 6342);
    assert.equal(cosTop.text, ' Paris');
    errors.check();
    await page.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the full page in Vietnamese with #lang=vi', async () => {
  const { page, errors } = await openPage('#lang=vi');
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  assert.equal(await page.textContent('#model-label'), 'Mô hình');
  assert.match(await page.textContent('#status'), /49\.152 token × d = 576/);
  assert.match(await page.textContent('.topk-table caption'), /token có logit cao nhất/);
  assert.match(await page.textContent('.lesson'), /cùng hướng với h nhất/);
  // the language stays in the URL the page writes.
  await page.fill('input[aria-label^="trạng thái ẩn"]', ' king');
  await page.press('input[aria-label^="trạng thái ẩn"]', 'Enter');
  await page.waitForFunction(() => /lang=vi/.test(location.hash) && /king/.test(decodeURIComponent(location.hash)));
  errors.check();
  await page.close();
});
