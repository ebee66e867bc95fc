// the README's snippets in sites built by the real generators (scripts/build-sites.sh: Docusaurus
// 3, Jupyter Book 1.x and MkDocs Material, into target/sites or $SITES), as a reader sees them: light and dark
// (the reader's prefers-color-scheme, which both themes follow), 1366 and 390 px wide. on each
// page with a widget: the host's own title, body, paragraphs and navigation compute the same
// styles as on its prose-only twin; the widget shows the host's theme, every text in it at
// 4.5:1, the right top token; nothing overflows sideways; no console error (Docusaurus
// hydrates server-rendered HTML with React: a change to the element's light DOM before that
// is error #418). then: moving to the second page and reloading asks for no model again; the
// MDX iframe grows to the height of the page inside it. screenshots go to
// target/screenshots/site-*.png (SHOTS overrides the folder).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { serve, launch, watchErrors, lowContrast } from './harness.mjs';

const SITES = process.env.SITES ?? 'target/sites';
const SHOTS = process.env.SHOTS ?? 'target/screenshots';
let browser;
const servers = {};
const hostOwn = {};

// each site: where its pages are, and which element holds the page's prose.
// the host's own theme switch: Docusaurus and pydata (Jupyter Book) mark <html data-theme>,
// Material <body data-md-color-scheme> (default or slate).
const htmlTheme = () => document.documentElement.getAttribute('data-theme');
const materialTheme = () => ({ default: 'light', slate: 'dark' })[document.body.getAttribute('data-md-color-scheme')];
const SITE = {
  docusaurus: { widget: '', second: 'second', iframe: 'iframe', prose: 'prose', article: 'article', theme: htmlTheme },
  jupyterbook: { widget: 'widget.html', second: 'second.html', prose: 'prose.html', article: 'main article, article', theme: htmlTheme },
  mkdocs: { widget: '', second: 'second/', prose: 'prose/', article: 'article', theme: materialTheme },
};

// what the model really puts first for h = v(" Paris"), from the CLI on the same file.
const expectedTop = JSON.parse(execFileSync('target/release/unembed', ['query', 'www/models/smollm2-135m.gguf', '--token', ' Paris', '--top', '1', '--json'])).top[0].id;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  for (const name of Object.keys(SITE)) {
    assert.ok(existsSync(`${SITES}/${name}/unembed/unembed-explorer.js`), `${SITES}/${name} is not built (bash scripts/build-sites.sh)`);
    // the host's own server: no policy of ours (Docusaurus and Sphinx inline scripts and styles).
    servers[name] = await serve(`${SITES}/${name}`, 'target/release/unembed', 0, ['--csp', 'off']);
  }
  browser = await launch({ modelCache: true });
  // a reader who never touched a theme switch: Material remembers the palette it last showed
  // (localStorage "…__palette"), which would pin the next test's page to it.
  await browser.context.addInitScript(() => {
    for (const k of Object.keys(localStorage)) if (k.endsWith('__palette')) localStorage.removeItem(k);
  });
  // what each host logs by itself on its prose-only page (Jupyter Book 1.x: sphinx-thebe
  // declares THEBE_JS_URL twice; pydata warns of an empty theme mode).
  for (const name of Object.keys(SITE)) {
    const page = await browser.context.newPage();
    const seen = watchErrors(page);
    await page.goto(servers[name].url + SITE[name].prose, { waitUntil: 'networkidle' });
    hostOwn[name] = new Set(seen.errors);
    await page.close();
  }
});

/** watchErrors, less what the host logs without any widget: the rest is the widget's. */
function widgetErrors(page, name) {
  const w = watchErrors(page);
  return { errors: w.errors, check() { const e = w.errors.filter((x) => !hostOwn[name].has(x)); if (e.length) throw new Error(e.join('\n')); } };
}

after(async () => {
  await browser?.close();
  for (const s of Object.values(servers)) s.stop();
});

/** the computed styles a reader would notice, of the host's own elements (outside widgets). */
const hostStyles = (page, article) => page.evaluate((article) => {
  const props = ['font-family', 'font-size', 'font-weight', 'line-height', 'color', 'background-color', 'margin-top', 'margin-bottom', 'padding-top', 'padding-left', 'max-width'];
  const first = (sel) => {
    const e = document.querySelector(sel);
    return e && Object.fromEntries(props.map((p) => [p, getComputedStyle(e).getPropertyValue(p)]));
  };
  return {
    html: first('html'), body: first('body'), nav: first('nav'),
    h1: first(`:is(${article}) h1`), p: first(`:is(${article}) p`),
  };
}, article);

/** waits for every widget of the page to show its table, and gives each one's first rows' ids. */
async function tables(page) {
  await page.waitForFunction(() => {
    const ws = [...document.querySelectorAll('unembed-explorer')];
    return ws.length && ws.every((w) => w.shadowRoot?.querySelectorAll('.topk-table tbody tr, .cos-table tbody tr').length >= 10);
  }, null, { timeout: 60000 });
  return page.$$eval('unembed-explorer', (ws) => ws.map((w) => Number(w.shadowRoot.querySelector('.topk-table tbody tr td:nth-child(3)')?.textContent)));
}

for (const name of Object.keys(SITE)) {
  const at = SITE[name];
  for (const theme of ['light', 'dark']) {
    for (const [width, height] of [[1366, 768], [390, 844]]) {
      test(`${name}, ${theme}, ${width} px: the host unchanged, the widget ${theme}, readable, no overflow, no console error`, async () => {
        const page = await browser.context.newPage();
        await page.setViewportSize({ width, height });
        await page.emulateMedia({ colorScheme: theme });
        const errors = widgetErrors(page, name);
        const url = servers[name].url;
        await page.goto(url + at.prose);
        const without = await hostStyles(page, at.article);
        assert.ok(without.h1 && without.p, `${name}'s prose page has a title and a paragraph`);
        await page.goto(url + at.widget);
        assert.deepEqual(await tables(page), [expectedTop]);
        assert.equal(await page.evaluate(at.theme), theme, `${name} itself shows ${theme}`);
        assert.deepEqual(await hostStyles(page, at.article), without, 'the host page looks the same with the widget');
        assert.equal(await page.$eval('unembed-explorer', (w) => w.theme), theme);
        assert.deepEqual(await lowContrast(page), [], 'every text at 4.5:1 or more');
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `no sideways scroll (${overflow} px)`);
        await page.locator('unembed-explorer').scrollIntoViewIfNeeded();
        await page.screenshot({ path: `${SHOTS}/site-${name}-${theme}-${width}.png` });
        // a slider still moves the table (the widget is live in the host).
        const before = await page.$eval('unembed-explorer', (w) => w.shadowRoot.querySelector('.topk-table caption').textContent);
        await page.locator('unembed-explorer input[aria-label="temperature T"]').focus();
        for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowLeft');
        await page.waitForFunction((b) => document.querySelector('unembed-explorer').shadowRoot.querySelector('.topk-table caption').textContent !== b, before);
        errors.check();
        await page.close();
      });
    }
  }

  test(`${name}: the second page and a reload ask for no model again`, async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1366, height: 768 }); // every site's navigation in view
    const errors = widgetErrors(page, name);
    const models = [];
    page.on('request', (r) => { if (/\.gguf$/.test(new URL(r.url()).pathname)) models.push(r.url()); });
    const url = servers[name].url;
    await page.goto(url + at.widget);
    await tables(page);
    // the host's own link to the next page (Docusaurus moves there without a reload).
    await page.locator(`a[href$="${at.second}"]:visible`).first().click();
    await page.waitForURL((u) => u.pathname.endsWith(at.second));
    await tables(page);
    // the second page's widget: its own views, in Vietnamese (lang="vi").
    assert.equal(await page.$eval('unembed-explorer', (w) => w.shadowRoot.querySelectorAll('canvas[data-chart="cosnorm"]').length), 1);
    assert.ok((await page.$eval('unembed-explorer', (w) => [...w.shadowRoot.querySelectorAll('input[type=range]')].map((i) => i.getAttribute('aria-label')))).includes('độ dài ‖h‖'));
    await page.reload();
    await tables(page);
    // the first visit of this context may have fetched the model once (or found it cached by an
    // earlier test); after that, nothing.
    assert.ok(models.length <= 1, `the model was asked for ${models.length} times: ${models.join(', ')}`);
    errors.check();
    await page.close();
  });
}

test('docusaurus: the MDX iframe grows to the height of the explorer inside it', async (t) => {
  for (const [width, height] of [[1366, 768], [390, 844]]) {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width, height });
    const errors = widgetErrors(page, 'docusaurus');
    await page.goto(servers.docusaurus.url + SITE.docusaurus.iframe);
    const frame = page.frameLocator('iframe');
    await frame.locator('.topk-table tbody tr:nth-child(10)').waitFor({ timeout: 60000 });
    assert.equal(Number(await frame.locator('.topk-table tbody tr:first-child td:nth-child(3)').textContent()), expectedTop);
    // the page inside says its height; unembed-frame.js sets the iframe's to it.
    const inner = await page.frames().find((f) => /embed\.html/.test(f.url())).evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
    await page.waitForFunction((h) => Math.abs(document.querySelector('iframe').getBoundingClientRect().height - h) <= 1, inner, { timeout: 10000 });
    assert.ok(inner > 640, `the explorer inside is taller than the snippet's 640 px (${inner})`);
    t.diagnostic(`the iframe at ${width} px wide: ${inner} px tall`);
    const scrolls = await page.frames().find((f) => /embed\.html/.test(f.url())).evaluate(() => document.documentElement.scrollHeight - innerHeight);
    assert.ok(scrolls <= 1, `nothing left to scroll inside the iframe (${scrolls} px)`);
    await page.locator('iframe').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/site-docusaurus-iframe-${width}.png`, fullPage: true });
    errors.check();
    await page.close();
  }
});
