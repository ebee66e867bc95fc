// hostile links in Debian's headless Chromium (issue 15): a link's state is untrusted text,
// read by the core field by field.
// - each link of the security review (huge numbers, NaN, unknown tokens, 10,000-deep and
//   300 KB JSON, bad lang tags, 1,000 gradient steps) leaves a working explorer: each bad
//   value is named in the page's language with the value used instead, the rest of the link
//   is kept, and the sliders still move the table;
// - a link's gradient steps run in a Worker with a progress bar and Cancel, the sliders answer
//   meanwhile, and the steps that land are those the main thread would have taken (for a
//   downloaded model and for a local file read by ranges);
// - LINKS_N generated links (seeded by LINKS_SEED, default 200 and 1), opened one after
//   another in the same page, each leave a view and no page error;
// - embed.html and <unembed-explorer> report a bad hash or bad attributes the same way;
// throughout, no main-thread task longer than 200 ms once the explorer is up
// (PerformanceObserver 'longtask').
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve, launch, watchErrors, copySite } from './harness.mjs';

// tests must not depend on timing: the longest main-thread task is printed, and held to a bound
// only when LONG_TASK_MS is set (the is 200, on a quiet machine).
const LONG_TASK_MS = process.env.LONG_TASK_MS ? Number(process.env.LONG_TASK_MS) : Infinity;
let srv, browser;

before(async () => {
  srv = await serve('www');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  srv?.stop();
});

const s = (state) => `s=${encodeURIComponent(typeof state === 'string' ? state : JSON.stringify(state))}`;
const deep = (n, leaf) => '['.repeat(n) + leaf + ']'.repeat(n);

/** a page that records its long tasks from the first script on: window.__tasks holds
 * [start, duration] pairs. */
async function newPage() {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  await page.addInitScript(() => {
    window.__tasks = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__tasks.push([e.startTime, e.duration]); })
      .observe({ type: 'longtask', buffered: true });
  });
  return { page, errors };
}

/** the explorer is up and done with its load (a replay may still run). */
const settled = (page, sel = '.unembed-explorer') => page.waitForFunction((q) => {
  const r = document.querySelector(q);
  return r && (r.shadowRoot ?? r).querySelector('.topk-table caption')?.textContent && (!r.dataset.busy || r.dataset.busy === 'replaying');
}, sel, { timeout: 60000, polling: 100 });

const now = (page) => page.evaluate(() => performance.now());
const longest = async (page, since) => Math.max(0, ...(await page.evaluate(() => window.__tasks))
  .filter(([t]) => t >= since).map(([, d]) => d));
const problems = async (page, sel = '.unembed-explorer') => {
  const e = page.locator(`${sel} .error`);
  return (await e.isHidden()) ? [] : (await e.textContent()).split('\n');
};

/** what no problem may say: a leak of JS or wasm internals. */
const INTERNALS = /undefined|panicked|unreachable|RuntimeError|\[object|NaN is|null is/;

/** moves the temperature slider and waits for the view to follow. */
async function moveTemperature(page, label, sel = '.unembed-explorer') {
  const caption = await page.textContent(`${sel} .topk-table caption`);
  const input = page.locator(`${sel} input[aria-label="${label}"]`);
  await input.focus();
  for (let i = 0; i < 20; i++) await page.keyboard.press('ArrowLeft');
  await page.waitForFunction(([q, c]) => { const r = document.querySelector(q); return (r.shadowRoot ?? r).querySelector('.topk-table caption').textContent !== c; }, [sel, caption], { timeout: 10000 });
}

/** fields kept from the link, and its problems: one per bad field, each naming its key. */
const CASES = [
  {
    name: 'huge numbers',
    hash: s('{"base":" king","scale":1e999,"temperature":1e309,"top":1e30,"seed":1e300,"noise":-1e999}'),
    expect: [/^scale: 1e999 is too large.*; using 1$/, /^temperature: 1e309 is too large.*; using 1$/, /^top: .*; using 10$/, /^seed: .*; using 1$/, /^noise: .*; using 0$/],
    kept: { base: ' king' },
  },
  {
    name: 'NaN and other non-numbers',
    hash: s({ base: ' queen', temperature: 'NaN', mix: 'Infinity', lr: 'abc', top: 2.5, coeffs: [1, 'NaN'] }),
    expect: [/^temperature: "NaN" is not a number; using 1$/, /^mix: "Infinity"/, /^lr: "abc" is not a number; using 0\.5$/, /^top: 2\.5 is not a whole number/, /^coeffs/],
    kept: { base: ' queen' },
  },
  {
    name: 'a bare NaN (not JSON)',
    hash: s('{"temperature":NaN}'),
    expect: [/not a JSON object/],
  },
  {
    name: 'unknown tokens',
    hash: s({ base: 'zzqqxx_nope', target: '#99999999', mix_with: '#-1', temperature: 0.5 }),
    expect: [/^base: .*"zzqqxx_nope".*; using " Paris"$/, /^target: .*99999999/, /^mix_with: .*#-1/],
    kept: { temperature: 0.5 },
  },
  {
    name: '10,000-deep values',
    hash: s(`{"base":${deep(10000, '1')},"coeffs":${deep(10000, '1')},"h":${deep(10000, '1')},"temperature":0.7}`),
    expect: [/^base: expected text, got a list nested 10000 deep/, /^coeffs\[0\]: expected a number, got a list nested 9999 deep/, /^h\[0\]: .*9999 deep/],
    kept: { temperature: 0.7 },
  },
  {
    name: 'a 300 KB state',
    hash: s({ base: 'a'.repeat(300000) }),
    expect: [/the state is \d+ bytes, more than the 262144 read/],
  },
  {
    name: 'a 5000-character token',
    hash: s({ base: 'x'.repeat(5000), target: ' London' }),
    expect: [/^base: 5000 characters, at most 1000/],
    kept: { target: ' London' },
  },
  {
    name: 'Vietnamese problems',
    hash: `lang=vi&${s({ top: 'abc', temperature: -1, base: ' Paris', mix_with: 'zzqqxx' })}`,
    expect: [/^top: "abc" không phải là một số; dùng 10$/, /^temperature: .*dùng 1$/, /^mix_with: .*dùng/],
    label: 'nhiệt độ T',
  },
  ...['en_US', 'vi_VN', 'x', '%00', 'ü'.repeat(300)].map((tag) => ({
    name: `lang=${tag.slice(0, 12)}`,
    hash: `lang=${encodeURIComponent(tag)}&${s({ top: -1 })}`,
    expect: [/^top: -1 is out of range/],
  })),
];

test('each hostile link shows its problems, per field, in the page\'s language; the explorer keeps working', async () => {
  for (const c of CASES) {
    const { page, errors } = await newPage();
    await page.goto(`${srv.url}#${c.hash}`);
    await settled(page);
    const up = await now(page);
    const lines = await problems(page);
    assert.equal(lines.length, c.expect.length, `${c.name}: ${JSON.stringify(lines)}`);
    for (const re of c.expect) assert.ok(lines.some((l) => re.test(l)), `${c.name}: no problem matches ${re} in ${JSON.stringify(lines)}`);
    for (const l of lines) assert.doesNotMatch(l, INTERNALS, `${c.name}: ${l}`);
    const controls = await page.evaluate(() => window.unembedPage.mounted.controls);
    for (const [k, v] of Object.entries(c.kept ?? {})) assert.deepEqual(controls[k], v, `${c.name}: ${k} was kept`);
    const label = c.label ?? 'temperature T';
    assert.equal(await page.evaluate(() => document.documentElement.lang), c.label ? 'vi' : 'en', c.name);
    // the rows the state asks for (the fallback's 10 when top was bad).
    assert.equal(await page.locator('.topk-table tbody tr').count(), controls.top, c.name);
    // the reader moves on: the slider answers, the link's problems go.
    await moveTemperature(page, label);
    assert.deepEqual(await problems(page), [], `${c.name}: the link's problems stay after a slider move`);
    assert.doesNotMatch(await page.evaluate(() => document.body.innerText), /NaN/, c.name);
    const t = await longest(page, up);
    assert.ok(t <= LONG_TASK_MS, `${c.name}: a ${t} ms task after the explorer was up`);
    console.log(`# ${c.name}: ${lines.length} problem(s); longest task after up ${t.toFixed(0)} ms, over the whole load ${(await longest(page, 0)).toFixed(0)} ms`);
    errors.check();
    await page.close();
  }
});

test('a link\'s 1,000 gradient steps run in a Worker: progress, sliders meanwhile, Cancel; 30 steps land as if taken here', async () => {
  const { page, errors } = await newPage();
  await page.goto(`${srv.url}#${s({ target: ' London', steps: 1000 })}`);
  await settled(page);
  const up = await now(page);
  await page.waitForSelector('.replay:not([hidden])');
  await page.waitForFunction(() => document.querySelector('.replay progress').value > 0, null, { timeout: 60000 });
  assert.match(await page.textContent('.replay'), /replaying the link's gradient steps: \d+ of 1000/);
  assert.equal(await page.isDisabled('button:text("Step")'), true, 'no Step while the link\'s steps are replayed');
  // the main thread answers while the Worker works.
  await moveTemperature(page, 'temperature T');
  assert.equal(await page.isVisible('.replay'), true, 'the replay goes on after a slider move');
  await page.click('.replay button');
  await page.waitForSelector('.replay', { state: 'hidden' });
  assert.deepEqual(await problems(page), ['The link\'s gradient steps were cancelled; h is as before them.']);
  let c = await page.evaluate(() => window.unembedPage.mounted.controls);
  assert.equal(c.steps, 0);
  assert.equal(await page.isDisabled('button:text("Step")'), false);
  // a new link in the same tab: its 30 steps land, and the URL keeps them.
  await page.evaluate((h) => { location.hash = h; }, `#${s({ target: ' London', steps: 30, temperature: 0.8 })}`);
  await page.waitForFunction(() => window.unembedPage.mounted.controls.steps === 30 && !window.unembedPage.mounted.replaying, null, { timeout: 120000, polling: 100 });
  assert.match(await page.textContent('.target-info'), /30 steps taken/);
  await page.waitForFunction(() => /%22steps%22%3A30/.test(location.hash));
  const replayed = await page.evaluate(() => window.unembedPage.mounted.view.target);
  const t = await longest(page, up);
  console.log(`# 1000 steps: longest task after up ${t.toFixed(0)} ms`);
  assert.ok(t <= LONG_TASK_MS, `a ${t} ms task while the steps were replayed`);
  // the same 30 steps taken one by one on the main thread.
  await page.evaluate(() => {
    const m = window.unembedPage.mounted;
    m.set({ steps: 0, drift: [] }, { sync: true });
    for (let i = 1; i <= 30; i++) m.set({ steps: i }, { sync: true });
  });
  const here = await page.evaluate(() => window.unembedPage.mounted.view.target);
  assert.equal(here.rank, replayed.rank);
  assert.ok(Math.abs(here.loss - replayed.loss) <= 1e-9 * Math.abs(here.loss), `loss ${here.loss} here, ${replayed.loss} replayed`);
  errors.check();
  await page.close();
});

test('a local file\'s link steps are replayed too (the Worker opens it from its ranges)', async () => {
  const { page, errors } = await newPage();
  await page.goto(srv.url);
  await settled(page);
  await page.setInputFiles('#file-input', 'www/models/smollm2-135m.gguf');
  await page.waitForFunction(() => document.querySelector('#model-select').value.startsWith('local:'), null, { timeout: 60000 });
  await settled(page);
  await page.evaluate((t) => { window.unembedPage.mounted.load(t); }, JSON.stringify({ target: ' London', steps: 7 }));
  await page.waitForFunction(() => window.unembedPage.mounted.controls.steps === 7 && !window.unembedPage.mounted.replaying, null, { timeout: 60000 });
  assert.match(await page.textContent('.target-info'), /7 steps taken/);
  assert.deepEqual(await problems(page), []);
  errors.check();
  await page.close();
});

/** mulberry32: a small seeded generator, so a failing link can be opened again. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** one generated `s=` text: known and unknown keys with values from the edges. */
function generate(r) {
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const keys = ['base', 'h', 'mix_with', 'mix', 'scale', 'noise', 'seed', 'coeffs', 'temperature', 'target', 'lr', 'steps', 'top', 'drift', 'zzz', '__proto__', 'constructor'];
  const numbers = ['0', '-0', '1', '-1', '0.5', '1e309', '-1e309', '1e-400', '1e308', '9007199254740993', '123456789012345678901234567890', '2.5', '1E+2', '.5', '3'];
  const texts = ['" Paris"', '" king"', '"#0"', '"#49151"', '"#49152"', '"#-1"', '"king - man + woman"', '"1e309*king"', '"NaN"', '"Infinity"', '"abc"', '""', '"\\u0000"', '"\\ud800"', '"<img src=x onerror=alert(1)>"', `"${'y'.repeat(1200)}"`, '"1e-3 * king"'];
  const value = (depth = 0) => {
    const k = r();
    if (k < 0.35) return pick(numbers);
    if (k < 0.65) return pick(texts);
    if (k < 0.72) return pick(['null', 'true', 'false', '{}', '[]']);
    if (k < 0.8) return deep(1 + Math.floor(r() * 3000), pick(numbers));
    if (k < 0.9 && depth < 2) return `[${Array.from({ length: Math.floor(r() * 12) }, () => value(depth + 1)).join(',')}]`;
    return `{"a":${depth < 2 ? value(depth + 1) : '1'}}`;
  };
  const n = Math.floor(r() * 6);
  let text = `{${Array.from({ length: n }, () => `"${pick(keys)}":${value()}`).join(',')}}`;
  // now and then not JSON at all: cut short, or not an object.
  const k = r();
  if (k < 0.08) text = text.slice(0, Math.floor(r() * text.length));
  else if (k < 0.12) text = pick(['[]', '1', '"x"', 'null', '%', '{{', '\u0000']);
  return text;
}

test('generated links, one after another in one page: a view each, no page error, no long task', async () => {
  const n = Number(process.env.LINKS_N || 200);
  const seed = Number(process.env.LINKS_SEED || 1);
  const r = rng(seed);
  const { page, errors } = await newPage();
  await page.goto(srv.url);
  await settled(page);
  const up = await now(page);
  let shownProblems = 0;
  for (let i = 0; i < n; i++) {
    const text = generate(r);
    const hash = `#m=smollm2-135m.gguf&${s(text)}`;
    const what = `link ${i} (seed ${seed}): ${text.slice(0, 200)}`;
    await page.evaluate((h) => new Promise((done) => {
      if (location.hash === h) { done(); return; }
      window.addEventListener('hashchange', () => done(), { once: true });
      location.hash = h;
    }), hash);
    await settled(page).catch((e) => { throw new Error(`${what}: ${e.message}`); });
    const out = await page.evaluate(() => {
      const m = window.unembedPage.mounted;
      const q = (sel) => document.querySelector(sel)?.textContent ?? '';
      return {
        view: !!m.view,
        error: document.querySelector('.unembed-explorer .error').hidden ? '' : q('.unembed-explorer .error'),
        shown: ['.topk-table', '.cos-table', '.lesson', '.target-info', '.formula'].map(q).join('\n'),
        rows: document.querySelectorAll('.topk-table tbody tr').length,
        top: m.controls.top,
      };
    });
    assert.ok(out.view, `${what}: no view`);
    assert.doesNotMatch(out.error, INTERNALS, `${what}: ${out.error}`);
    assert.doesNotMatch(out.shown, /NaN|undefined/, what);
    assert.equal(out.rows, out.top, `${what}: ${out.rows} rows for top = ${out.top}`);
    if (out.error) shownProblems++;
    assert.deepEqual(errors.errors, [], what);
  }
  // the last state still answers a slider.
  await page.evaluate(() => { location.hash = '#m=smollm2-135m.gguf&s=%7B%7D'; });
  await settled(page);
  await page.waitForFunction(() => !window.unembedPage.mounted.replaying);
  await moveTemperature(page, 'temperature T');
  const t = await longest(page, up);
  console.log(`# ${n} generated links (seed ${seed}): ${shownProblems} with problems shown; longest task ${t.toFixed(0)} ms`);
  assert.ok(t <= LONG_TASK_MS, `a ${t} ms task while the generated links were opened`);
  errors.check();
  await page.close();
});

test('embed.html and <unembed-explorer> report a bad hash or bad attributes per field', async () => {
  const dir = copySite('unembed-links-');
  writeFileSync(join(dir, 'bad.html'), `<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="stylesheet" href="style.css"><link rel="icon" href="data:,">
<script type="module" src="unembed-explorer.js"></script></head><body>
<unembed-explorer id="a" token="zzqqxx" temperature="NaN" top="-3" scale="2" views="topk,table"></unembed-explorer>
</body></html>`);
  const srv2 = await serve(dir);
  try {
    const { page, errors } = await newPage();
    await page.goto(`${srv2.url}embed.html#m=smollm2-135m.gguf&${s('{"top":"x","scale":1e999,"base":" king"}')}&views=topk,table&lang=vi`);
    await settled(page);
    const lines = await problems(page);
    assert.equal(lines.length, 2, JSON.stringify(lines));
    assert.ok(lines.some((l) => /^scale: 1e999 .*dùng 1$/.test(l)), JSON.stringify(lines));
    assert.ok(lines.includes('top: "x" không phải là một số; dùng 10'), JSON.stringify(lines));
    assert.equal(await page.locator('.topk-table tbody tr').count(), 10, 'top falls back to 10');
    await moveTemperature(page, 'nhiệt độ T');
    assert.deepEqual(await problems(page), []);
    errors.check();
    await page.close();
    const el = await newPage();
    await el.page.goto(`${srv2.url}bad.html`);
    await settled(el.page, '#a');
    const said = await problems(el.page, '#a');
    assert.equal(said.length, 3, JSON.stringify(said));
    for (const re of [/^token: .*"zzqqxx"/, /^temperature: "NaN" is not a number; using 1$/, /^top: "-3" is out of range/]) {
      assert.ok(said.some((l) => re.test(l)), `${re} in ${JSON.stringify(said)}`);
    }
    assert.match(await el.page.textContent('#a .topk-table caption'), /scale|‖h‖/);
    assert.equal(await el.page.evaluate(() => document.querySelector('#a').shadowRoot.querySelectorAll('.topk-table tbody tr').length), 10);
    // a bad attribute later: only that one is reported, the others stay.
    await el.page.evaluate(() => document.querySelector('#a').setAttribute('scale', '1e999'));
    await el.page.waitForFunction(() => /^scale: /m.test(document.querySelector('#a').shadowRoot.querySelector('.error').textContent));
    await moveTemperature(el.page, 'temperature T', '#a');
    el.errors.check();
    await el.page.close();
  } finally {
    srv2.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
