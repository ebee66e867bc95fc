// hostile inputs in the page, in Debian's headless Chromium:
// - every case of the hostile corpus (tests/hostile/make_corpus.py) opened with "Open model
//   file…" ends in its own readable error while the model on screen keeps working, and wasm
//   memory stays bounded;
// - a model whose tokens are HTML, scripts, bidi overrides, zero-width and control characters
//   and spreadsheet formulas shows them as inert, visible text in the tables, sentences,
//   tooltips, autocomplete, CSV and status line: no dialog opens and no element is injected;
// - the numbers at the edges (‖h‖ = 0, ‖h‖ = 1e30, h overflowing f32, T = 0, T = 1e6, a zero
//   row of E, an infinite scale in the URL) give defined values and never NaN on screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve, launch, watchErrors, siteWith } from './harness.mjs';

const DIR = process.env.HOSTILE_DIR || 'target/hostile';
const SHOTS = 'target/screenshots';
let srv, browser, cases;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  if (!existsSync(join(DIR, 'cases.json'))) execFileSync('python3', ['tests/hostile/make_corpus.py', DIR]);
  cases = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8'));
  srv = await serve('www');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  srv?.stop();
});

/** a page that records dialogs and any element a token could have injected. */
async function openPage(hash = '', url = srv.url) {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.addInitScript(() => {
    window.__injected = [];
    const bad = (n) => n.nodeType === 1 && (/^(IMG|SCRIPT|SVG|IFRAME|OBJECT|EMBED|svg)$/.test(n.tagName)
      || [...n.attributes].some((a) => /^on/i.test(a.name)));
    // from the end of parsing: the page's own markup is not what we look for.
    document.addEventListener('DOMContentLoaded', () => new MutationObserver((ms) => {
      for (const m of ms) for (const n of m.addedNodes) if (bad(n)) window.__injected.push(n.outerHTML.slice(0, 200));
    }).observe(document, { childList: true, subtree: true }));
  });
  await page.goto(`${url}${hash}`);
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  return { page, errors, dialogs };
}

const INVISIBLE = /[\p{Cc}\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/u;

/** the page's rule, written out independently: quoted, escaped, cut at 48 characters. */
function shown(text) {
  let out = '"';
  let n = 0;
  for (const c of text) {
    if (n++ >= 48) { out += '…'; break; }
    const cp = c.codePointAt(0);
    if (c === '"') out += '\\"';
    else if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (c === '\r') out += '\\r';
    else if (INVISIBLE.test(c)) out += `\\u{${cp.toString(16).toUpperCase().padStart(4, '0')}}`;
    else out += c;
  }
  return `${out}"`;
}

test('every hostile file ends in its own error on the page; the model on screen keeps working', async () => {
  const { page, errors, dialogs } = await openPage();
  const startBytes = await page.evaluate(() => window.unembedPage.wasmBytes);
  const messages = new Map();
  let maxBytes = startBytes;
  for (const c of cases) {
    await page.evaluate(() => {
      document.querySelector('#error').textContent = '';
      document.querySelector('#error').hidden = true;
      document.querySelector('#file-input').value = '';
    });
    const files = [join(DIR, c.file), ...(c.tokenizer ? [join(DIR, c.tokenizer)] : [])];
    await page.setInputFiles('#file-input', files);
    if (c.expect === 'ok') {
      await page.waitForFunction((n) => document.querySelector('#model-select').value === `local:${n}`, c.file, { timeout: 30000 });
      await page.waitForSelector('.topk-table tbody tr');
      assert.equal(await page.isHidden('#error'), true, `${c.name} opened without an error`);
    } else {
      await page.waitForSelector('#error:not([hidden])', { timeout: 30000 });
      const msg = (await page.textContent('#error')).replace(`${c.file}: `, '');
      assert.match(msg, new RegExp(c.expect), `${c.name}: ${msg}`);
      assert.doesNotMatch(msg, /panicked|unreachable|RuntimeError|undefined/, `${c.name}: ${msg}`);
      assert.ok(!messages.has(msg), `${c.name} says the same as ${messages.get(msg)}: ${msg}`);
      messages.set(msg, c.name);
      assert.match(await page.textContent('#status'), /the model on screen is unchanged/);
    }
    maxBytes = Math.max(maxBytes, await page.evaluate(() => window.unembedPage.wasmBytes));
  }
  // the explorer still answers: a new h changes the table.
  const before = await page.textContent('.topk-table tbody');
  await page.fill('input[aria-label^="hidden state"]', '#3');
  await page.press('input[aria-label^="hidden state"]', 'Enter');
  await page.waitForFunction((b) => document.querySelector('.topk-table tbody').textContent !== b, before);
  console.log(`# ${cases.length} hostile files opened; ${messages.size} distinct errors; wasm memory ${(startBytes / 2 ** 20).toFixed(1)} MiB before, at most ${(maxBytes / 2 ** 20).toFixed(1)} MiB`);
  // the bound: a header decodes to at most 2 Mi metadata items (16 B each in wasm32: 32 MiB) and
  // the files are at most 2 MiB; never what a header claims (terabytes, 2^60 tensors).
  assert.ok(maxBytes - startBytes <= 64 * 2 ** 20, `wasm memory grew by ${maxBytes - startBytes} bytes`);
  assert.deepEqual(dialogs, []);
  errors.check();
  await page.close();
});

test('token strings from a hostile vocabulary are inert, visible text everywhere', async () => {
  const site = siteWith([{ name: 'hostile <b>tokens</b>', path: join(DIR, 'ok-hostile-tokens.gguf') }]);
  const srv2 = await serve(site.dir);
  try {
    await hostileTokens(srv2.url);
  } finally {
    srv2.stop();
    site.remove();
  }
});

async function hostileTokens(url) {
  const tokens = JSON.parse(execFileSync('python3', ['-c', `
import json, sys; sys.path.insert(0, 'tests/hostile'); import make_corpus as m
print(json.dumps(m.HOSTILE))`], { encoding: 'utf8' }));
  const n = tokens.length;
  const { page, errors, dialogs } = await openPage(`#s=${encodeURIComponent(JSON.stringify({ base: '#0', top: 20 }))}`, url);
  // all the hostile tokens rank first (they lie along one direction); each row is written as
  // the rule says, by logit and by cosine.
  for (const h of ['#0', '#15', '#7']) {
    await page.fill('input[aria-label^="hidden state"]', h);
    await page.press('input[aria-label^="hidden state"]', 'Enter');
    await page.waitForFunction((id) => window.unembedPage.mounted?.view?.by_cosine?.[0]?.id === id, Number(h.slice(1)));
    const rows = await page.$$eval('.topk-table tbody tr', (rs) => rs.map((r) => [Number(r.cells[2].textContent), r.cells[1].textContent]));
    assert.deepEqual(rows.slice(0, n).map(([id]) => id).sort((a, b) => a - b), [...Array(n).keys()]);
    for (const [id, cell] of rows) {
      if (id < n) assert.equal(cell, shown(tokens[id]), `token ${id} in the table`);
      assert.doesNotMatch(cell, INVISIBLE, `token ${id} has an invisible character in the table`);
    }
    const cosRows = await page.$$eval('.cos-table tbody tr', (rs) => rs.map((r) => r.cells[1].textContent));
    for (const cell of cosRows) assert.doesNotMatch(cell, INVISIBLE);
  }
  for (const sentence of ['.lesson', '.formula', '.target-info', '#status']) {
    assert.doesNotMatch(await page.textContent(sentence), INVISIBLE, `${sentence} shows an invisible character`);
  }
  assert.match(await page.textContent('#status'), /<script>alert\('name'\)<\/script>\\u\{202E\}ledom/);
  // the tooltip over the bars.
  await page.locator('canvas[data-chart="topk"]').scrollIntoViewIfNeeded();
  const box2 = await page.locator('canvas[data-chart="topk"]').boundingBox();
  for (const f of [0.15, 0.3, 0.45, 0.6, 0.75]) {
    await page.mouse.move(box2.x + box2.width * 0.5, box2.y + box2.height * f);
    await page.waitForSelector('.tooltip:not([hidden])');
    const tip = await page.textContent('.tooltip');
    assert.doesNotMatch(tip, INVISIBLE, `tooltip: ${tip}`);
    const id = Number(tip.match(/#(\d+) +z = /)[1]);
    if (id < tokens.length) assert.ok(tip.startsWith(shown(tokens[id])), `tooltip for ${id}: ${tip}`);
  }
  await page.mouse.move(0, 0);
  // autocomplete: a token with invisible characters is offered as #id, with a visible label.
  await page.fill('input[aria-label^="hidden state"]', '\u202e');
  await page.waitForFunction(() => document.querySelectorAll('[role=listbox] [role=option]').length > 0);
  const options = await page.$$eval('[role=listbox] [role=option]', (os) => os.map((o) => [o.dataset.value, o.textContent]));
  assert.deepEqual(options, [['#3', '\\u{202E}evil\\u{202C}.exe  #3']]);
  await page.fill('input[aria-label^="hidden state"]', '<');
  await page.waitForFunction(() => [...document.querySelectorAll('[role=listbox] [role=option]')].some((o) => o.dataset.value.startsWith('<')));
  const lt = await page.$$eval('[role=listbox] [role=option]', (os) => os.map((o) => [o.dataset.value, o.textContent]));
  assert.ok(lt.some(([v]) => v === '<img src=x onerror=alert(1)>'), JSON.stringify(lt));
  for (const [, label] of lt) assert.doesNotMatch(label, INVISIBLE);
  // the CSV export: escaped, formulas defused, no raw control or bidi character.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:text("CSV")')]);
  const csv = readFileSync(await download.path(), 'utf8');
  // (newlines end the CSV's rows; nothing else invisible may be in it.)
  assert.doesNotMatch(csv, /[\x00-\x09\x0B-\x1F\x7F-\x9F\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/u);
  assert.match(csv, /"'=HYPERLINK\(""http:\/\/example\.invalid"",""click""\)"/);
  assert.match(csv, /"'\+cmd\|' \/C calc'!A0"/);
  assert.match(csv, /"'@SUM\(1\+1\)"/);
  assert.match(csv, /"bell\\u\{0007\}esc\\u\{001B\}\[31mred"/);
  assert.match(csv, /"line\\nbreak\\r\\ttab"/);
  // the PNG export works too (its labels come from the same escaping as the charts').
  const [png] = await Promise.all([page.waitForEvent('download'), page.locator('figure.topk button:text("PNG")').click()]);
  assert.match(png.suggestedFilename(), /\.png$/);
  await page.screenshot({ path: `${SHOTS}/hostile-tokens.png`, fullPage: true });
  const injected = await page.evaluate(() => window.__injected);
  assert.deepEqual(injected, [], 'no element was injected');
  assert.deepEqual(dialogs, [], 'no dialog opened');
  errors.check();
  await page.close();
}

/** sets h and waits until the page has drawn it: Enter schedules the render for the next
 * animation frame, so two frames later it has run (whether it showed a view or an error). */
async function showH(page, h) {
  await page.fill('input[aria-label^="hidden state"]', h);
  await page.press('input[aria-label^="hidden state"]', 'Enter');
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
}

const bodyText = (page) => page.evaluate(() => document.body.innerText);

test('numbers at the edges: defined values, never NaN on screen', async () => {
  const { page, errors } = await openPage();
  const view = () => page.evaluate(() => window.unembedPage.mounted.view);
  // ‖h‖ = 0: every logit is 0, the softmax is uniform, cos θ is 0 by definition.
  await showH(page, '0 * king');
  let v = await view();
  assert.equal(v.h_norm, 0);
  assert.ok(v.top.every((r) => r.logit === 0 && r.cos === 0 && Math.abs(r.prob - 1 / 49152) < 1e-12));
  assert.ok(Math.abs(v.entropy - Math.log(49152)) < 1e-9);
  assert.doesNotMatch(await bodyText(page), /NaN/);
  // ‖h‖ = 1e30: the softmax stays finite (p = 1 for the top token).
  await showH(page, '1e30 * king');
  v = await view();
  assert.ok(v.h_norm > 1e30 && v.top[0].prob === 1 && v.entropy === 0);
  assert.match(await page.textContent('.topk-table caption'), /‖h‖ = 2\.252e\+30/);
  assert.doesNotMatch(await bodyText(page), /NaN/);
  // h that overflows f32: an error, and the last good view stays.
  await showH(page, '1e40 * king');
  assert.match(await page.textContent('.unembed-explorer .error'), /h\[\d+\] is inf/);
  assert.doesNotMatch(await bodyText(page), /NaN/);
  await showH(page, ' king');
  assert.equal(await page.isHidden('.unembed-explorer .error'), true);
  // T = 0: argmax, p = 1 and 0; the loss of any other target is ∞.
  await page.fill('input[aria-label="target token for the loss"]', ' queen');
  await page.press('input[aria-label="target token for the loss"]', 'Enter');
  await page.waitForFunction(() => /target " queen"/.test(document.querySelector('.target-info').textContent));
  const t = page.locator('input[aria-label="temperature T"]');
  await t.focus();
  await page.keyboard.press('Home');
  await page.waitForFunction(() => window.unembedPage.mounted.view.temperature === 0);
  v = await view();
  assert.equal(v.top[0].prob, 1);
  assert.equal(v.top[1].prob, 0);
  assert.match(await page.textContent('.target-info'), /loss ∞/);
  // no gradient at T = 0: Step and Play wait for a temperature above 0.
  assert.equal(await page.isDisabled('button:text("Step")'), true);
  assert.equal(await page.isDisabled('button:text("Play")'), true);
  assert.doesNotMatch(await bodyText(page), /NaN/);
  await page.screenshot({ path: `${SHOTS}/temperature-zero.png`, fullPage: true });
  await page.close();
  // T = 1e6 and an infinite scale, from the URL.
  const hot = await openPage(`#s=${encodeURIComponent(JSON.stringify({ base: ' king', temperature: 1e6, target: ' queen' }))}`);
  v = await hot.page.evaluate(() => window.unembedPage.mounted.view);
  assert.ok(Math.abs(v.entropy - Math.log(49152)) < 1e-3, `entropy ${v.entropy}`);
  assert.doesNotMatch(await bodyText(hot.page), /NaN/);
  await hot.page.close();
  const inf = await browser.context.newPage();
  const infErrors = watchErrors(inf);
  await inf.goto(`${srv.url}#s=${encodeURIComponent('{"base":" king","scale":1e400}')}`);
  await inf.waitForSelector('.unembed-explorer .error:not([hidden])', { timeout: 60000 });
  assert.match(await inf.textContent('.unembed-explorer .error'), /scale/);
  assert.doesNotMatch(await bodyText(inf), /NaN/);
  infErrors.check();
  await inf.close();
  errors.check();
});

test('a zero row of E: ‖v‖ = 0 and cos θ = 0, in the tables and the scatter', async () => {
  const { page, errors } = await openPage();
  await page.setInputFiles('#file-input', join(DIR, 'ok-hostile-tokens.gguf'));
  await page.waitForFunction(() => document.querySelector('#model-select').value.startsWith('local:'), null, { timeout: 30000 });
  await showH(page, '#40');
  let v = await page.evaluate(() => window.unembedPage.mounted.view);
  assert.equal(v.h_norm, 0);
  assert.ok(v.top.every((r) => r.logit === 0 && r.cos === 0));
  await page.fill('input[aria-label="target token for the loss"]', '#40');
  await page.press('input[aria-label="target token for the loss"]', 'Enter');
  await showH(page, '#1');
  await page.waitForFunction(() => window.unembedPage.mounted.view.target?.id === 40);
  v = await page.evaluate(() => window.unembedPage.mounted.view);
  assert.equal(v.target.norm, 0);
  assert.equal(v.target.cos, 0);
  assert.ok(Number.isFinite(v.target.loss));
  assert.doesNotMatch(await bodyText(page), /NaN/);
  errors.check();
  await page.close();
});
