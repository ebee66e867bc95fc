// node bench/two_models_chromium.mjs [steps] [reps] [width] [height]
// both served models (SmolLM2-135M, 49,152 tokens; Gemma 3 270M, 262,144) in one headless
// Chromium run, on the full page at width × height (default 1920 × 1080: the control column and
// every chart on screen): for each, one slider step's median and p95 (bench/steps.mjs: compute
// + redraw of every visible chart and the table inside one animation frame) over `steps`
// steps, the same with a target set (its gradient left to when the sliders rest, then timed
// alone), the full-vocabulary product z = W_U·h (exact and fast) over `reps`, a new piece's
// product as the page builds it (one thread; shared with the product Worker); then the Compare
// view of the two: time to its summaries and charts, and one text's answer in both models.
// needs `scripts/prepare.sh --with gemma`. prints `name value` lines.
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { serve, launch } from '../tests/e2e/harness.mjs';
import { sliderSteps, products, pieceProducts } from './steps.mjs';

const steps = Number(process.argv[2] ?? 240);
const reps = Number(process.argv[3] ?? 100);
const width = Number(process.argv[4] ?? 1920);
const height = Number(process.argv[5] ?? 1080);
const MODELS = [['smollm2', 'smollm2-135m.gguf'], ['gemma', 'gemma-3-270m.gguf']];
for (const [, f] of MODELS) {
  if (!existsSync(`www/models/${f}`)) throw new Error(`www/models/${f} is missing: run bash scripts/prepare.sh --with gemma`);
}
const manifest = JSON.parse(readFileSync('www/models/models.json', 'utf8')).models;
const srv = await serve('www');
const browser = await launch({ viewport: { width, height } });
try {
  console.log(`two_viewport ${width}x${height}`);
  console.log(`two_load_average_1min ${loadavg()[0].toFixed(1)}`);
  const page = await browser.context.newPage();
  for (const [name, file] of MODELS) {
    // a fresh page for each (a new hash alone would keep the last model on screen until the
    // next one is in), measured once its own vocabulary is on screen.
    await page.goto('about:blank');
    await page.goto(`${srv.url}#m=${file}`);
    const vocab = manifest.find((m) => m.file === file).vocab;
    await page.waitForFunction((v) => window.unembedPage?.explorer?.info().vocab === v
      && document.querySelectorAll('.topk-table tbody tr').length >= 10, vocab, { timeout: 180000 });
    // at a large vocabulary the page copies W_U's second half to its product Worker once, in idle
    // time after the first view (www/product.js): measure after that, not across it.
    await page.waitForFunction(() => { const p = window.unembedPage?.mounted?.pool; return !p || p.ready || p.failed; }, null, { timeout: 60000 });
    await page.waitForTimeout(500);
    await page.$eval('#explorer .layout', (e) => e.scrollIntoView({ block: 'start' }));
    const visible = await page.$$eval('#explorer canvas[data-chart]', (cs) => cs
      .filter((c) => { const r = c.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; })
      .map((c) => c.dataset.chart));
    const s = await sliderSteps(page, steps);
    const p = await products(page, reps);
    // the same steps with a target: its gradient (one transposed pass) is left out of a step
    // and computed once the sliders rest (Widget.gradient, timed alone after a step).
    await page.evaluate(() => window.unembedPage.mounted.set({ target: ' London' }, { sync: true }));
    const st = await sliderSteps(page, steps);
    const grad = await page.evaluate(() => {
      const m = window.unembedPage.mounted;
      const t = [];
      for (let i = 0; i < 7; i++) {
        m.set({ temperature: 1 + (i % 2) / 10 }, { sync: true });
        const q = performance.now();
        m.widget.gradient();
        t.push(performance.now() - q);
      }
      t.sort((a, b) => a - b);
      m.set({ target: '', temperature: 1 }, { sync: true });
      return t[3];
    });
    console.log(`two_${name}_vocab ${p.vocab}`);
    console.log(`two_${name}_charts_on_screen ${visible.join(',')}`);
    console.log(`two_${name}_slider_step_median_ms ${s.median.toFixed(2)}`);
    console.log(`two_${name}_slider_step_p95_ms ${s.p95.toFixed(2)}`);
    console.log(`two_${name}_slider_step_max_ms ${s.max.toFixed(2)}`);
    console.log(`two_${name}_slider_steps ${s.n}`);
    console.log(`two_${name}_target_slider_step_median_ms ${st.median.toFixed(2)}`);
    console.log(`two_${name}_target_slider_step_p95_ms ${st.p95.toFixed(2)}`);
    console.log(`two_${name}_target_gradient_median_of_7_ms ${grad.toFixed(2)}`);
    for (const [k, v] of Object.entries(s.breakdown)) console.log(`two_${name}_step_${k}_median_ms ${v.toFixed(2)}`);
    for (const [k, v] of Object.entries(s.sliders)) console.log(`two_${name}_slider_${k}_median_ms ${v.toFixed(2)}`);
    // autocomplete: the token box's suggestions (explorer.suggest, 12 rows, as the combobox
    // asks) for prefixes that fill the list at once and for ones that match little or nothing
    // (a scan of the whole vocabulary), each timed alone, the slowest of 20 runs.
    const sug = await page.evaluate(() => {
      const ex = window.unembedPage.explorer;
      const prefixes = [' Par', 'P', ' the', 'Vi', ' Hà', 'xqzj', '\u{1F600}zz', 'ZZZZZZ'];
      return prefixes.map((q) => {
        let worst = 0;
        let n = 0;
        for (let i = 0; i < 20; i++) {
          const s = performance.now();
          n = ex.suggest(q, 12).length;
          worst = Math.max(worst, performance.now() - s);
        }
        return { q, n, worst };
      });
    });
    console.log(`two_${name}_suggest_worst_ms ${Math.max(...sug.map((x) => x.worst)).toFixed(2)}`);
    console.log(`two_${name}_suggest_by_prefix ${sug.map((x) => `${JSON.stringify(x.q)}:${x.n}:${x.worst.toFixed(2)}`).join(' ')}`);
    console.log(`two_${name}_kernel ${p.kernel}`);
    console.log(`two_${name}_product_exact_median_ms ${p.exact.median.toFixed(3)}`);
    console.log(`two_${name}_product_exact_p95_ms ${p.exact.p95.toFixed(3)}`);
    console.log(`two_${name}_product_fast_median_ms ${p.fast.median.toFixed(3)}`);
    console.log(`two_${name}_product_fast_p95_ms ${p.fast.p95.toFixed(3)}`);
    // a new piece (token, mix token, offset) as the page builds it: on one thread, and shared
    // with the product Worker (product.js) at a large vocabulary.
    const pp = await pieceProducts(page, reps);
    console.log(`two_${name}_product_pool ${pp.pool}`);
    console.log(`two_${name}_piece_one_thread_median_ms ${pp.one.median.toFixed(3)}`);
    console.log(`two_${name}_piece_one_thread_p95_ms ${pp.one.p95.toFixed(3)}`);
    if (pp.split) {
      console.log(`two_${name}_piece_split_median_ms ${pp.split.median.toFixed(3)}`);
      console.log(`two_${name}_piece_split_p95_ms ${pp.split.p95.toFixed(3)}`);
      console.log(`two_${name}_product_split_median_ms ${pp.product.median.toFixed(3)}`);
      console.log(`two_${name}_product_split_p95_ms ${pp.product.p95.toFixed(3)}`);
    }
  }
  // the Compare view: SmolLM2 on screen, Gemma beside it (downloaded again from localhost:
  // the bench keeps no model cache): from mounting to its summaries and charts, the first
  // text's and word's answers (both models each), then five more texts.
  await page.goto('about:blank');
  await page.goto(`${srv.url}#m=smollm2-135m.gguf&view=compare&with=gemma-3-270m.gguf`);
  await page.waitForFunction(() => window.unembedPage?.compare, null, { timeout: 180000 });
  const c = await page.evaluate(async () => {
    const view = window.unembedPage.compare;
    await view.ready;
    const t = [];
    for (let i = 0; i < 5; i++) {
      const q = performance.now();
      view.comparison.text(i % 2 ? 'king - man + woman' : 'Paris', 10);
      t.push(performance.now() - q);
    }
    t.sort((a, b) => a - b);
    return { ...view.timings, texts: t[2] };
  });
  console.log(`two_compare_profile_smollm2_task_ms ${c.profiles[0].toFixed(0)}`);
  console.log(`two_compare_profile_gemma_task_ms ${c.profiles[1].toFixed(0)}`);
  console.log(`two_compare_summaries_ms ${c.summaries.toFixed(0)}`);
  console.log(`two_compare_to_charts_ms ${c.charts.toFixed(0)}`);
  console.log(`two_compare_first_text_ms ${c.text.toFixed(1)}`);
  console.log(`two_compare_first_word_ms ${c.word.toFixed(1)}`);
  console.log(`two_compare_text_median_of_5_ms ${c.texts.toFixed(1)}`);
} finally {
  await browser.close();
  srv.stop();
}
