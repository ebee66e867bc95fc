// accessibility: axe-core (npm, pinned in package.json) on the full page and the iframe page,
// in English and Vietnamese, with the folded controls open: no serious or critical violation.
// axe's source is evaluated through the DevTools protocol, which the page's
// Content-Security-Policy (script-src 'self') does not govern.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { serve, launch, watchErrors } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = process.env.SHOTS_DIR || 'target/screenshots/layout';
let srv, browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  srv = await serve('www');
  browser = await launch({ viewport: { width: 1366, height: 768 } });
});

after(async () => {
  await browser?.close();
  srv?.stop();
});

const PAGES = [
  ['the full page in English', ''],
  ['the full page in Vietnamese', '#lang=vi'],
  ['embed.html in English', 'embed.html#views=topk,cosnorm,spectrum,loss,table&lang=en'],
  ['embed.html in Vietnamese', 'embed.html#views=topk,cosnorm,spectrum,loss,table&lang=vi'],
  ['a compact embed', 'embed.html#views=topk&controls=temperature&lang=vi'],
  ['the full page on a phone (390 × 844, pinned controls)', '#lang=vi', { width: 390, height: 844 }],
];

for (const [name, path, viewport] of PAGES) {
  test(`axe-core: ${name} has no serious or critical violation`, async () => {
    const page = await browser.context.newPage();
    const errors = watchErrors(page);
    if (viewport) await page.setViewportSize(viewport);
    await page.goto(`${srv.url}${path}`);
    await page.waitForSelector('.unembed-explorer canvas[data-chart="topk"]', { timeout: 60000 });
    await page.waitForTimeout(300);
    for (const d of await page.$$('.unembed-explorer details')) await d.evaluate((e) => { e.open = true; });
    // the autocomplete open, an option active.
    const combo = page.locator('.unembed-explorer input[role=combobox]');
    if (await combo.count()) {
      await combo.fill(' Par');
      await combo.press('ArrowDown');
      await page.waitForSelector('[role=listbox]:not([hidden]) [aria-selected=true]');
      await page.screenshot({ path: `${SHOTS}/combobox-${viewport ? 'phone' : 'wide'}-${path.includes('vi') ? 'vi' : 'en'}${path.startsWith('embed') ? '-embed' : ''}.png` });
    }
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
    });
    for (const v of violations) console.log(`${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.join(', ')})`);
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad, [], `${name}: ${JSON.stringify(bad, null, 1)}`);
    errors.check();
    await page.close();
  });
}
