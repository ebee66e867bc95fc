// accessibility: axe-core (npm, pinned in package.json) on the full page, the iframe page and
// the custom element in a host page (its shadow root: labels, roles and names must hold
// inside it), in English and Vietnamese, with the folded controls open: no serious or
// critical violation.
// axe's source is evaluated through the DevTools protocol, which the page's
// Content-Security-Policy (script-src 'self') does not govern.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { serve, launch, watchErrors, copySite } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = process.env.SHOTS_DIR || 'target/screenshots/layout';
let srv, browser, site;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // the element in a host page: a copy of the site with the models hard-linked in.
  site = copySite('unembed-a11y-', ['models']);
  mkdirSync(join(site, 'models'));
  for (const f of readdirSync('www/models')) linkSync(join('www/models', f), join(site, 'models', f));
  for (const lang of ['en', 'vi']) {
    writeFileSync(join(site, `element-${lang}.html`), `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>element</title><link rel="icon" href="data:,">
<script type="module" src="unembed-explorer.js"></script></head><body><main><h1>A lesson</h1>
<unembed-explorer token=" Paris" views="topk,cosnorm,spectrum,loss,table" target=" London"></unembed-explorer>
</main></body></html>`);
  }
  srv = await serve(site);
  browser = await launch({ viewport: { width: 1366, height: 768 } });
});

after(async () => {
  await browser?.close();
  srv?.stop();
  if (site) rmSync(site, { recursive: true, force: true });
});

const PAGES = [
  ['the full page in English', ''],
  ['the full page in Vietnamese', '#lang=vi'],
  ['embed.html in English', 'embed.html#views=topk,cosnorm,spectrum,loss,table&lang=en'],
  ['embed.html in Vietnamese', 'embed.html#views=topk,cosnorm,spectrum,loss,table&lang=vi'],
  ['a compact embed', 'embed.html#views=topk&controls=temperature&lang=vi'],
  ['the full page on a phone (390 × 844, pinned controls)', '#lang=vi', { width: 390, height: 844 }],
  ['the custom element in English', 'element-en.html'],
  ['the custom element in Vietnamese', 'element-vi.html'],
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
      await page.screenshot({ path: `${SHOTS}/combobox-${viewport ? 'phone' : 'wide'}-${path.includes('vi') ? 'vi' : 'en'}${path.startsWith('embed') ? '-embed' : path.startsWith('element') ? '-element' : ''}.png` });
    }
    // the page's own errors, before axe runs: axe styles what it inspects inside a shadow
    // root with an inline style, which the server's CSP (style-src 'self') refuses and logs.
    errors.check();
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
    });
    for (const v of violations) console.log(`${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.join(', ')})`);
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad, [], `${name}: ${JSON.stringify(bad, null, 1)}`);
    await page.close();
  });
}
