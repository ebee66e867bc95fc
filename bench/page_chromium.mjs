// node bench/page_chromium.mjs [steps]
// the explorer in headless Chromium as the README serves it: time from navigation to the first
// drawn chart, and the median and p95 of one slider step (compute + redraw of every visible
// chart and the table, timed inside the animation frame that runs it, one step per frame as
// while dragging) over many steps of five sliders; then the spectrum computed again by the
// page's Workers (one per core). prints `name value` lines.
import { serve, launch } from '../tests/e2e/harness.mjs';
import { sliderSteps } from './steps.mjs';

const steps = Number(process.argv[2] ?? 240);
const srv = await serve('www');
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(srv.url);
  await page.waitForFunction(() => performance.getEntriesByName('unembed:first-chart').length > 0, null, { timeout: 60000 });
  const first = await page.evaluate(() => performance.getEntriesByName('unembed:first-chart')[0].startTime);
  const r = await sliderSteps(page, steps);
  console.log(`page_first_chart_ms ${first.toFixed(0)}`);
  console.log(`page_slider_step_median_ms ${r.median.toFixed(2)}`);
  console.log(`page_slider_step_p95_ms ${r.p95.toFixed(2)}`);
  console.log(`page_slider_step_max_ms ${r.max.toFixed(2)}`);
  console.log(`page_slider_steps ${r.n}`);
  for (const [k, v] of Object.entries(r.breakdown)) console.log(`page_step_${k}_median_ms ${v.toFixed(2)}`);
  for (const [k, v] of Object.entries(r.sliders)) console.log(`page_slider_${k}_median_ms ${v.toFixed(2)}`);
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
