// node bench/drag_chromium.mjs [seconds] [width] [height] [model file] [slider] [target]
// drags a slider (default the ‖h‖ one; `dir1` the offset along singular direction 1, which
// turns h and so redraws the scatter of every token) of a served model (default the first)
// back and forth with real mouse input (through the browser's input
// pipeline, each sent as soon as the browser has taken the last) for `seconds` (default 3) on the full page at width × height
// (default 1920 × 1080, where the control column and every chart are on screen at once), and
// prints the requestAnimationFrame frame intervals' median and p95 and how many updates reached
// the table; with a target token (its gradient is computed once the slider rests), also the
// ‖∇L‖ sentence after the drag. prints `name value` lines.
import { loadavg } from 'node:os';
import { serve, launch } from '../tests/e2e/harness.mjs';

const seconds = Number(process.argv[2] ?? 3);
const width = Number(process.argv[3] ?? 1920);
const height = Number(process.argv[4] ?? 1080);
const model = process.argv[5] ?? '';
const slider = process.argv[6] ?? 'scale';
const target = process.argv[7] ?? '';
const LABELS = { scale: '‖h‖ scale', dir1: 'offset along singular direction 1' };
if (!LABELS[slider]) throw new Error(`slider: one of ${Object.keys(LABELS).join(', ')}`);
const srv = await serve('www');
const browser = await launch({ viewport: { width, height } });
try {
  const page = await browser.context.newPage();
  const hash = [model && `m=${model}`, target && `s=${encodeURIComponent(JSON.stringify({ target }))}`].filter(Boolean).join('&');
  await page.goto(hash ? `${srv.url}#${hash}` : srv.url);
  await page.waitForSelector('.topk-table tbody tr:nth-child(10)', { timeout: 180000 });
  if (slider === 'dir1') {
    // the singular directions' sliders sit in a folded group, enabled with the spectrum.
    await page.$eval('#explorer details.more', (d) => { d.open = true; });
    await page.waitForFunction(() => !document.querySelector('#explorer input[aria-label="offset along singular direction 1"]').disabled, null, { timeout: 60000 });
  }
  // at a large vocabulary the page copies W_U's second half to its product Worker once, in idle
  // time after the first view (www/product.js): measure after that, not across it.
  await page.waitForFunction(() => { const p = window.unembedPage?.mounted?.pool; return !p || p.ready || p.failed; }, null, { timeout: 60000 });
  await page.waitForTimeout(300);
  await page.$eval('#explorer .layout', (e) => e.scrollIntoView({ block: 'start' }));
  const visible = await page.$$eval('#explorer canvas[data-chart]', (cs) => cs
    .filter((c) => { const r = c.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; })
    .map((c) => c.dataset.chart));
  await page.evaluate(() => {
    // frame intervals from rAF timestamps, and table updates (mutations of its body).
    window.dragBench = { frames: [], updates: 0, run: true };
    const b = window.dragBench;
    const tick = (t) => { b.frames.push(t); if (b.run) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    const body = document.querySelector('#explorer .topk-table tbody');
    let seen = body.textContent;
    new MutationObserver(() => { if (body.textContent !== seen) { seen = body.textContent; b.updates += 1; } })
      .observe(body, { subtree: true, characterData: true, childList: true });
  });
  const box = await page.locator(`#explorer input[aria-label="${LABELS[slider]}"]`).boundingBox();
  const y = box.y + box.height / 2;
  const xAt = (f) => box.x + 8 + f * (box.width - 16);
  await page.mouse.move(xAt(0.25), y);
  await page.mouse.down();
  const end = Date.now() + seconds * 1000;
  let moves = 0;
  for (let i = 0; Date.now() < end; i++) {
    const f = 0.1 + 0.8 * (0.5 - 0.5 * Math.cos(i / 40)); // smooth back and forth
    await page.mouse.move(xAt(f), y);
    moves += 1;
  }
  await page.mouse.up();
  const r = await page.evaluate(() => {
    const b = window.dragBench;
    b.run = false;
    const d = b.frames.slice(1).map((t, i) => t - b.frames[i]).sort((x, y) => x - y);
    return { n: d.length, median: d[Math.floor(d.length / 2)], p95: d[Math.floor(d.length * 0.95)], max: d[d.length - 1], updates: b.updates };
  });
  console.log(`drag_model ${model || '(default)'}`);
  console.log(`drag_slider ${slider}`);
  console.log(`drag_viewport ${width}x${height}`);
  console.log(`drag_load_average_1min ${loadavg()[0].toFixed(1)}`);
  console.log(`drag_charts_on_screen ${visible.join(',')}`);
  console.log(`drag_pointer_moves ${moves}`);
  console.log(`drag_frames ${r.n}`);
  console.log(`drag_frame_interval_median_ms ${r.median.toFixed(2)}`);
  console.log(`drag_frame_interval_p95_ms ${r.p95.toFixed(2)}`);
  console.log(`drag_frame_interval_max_ms ${r.max.toFixed(2)}`);
  console.log(`drag_table_updates ${r.updates}`);
  if (target) {
    console.log(`drag_target ${JSON.stringify(target)}`);
    await page.waitForFunction(() => /‖∇L‖ = [0-9]/.test(document.querySelector('.target-info')?.textContent ?? ''), null, { timeout: 10000 });
    console.log(`drag_target_after ${JSON.stringify(await page.textContent('.target-info'))}`);
  }
} finally {
  await browser.close();
  srv.stop();
}
