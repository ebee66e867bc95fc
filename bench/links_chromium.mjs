// node bench/links_chromium.mjs
// the security review's links in headless Chromium: for each, whether an explorer comes up
// (a filled top-k table, or a table that is empty because the link asks for top = 0), any page
// error, and the longest main-thread task (PerformanceObserver 'longtask', observed from the
// first script on: the page's load is included, and so are the tasks after the explorer is up,
// printed apart). then the cost of one temperature change after 1 and after 100 gradient steps
// (timed around a synchronous render). prints `name value` lines.
import { serve, launch } from '../tests/e2e/harness.mjs';

const deep = (n, leaf) => '['.repeat(n) + leaf + ']'.repeat(n);
const LINKS = {
  steps1000: `#m=smollm2-135m.gguf&s=${encodeURIComponent('{"target":" London","steps":1000}')}`,
  lang_en_US: '#lang=en_US',
  lang_vi_VN: '#lang=vi_VN',
  lang_x: '#lang=x',
  top0: `#s=${encodeURIComponent('{"top":0}')}`,
  deep_base: `#s=${encodeURIComponent(`{"base":${deep(10000, '1')}}`)}`,
  deep_coeffs: `#s=${encodeURIComponent(`{"coeffs":${deep(10000, '1')}}`)}`,
};

const srv = await serve('www');
const browser = await launch();
const timeoutMs = Number(process.env.LINK_TIMEOUT_MS || 90000);
try {
  for (const [name, hash] of Object.entries(LINKS)) {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message.slice(0, 120)));
    await page.addInitScript(() => {
      window.__tasks = [];
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__tasks.push([e.startTime, e.duration]); })
        .observe({ type: 'longtask', buffered: true });
    });
    const t0 = Date.now();
    await page.goto(`${srv.url}${hash}`);
    let up = true;
    try {
      await page.waitForFunction(() => {
        const m = window.unembedPage?.mounted;
        return !!(m?.view && document.querySelector('.topk-table caption'));
      }, null, { timeout: timeoutMs, polling: 250 });
    } catch { up = false; }
    const upAt = await page.evaluate(() => performance.now());
    // a little time for anything the page does after it is up (a replay, a second render).
    await page.waitForTimeout(1500);
    const tasks = await page.evaluate(() => window.__tasks);
    const longest = Math.max(0, ...tasks.map(([, d]) => d));
    const after = Math.max(0, ...tasks.filter(([s]) => s >= upAt).map(([, d]) => d));
    console.log(`${name}_up ${up} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    console.log(`${name}_longest_task_ms ${longest.toFixed(0)}`);
    console.log(`${name}_longest_task_after_up_ms ${after.toFixed(0)}`);
    console.log(`${name}_page_errors ${JSON.stringify(errors)}`);
    await page.close();
  }
  // a temperature change after N steps: the explorer as the page mounts it, steps taken one by one.
  for (const n of [1, 100]) {
    const page = await browser.context.newPage();
    await page.goto(`${srv.url}#s=${encodeURIComponent('{"target":" London"}')}`);
    await page.waitForFunction(() => window.unembedPage?.mounted?.view, null, { timeout: 60000 });
    const cost = await page.evaluate(async (steps) => {
      const m = window.unembedPage.mounted;
      for (let i = 1; i <= steps; i++) m.set({ steps: i }, { sync: true });
      const t = [];
      for (const temperature of [0.9, 0.8, 0.7]) {
        const s = performance.now();
        m.set({ temperature }, { sync: true });
        t.push(performance.now() - s);
      }
      return { t, steps: m.controls.steps, drift: (m.controls.drift ?? []).length };
    }, n);
    console.log(`temperature_after_${n}_steps_ms ${cost.t.map((x) => x.toFixed(1)).join(' ')} (steps in force ${cost.steps}, drift ${cost.drift})`);
    await page.close();
  }
} finally {
  await browser.close();
  srv.stop();
}
