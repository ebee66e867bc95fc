// drag and see: at a laptop's 1366 × 768, a desktop's 1920 × 1080, a 700 px course column and a
// 390 × 844 phone, a slider dragged with real mouse (or touch) input moves the top-k chart and
// the table while both are on screen, the slider stays in reach when the views scroll under it,
// and the page never scrolls sideways. compact widgets show only the controls they are given.
// screenshots go to target/screenshots/layout/ (SHOTS_DIR overrides).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { serve, launch, watchErrors, copySite } from './harness.mjs';

const SHOTS = process.env.SHOTS_DIR || 'target/screenshots/layout';
const SIZES = [
  { name: 'laptop', width: 1366, height: 768 },
  { name: 'desktop', width: 1920, height: 1080 },
  { name: 'course', width: 700, height: 900 },
  { name: 'phone', width: 390, height: 844, touch: true },
];
let dir, srv;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = copySite('unembed-layout-');
  // a course-like page: the element in a 700 px column with text around it.
  const page = (body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="style.css"><link rel="icon" href="data:,">
<script type="module" src="unembed-explorer.js"></script></head><body><main>${body}</main></body></html>`;
  writeFileSync(join(dir, 'column.html'), page(`<h1>lesson</h1><p>${'text '.repeat(200)}</p>
<unembed-explorer id="w" token=" Paris"></unembed-explorer><p>${'text '.repeat(400)}</p>`));
  writeFileSync(join(dir, 'compact.html'), page(`
<unembed-explorer id="t" token=" Paris" views="topk" controls="temperature"></unembed-explorer>
<unembed-explorer id="two" token=" Paris" views="topk,table" controls="temperature,scale"></unembed-explorer>
<unembed-explorer id="none" token=" Paris" views="table" controls=""></unembed-explorer>
<unembed-explorer id="dflt" token=" Paris" views="cosnorm"></unembed-explorer>`));
  srv = await serve(dir);
});

after(() => {
  srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** whether the element matching `sel` (the first) lies wholly inside the viewport; with
 * `rows`, only its height and its left edge (a table row may run on past the right edge of
 * the table's own scrolling box). */
const inView = (page, sel, rows = false) => page.$eval(sel, (e, rows) => {
  const r = e.getBoundingClientRect();
  return r.top >= -1 && r.left >= -1 && r.bottom <= innerHeight + 1 && (rows ? r.left < innerWidth : r.right <= innerWidth + 1) && r.height > 0;
}, rows);
const tableText = (page, scope) => page.$eval(`${scope} .topk-table tbody`, (t) => t.textContent);
const pixels = (page, scope) => page.$eval(`${scope} canvas[data-chart="topk"]`, (c) => c.toDataURL());

/** the page never scrolls sideways: nothing is wider than the viewport, and a sideways
 * scroll does not move it. */
async function noSideways(page, what) {
  const r = await page.evaluate(() => {
    const before = scrollY;
    scrollTo(200, scrollY);
    const x = scrollX;
    scrollTo(0, before);
    return { x, sw: document.documentElement.scrollWidth, w: innerWidth };
  });
  assert.equal(r.x, 0, `${what}: the page scrolled sideways (scrollWidth ${r.sw} > ${r.w})`);
}

/** drags the range input `sel` from its value's place to `to` (0..1 of its track) with real
 * mouse input, or touch input through the browser's input pipeline; `during()` runs while the
 * pointer is still down. */
async function drag(page, sel, to, { touch = false, during = async () => {} } = {}) {
  const box = await page.locator(sel).boundingBox();
  const from = await page.$eval(sel, (e) => (Number(e.value) - Number(e.min)) / (Number(e.max) - Number(e.min)));
  // the thumb's centre: the track is inset by half a thumb (≈ 8 px) at each end.
  const xAt = (f) => box.x + 8 + f * (box.width - 16);
  const y = box.y + box.height / 2;
  const steps = 12;
  if (!touch) {
    await page.mouse.move(xAt(from), y);
    await page.mouse.down();
    for (let i = 1; i <= steps; i++) {
      await page.mouse.move(xAt(from + ((to - from) * i) / steps), y);
      await page.waitForTimeout(16);
    }
    await during();
    await page.mouse.up();
    return;
  }
  const cdp = await page.context().newCDPSession(page);
  const point = (x) => [{ x, y, radiusX: 4, radiusY: 4, force: 1, id: 1 }];
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: point(xAt(from)) });
  for (let i = 1; i <= steps; i++) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: point(xAt(from + ((to - from) * i) / steps)) });
    await page.waitForTimeout(16);
  }
  await during();
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

for (const size of SIZES) {
  test(`full page at ${size.width} × ${size.height}: drag ‖h‖ and watch the top-k chart and the table move`, async () => {
    const browser = await launch({ viewport: { width: size.width, height: size.height }, ...(size.touch ? { hasTouch: true, isMobile: true } : {}) });
    try {
      const page = await browser.context.newPage();
      const errors = watchErrors(page);
      await page.goto(srv.url);
      await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
      await noSideways(page, 'first screen');
      await page.screenshot({ path: `${SHOTS}/${size.name}-open.png` });
      // the reader scrolls down to the explorer: its controls and views start at the top.
      await page.$eval('#explorer .layout', (e) => e.scrollIntoView({ block: 'start' }));
      const slider = 'input[aria-label="‖h‖ scale"]';
      assert.ok(await inView(page, slider), 'the ‖h‖ slider is on screen');
      const table = await tableText(page, '#explorer');
      const chart = await pixels(page, '#explorer');
      await drag(page, slider, 0.7, {
        touch: size.touch,
        during: async () => {
          // while the pointer is down: the chart and the table are on screen and have moved.
          await page.waitForFunction((b) => document.querySelector('#explorer .topk-table tbody').textContent !== b, table, { timeout: 5000 });
          assert.ok(await inView(page, '#explorer canvas[data-chart="topk"]'), 'the top-k chart is wholly on screen');
          for (const row of [1, 5]) assert.ok(await inView(page, `#explorer .topk-table tbody tr:nth-child(${row})`, true), `table row ${row} is on screen`);
          assert.ok(await inView(page, slider), 'the slider is still on screen');
          await page.screenshot({ path: `${SHOTS}/${size.name}-drag.png` });
        },
      });
      const scale = await page.evaluate(() => window.unembedPage.mounted.controls.scale);
      assert.ok(scale > 2, `the drag moved ‖h‖ scale to ${scale}`);
      assert.notEqual(await pixels(page, '#explorer'), chart, 'the top-k chart was redrawn');
      // the views scroll under the controls: the slider stays in reach further down.
      await page.$eval('#explorer canvas[data-chart="cosnorm"]', (e) => e.scrollIntoView({ block: 'start' }));
      assert.ok(await inView(page, slider), 'the slider stays on screen (sticky) beside the scatter');
      await page.screenshot({ path: `${SHOTS}/${size.name}-scrolled.png` });
      await noSideways(page, 'after the drag');
      // the folded controls: closed at first, their state in the URL.
      assert.equal(await page.$eval('#explorer details.more', (d) => d.open), false);
      await page.click('#explorer details.more summary');
      const dir1 = 'input[aria-label="offset along singular direction 1"]';
      await page.focus(dir1);
      for (let i = 0; i < 20; i++) await page.keyboard.press('ArrowRight');
      await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('s')?.includes('"coeffs":[0.2'));
      await noSideways(page, 'with the fold open');
      errors.check();
      await page.close();
    } finally {
      await browser.close();
    }
  });
}

for (const size of [SIZES[2], SIZES[3]]) {
  test(`an element in a course column at ${size.width} px: pinned controls, nothing sideways`, async () => {
    const browser = await launch({ viewport: { width: size.width, height: size.height }, ...(size.touch ? { hasTouch: true, isMobile: true } : {}) });
    try {
      const page = await browser.context.newPage();
      const errors = watchErrors(page);
      await page.goto(`${srv.url}column.html`);
      await page.$eval('#w', (e) => e.scrollIntoView({ block: 'start' }));
      await page.waitForSelector('#w .topk-table tbody tr:nth-child(10)', { timeout: 60000 });
      await page.$eval('#w .layout', (e) => e.scrollIntoView({ block: 'start' }));
      const width = await page.$eval('#w', (e) => e.scrollWidth - e.clientWidth);
      assert.equal(width, 0, 'the element does not overflow its column');
      const slider = '#w input[aria-label="temperature T"]';
      const table = await tableText(page, '#w');
      await drag(page, slider, 0.1, {
        touch: size.touch,
        during: async () => {
          await page.waitForFunction((b) => document.querySelector('#w').shadowRoot.querySelector('.topk-table tbody').textContent !== b, table, { timeout: 5000 });
          assert.ok(await inView(page, '#w canvas[data-chart="topk"]'), 'the top-k chart is wholly on screen');
          assert.ok(await inView(page, '#w .topk-table tbody tr:nth-child(3)', true), 'the table is on screen');
        },
      });
      await page.screenshot({ path: `${SHOTS}/${size.name}-element.png` });
      await noSideways(page, 'course column');
      errors.check();
      await page.close();
    } finally {
      await browser.close();
    }
  });
}

test('compact widgets: controls="…" shows only those, "" none; the default is what the views need', async () => {
  const browser = await launch({ viewport: { width: 700, height: 900 } });
  try {
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${srv.url}compact.html`);
    for (const id of ['t', 'two', 'none', 'dflt']) {
      await page.$eval(`#${id}`, (e) => e.scrollIntoView());
      await page.waitForSelector(`#${id} .layout`, { timeout: 60000 });
    }
    const ranges = (id) => page.$$eval(`#${id} input[type=range]`, (l) => l.map((e) => e.getAttribute('aria-label')));
    assert.deepEqual(await ranges('t'), ['temperature T']);
    assert.deepEqual(await ranges('two'), ['‖h‖ scale', 'temperature T']);
    assert.deepEqual(await ranges('none'), []);
    assert.equal(await page.locator('#none input').count(), 0);
    assert.equal(await page.locator('#none .topk-table tbody tr').count(), 10);
    // the scatter needs h's token and its length, mix and noise; not temperature nor a target.
    assert.deepEqual((await ranges('dflt')).slice(0, 3), ['‖h‖ scale', 'mix toward', 'noise σ']);
    assert.equal(await page.locator('#dflt input[aria-label="temperature T"]').count(), 0);
    assert.equal(await page.locator('#dflt input[aria-label="target token for the loss"]').count(), 0);
    const h = await page.$eval('#t', (e) => e.getBoundingClientRect().height);
    const w = await page.$eval('#t', (e) => e.getBoundingClientRect().width);
    console.log(`views="topk" controls="temperature" at ${w} px wide: ${h} px tall`);
    assert.ok(h <= 470, `the compact widget is ${h} px tall`);
    // it still works: its one slider moves its chart.
    const before = await pixels(page, '#t');
    await page.$eval('#t', (e) => e.scrollIntoView());
    await drag(page, '#t input[type=range]', 0.1);
    await page.waitForFunction((b) => document.querySelector('#t').shadowRoot.querySelector('canvas').toDataURL() !== b, before);
    await page.locator('#t').screenshot({ path: `${SHOTS}/compact-topk-temperature.png` });
    // the attribute is live.
    await page.evaluate(() => document.querySelector('#none').setAttribute('controls', 'scale'));
    await page.waitForFunction(() => document.querySelector('#none').shadowRoot.querySelectorAll('input[type=range]').length === 1);
    // embed.html takes the same in its hash.
    const embed = await browser.context.newPage();
    const embedErrors = watchErrors(embed);
    await embed.goto(`${srv.url}embed.html#views=topk,table&controls=temperature`);
    await embed.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
    assert.deepEqual(await embed.$$eval('input[type=range]', (l) => l.map((e) => e.getAttribute('aria-label'))), ['temperature T']);
    // a new hash with other views or controls makes embed.html start again by itself; a
    // fresh navigation keeps the test from racing that reload.
    await embed.goto('about:blank');
    await embed.goto(`${srv.url}embed.html#views=table&controls=`);
    await embed.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 60000 });
    assert.equal(await embed.locator('input').count(), 0);
    embedErrors.check();
    errors.check();
  } finally {
    await browser.close();
  }
});
