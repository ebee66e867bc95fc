// node bench/page_chromium.mjs [steps]
// the explorer in headless Chromium as the README serves it: time from navigation to the first
// drawn chart, and the median and p95 of one slider step (compute + redraw of every visible
// chart and the table, timed inside the animation frame that runs it, one step per frame as
// while dragging) over many steps of five sliders; then the spectrum computed again by the
// page's Workers (one per core). prints `name value` lines.
import { serve, launch } from '../tests/e2e/harness.mjs';

const steps = Number(process.argv[2] ?? 240);
const srv = await serve('www');
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(srv.url);
  await page.waitForFunction(() => performance.getEntriesByName('unembed:first-chart').length > 0, null, { timeout: 60000 });
  const first = await page.evaluate(() => performance.getEntriesByName('unembed:first-chart')[0].startTime);
  const r = await page.evaluate(async (n) => {
    const m = window.unembedPage.mounted;
    const plan = [
      (i) => ({ scale: 0.5 + (i % 60) / 20 }),
      (i) => ({ mix: (i % 50) / 50 }),
      (i) => ({ noise: (i % 40) / 200 }),
      (i) => ({ temperature: 0.2 + (i % 50) / 20 }),
      (i) => ({ coeffs: [Math.sin(i / 7), Math.cos(i / 5)] }),
    ];
    const t = [];
    // one step per animation frame, as while dragging: the browser renders between steps.
    for (let i = 0; i < n; i++) {
      const patch = plan[i % plan.length](i);
      await new Promise((done) => requestAnimationFrame(() => {
        const s = performance.now();
        m.set(patch, { sync: true });
        t.push(performance.now() - s);
        done();
      }));
    }
    t.sort((a, b) => a - b);
    return { median: t[Math.floor(t.length / 2)], p95: t[Math.floor(t.length * 0.95)], max: t[t.length - 1], n };
  }, steps);
  console.log(`page_first_chart_ms ${first.toFixed(0)}`);
  console.log(`page_slider_step_median_ms ${r.median.toFixed(2)}`);
  console.log(`page_slider_step_p95_ms ${r.p95.toFixed(2)}`);
  console.log(`page_slider_step_max_ms ${r.max.toFixed(2)}`);
  console.log(`page_slider_steps ${r.n}`);
  // the spectrum as a local file without one gets it: split among Workers, summed, decomposed.
  const sp = await page.evaluate(async () => {
    const s = performance.now();
    const ok = await window.unembedPage.recomputeSpectrum();
    return { ok, s: (performance.now() - s) / 1000, workers: Number(document.querySelector('#spectrum-status').dataset.workers) };
  });
  if (!sp.ok) throw new Error('the spectrum in Workers failed');
  console.log(`page_spectrum_workers ${sp.workers}`);
  console.log(`page_spectrum_workers_s ${sp.s.toFixed(3)}`);
} finally {
  await browser.close();
  srv.stop();
}
