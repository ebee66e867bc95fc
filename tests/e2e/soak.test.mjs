// soak: 2,000 slider steps and 20 model switches in one Chromium page. wasm memory and the JS
// heap's objects (after a forced garbage collection) must end within 10% of their level after
// the first switch: a model that is switched away is freed, and dragging allocates nothing that
// stays. prints the numbers, V8's whole used heap (which includes JIT code) among them. SOAK_STEPS and SOAK_SWITCHES scale it (defaults 2000 and 20).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { serve, launch, watchErrors, siteWith } from './harness.mjs';

const STEPS = Number(process.env.SOAK_STEPS || 2000);
const SWITCHES = Number(process.env.SOAK_SWITCHES || 20);
const HOSTILE = process.env.HOSTILE_DIR || 'target/hostile';
let site, srv, browser;

before(async () => {
  if (!existsSync(join(HOSTILE, 'cases.json'))) execFileSync('python3', ['tests/hostile/make_corpus.py', HOSTILE]);
  // two models of very different sizes: SmolLM2 (tied, 49152 × 576) and a small untied GGUF.
  site = siteWith([{ name: 'SmolLM2', path: 'www/models/smollm2-135m.gguf' }, { name: 'small untied', path: join(HOSTILE, 'ok-untied.gguf') }]);
  srv = await serve(site.dir);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  srv?.stop();
  site?.remove();
});

test(`soak: ${STEPS} slider steps and ${SWITCHES} model switches keep memory flat`, async () => {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  const cdp = await page.context().newCDPSession(page);
  await page.goto(srv.url);
  await page.waitForFunction(() => !!document.querySelector('.topk-table tbody tr'), null, { timeout: 60000 });
  const files = await page.$$eval('#model-select option', (os) => os.map((o) => o.value));

  /** wasm linear memory; V8's used heap; and, from a heap snapshot, the bytes of the JS
   * objects alone (V8's used heap also counts compiled code, which grows as the JIT warms up
   * on hot paths and is not memory the page keeps). all after forced garbage collection. */
  async function memory() {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    const wasm = await page.evaluate(() => window.unembedPage.wasmBytes);
    const chunks = [];
    const onChunk = (e) => chunks.push(e.chunk);
    cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
    const snap = JSON.parse(chunks.join(''));
    const fields = snap.snapshot.meta.node_fields;
    const types = snap.snapshot.meta.node_types[0];
    const [t, size] = [fields.indexOf('type'), fields.indexOf('self_size')];
    let js = 0;
    for (let i = 0; i < snap.nodes.length; i += fields.length) {
      if (!['code', 'native', 'synthetic', 'hidden'].includes(types[snap.nodes[i + t]])) js += snap.nodes[i + size];
    }
    return { used: usedSize, js, wasm };
  }

  /** one slider step: a new value on one of the sliders, then the frame that draws it. */
  async function slide(k) {
    return page.evaluate((k) => new Promise((done) => {
      const sliders = [...document.querySelectorAll('.unembed-explorer input[type=range]:not(:disabled)')];
      const s = sliders[k % sliders.length];
      const span = Number(s.max) - Number(s.min);
      s.value = String(Number(s.min) + span * (((k * 37) % 100) / 100));
      s.dispatchEvent(new Event('input', { bubbles: true }));
      requestAnimationFrame(() => requestAnimationFrame(done));
    }), k);
  }

  async function switchTo(file) {
    await page.selectOption('#model-select', file);
    await page.waitForFunction((f) => document.querySelector('#model-select').value === f
      && window.unembedPage.mounted && /tokens × d = /.test(document.querySelector('#status').textContent)
      && !!document.querySelector('.topk-table tbody tr'), file, { timeout: 60000 });
    // (a predicate that returned the element would keep a handle to it, and with it the whole
    // old explorer: the measurement would find the test's own leak.)
  }

  // the steps are spread over the 21 stretches around the switches, the first on the page's
  // first model; the baseline is taken right after the first switch, so it has seen every
  // slider's code path once (JIT warm-up and the session's caches are not leaks).
  let step = 0;
  let baseline = null;
  const phases = SWITCHES + 1;
  for (let s = 0; s <= SWITCHES; s++) {
    if (s > 0) await switchTo(files[s % files.length]);
    if (s === 1) baseline = await memory();
    if (process.env.SOAK_TRACE && s > 0) {
      const m = await memory();
      console.log(`# switch ${s} to ${files[s % files.length]}: wasm ${(m.wasm / 2 ** 20).toFixed(2)} MiB, JS objects ${(m.js / 2 ** 20).toFixed(2)} MiB, V8 used ${(m.used / 2 ** 20).toFixed(2)} MiB`);
    }
    const until = Math.round((STEPS * (s + 1)) / phases);
    while (step < until) await slide(step++);
  }
  const end = await memory();
  const mib = (b) => (b / 2 ** 20).toFixed(2);
  console.log(`# soak: ${step} slider steps, ${SWITCHES} switches, from just after the first switch to the end:`
    + ` wasm memory ${mib(baseline.wasm)} -> ${mib(end.wasm)} MiB, JS objects ${mib(baseline.js)} -> ${mib(end.js)} MiB,`
    + ` V8 used heap incl. compiled code ${mib(baseline.used)} -> ${mib(end.used)} MiB`);
  assert.equal(step, STEPS);
  assert.ok(end.wasm <= baseline.wasm * 1.1, `wasm memory grew from ${baseline.wasm} to ${end.wasm}`);
  assert.ok(end.js <= baseline.js * 1.1, `JS objects grew from ${baseline.js} to ${end.js}`);
  errors.check();
  await page.close();
});
