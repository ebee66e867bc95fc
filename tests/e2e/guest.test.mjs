// the widget as a guest in someone else's page (plain HTML, as the README's snippet puts it):
// the host's body, headings, paragraphs, inputs and buttons compute the same styles with and
// without the widget; the widget follows the host's theme (prefers-color-scheme, MkDocs
// Material's data-md-color-scheme="slate", Docusaurus/pydata's html[data-theme=dark], its own
// theme attribute) in its CSS and its charts; every text in it has 4.5:1 contrast; nothing
// overflows sideways at 1366 or 390 px; no console errors. screenshots of each case go to
// target/screenshots/guest-*.png (SHOTS overrides the folder).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { serve, launch, watchErrors, copySite, lowContrast } from './harness.mjs';

const SHOTS = process.env.SHOTS ?? 'target/screenshots';
let dir, srv, browser;

// a host with opinions of its own, as a course theme has.
const HOST_CSS = `body { font: 17px/1.6 Georgia, serif; margin: 0; padding: 1rem 1.5rem; color: #222; background: #fdfdf8; }
h1 { font-size: 2.4rem; margin: .4rem 0; } h2 { font-size: 1.5rem; color: #333; }
input, button { font: 14px monospace; padding: 6px 10px; border: 2px solid #888; border-radius: 0; }
html[data-theme=dark] body, body[data-md-color-scheme=slate] { color: #ddd; background: #1b1d23; }
html[data-theme=dark] h2, body[data-md-color-scheme=slate] h2 { color: #eee; }
@media (prefers-color-scheme: dark) { body.auto { color: #ddd; background: #1b1d23; } }`;

function hostPage({ widget, htmlAttrs = '', bodyAttrs = '', theme = null }) {
  return `<!doctype html><html lang="en"${htmlAttrs}><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<link rel="stylesheet" href="host.css">
${widget ? '<link rel="stylesheet" href="style.css"><script type="module" src="unembed-explorer.js"></script>' : ''}
</head><body${bodyAttrs}><main><h1>A lesson</h1><h2>Section</h2><p>Some prose of the host.</p>
<p><input type="text" value="host input"> <button type="button">host button</button></p>
${widget ? `<unembed-explorer token=" Paris" views="topk,cosnorm,table"${theme ? ` theme="${theme}"` : ''}></unembed-explorer>` : ''}
<h2>After</h2><p>More prose.</p></main></body></html>`;
}

// each case: the host's markup and the theme the widget must show.
const CASES = [
  { name: 'plain', want: 'light' },
  { name: 'prefers-dark', media: 'dark', bodyAttrs: ' class="auto"', want: 'dark' },
  { name: 'material-slate', bodyAttrs: ' data-md-color-scheme="slate"', want: 'dark' },
  { name: 'material-default', media: 'dark', bodyAttrs: ' data-md-color-scheme="default"', want: 'light' },
  { name: 'docusaurus-dark', htmlAttrs: ' data-theme="dark"', want: 'dark' },
  { name: 'attribute-dark', theme: 'dark', want: 'dark' },
  { name: 'attribute-light', media: 'dark', bodyAttrs: ' class="auto"', theme: 'light', want: 'light' },
];

before(async () => {
  // the site without its models, then the models hard-linked in (the server serves nothing
  // that resolves outside its folder, and a copy would be 130 MB).
  dir = copySite('unembed-guest-', ['models']);
  mkdirSync(join(dir, 'models'));
  for (const f of readdirSync('www/models')) linkSync(join('www/models', f), join(dir, 'models', f));
  writeFileSync(join(dir, 'host.css'), HOST_CSS); // a file: the server's CSP allows no inline style
  for (const c of CASES) {
    writeFileSync(join(dir, `${c.name}-with.html`), hostPage({ ...c, widget: true }));
    writeFileSync(join(dir, `${c.name}-without.html`), hostPage({ ...c, widget: false }));
  }
  srv = await serve(dir);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** the computed styles a reader would notice, of the host's own elements. */
const hostStyles = (page) => page.evaluate(() => {
  const props = ['font-family', 'font-size', 'font-weight', 'line-height', 'color', 'background-color', 'margin-top', 'margin-bottom', 'padding-top', 'padding-left', 'border-top-width', 'border-top-color', 'border-radius', 'max-width', 'cursor'];
  const pick = (sel) => [...document.querySelectorAll(sel)].filter((e) => !e.closest('unembed-explorer'))
    .map((e) => Object.fromEntries(props.map((p) => [p, getComputedStyle(e).getPropertyValue(p)])));
  return { html: pick('html'), body: pick('body'), main: pick('main'), h1: pick('h1'), h2: pick('h2'), p: pick('p'), input: pick('input'), button: pick('button') };
});

// what the model really puts first for h = v(" Paris"), from the CLI on the same file.
const expectedTop = JSON.parse(execFileSync('target/release/unembed', ['query', 'www/models/smollm2-135m.gguf', '--token', ' Paris', '--top', '1', '--json'])).top[0].id;

for (const c of CASES) {
  for (const [width, height] of [[1366, 768], [390, 844]]) {
    test(`${c.name} at ${width}: the host unchanged, the widget ${c.want}, readable, no overflow`, async () => {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width, height });
      if (c.media) await page.emulateMedia({ colorScheme: c.media });
      const errors = watchErrors(page);
      await page.goto(`${srv.url}${c.name}-without.html`);
      const without = await hostStyles(page);
      await page.goto(`${srv.url}${c.name}-with.html`);
      await page.waitForSelector('unembed-explorer .topk-table tbody tr:nth-child(10)', { timeout: 60000 });
      assert.deepEqual(await hostStyles(page), without, 'the host page looks the same with the widget');
      assert.equal(await page.$eval('unembed-explorer', (w) => w.theme), c.want);
      assert.equal(Number(await page.textContent('unembed-explorer .topk-table tbody tr:first-child td:nth-child(3)')), expectedTop);
      assert.deepEqual(await lowContrast(page), [], 'every text at 4.5:1 or more');
      // the chart's ground is the theme's (drawn by the Rust palette).
      const px = await page.evaluate(() => {
        const cv = document.querySelector('unembed-explorer').shadowRoot.querySelector('canvas[data-chart="topk"]');
        return [...cv.getContext('2d').getImageData(2, 2, 1, 1).data].slice(0, 3);
      });
      assert.deepEqual(px, c.want === 'dark' ? [24, 28, 36] : [255, 255, 255], `chart ground ${px}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `no sideways scroll (${overflow} px)`);
      await page.locator('unembed-explorer').scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/guest-${c.name}-${width}.png` });
      errors.check();
      await page.close();
    });
  }
}

test('the widget follows a theme switch on the host without a reload', async () => {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${srv.url}plain-with.html`);
  await page.waitForSelector('unembed-explorer .topk-table tbody tr:nth-child(10)', { timeout: 60000 });
  assert.equal(await page.$eval('unembed-explorer', (w) => w.theme), 'light');
  await page.evaluate(() => document.documentElement.setAttribute('data-theme', 'dark'));
  await page.waitForFunction(() => document.querySelector('unembed-explorer').theme === 'dark');
  await page.waitForFunction(() => {
    const cv = document.querySelector('unembed-explorer').shadowRoot.querySelector('canvas[data-chart="topk"]');
    return cv.getContext('2d').getImageData(2, 2, 1, 1).data[0] === 24;
  });
  await page.evaluate(() => document.querySelector('unembed-explorer').setAttribute('theme', 'light'));
  await page.waitForFunction(() => document.querySelector('unembed-explorer').theme === 'light');
  errors.check();
  await page.close();
});
