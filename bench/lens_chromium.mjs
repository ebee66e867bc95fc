// node bench/lens_chromium.mjs <full model .gguf> [reps] [pkg dir]
// the forward pass and the logit lens in wasm, in headless Chromium, one thread, beside
// llama.cpp's own WebAssembly build (npm @wllama/wllama, single thread) on the same GGUF in
// the same browser. prints `name value` lines:
//   wasm_chromium_prefill_32_ms_per_token, …_tokens_per_s, wasm_chromium_decode_ms_per_token,
//   wasm_chromium_lens_16_first_row_ms (the embedding row and layer 1 read: what the heatmap
//   first shows), wasm_chromium_lens_16_ms (every layer at every position read),
//   wllama_prefill_…, wllama_decode_ms_per_token (its own timers: llama-server's prompt_ms and
//   predicted_per_token_ms), and the ratios. the wasm size of each is printed too.
// a benchmark, not a test: the numbers depend on the machine (median of `reps` runs).
import { cpSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { serve, launch } from '../tests/e2e/harness.mjs';

const [model, reps = '3', pkg = 'www/pkg'] = process.argv.slice(2);
if (!model) {
  console.error('usage: node bench/lens_chromium.mjs <full model .gguf> [reps] [pkg dir]');
  process.exit(2);
}
const site = mkdtempSync(join(tmpdir(), 'unembed-lens-bench-'));
cpSync(resolve(pkg), join(site, 'pkg'), { recursive: true });
cpSync(resolve('node_modules/@wllama/wllama/esm'), join(site, 'wllama'), { recursive: true });
mkdirSync(join(site, 'models'));
const file = basename(model);
try {
  linkSync(resolve(model), join(site, 'models', file));
} catch {
  cpSync(resolve(model), join(site, 'models', file));
}
writeFileSync(join(site, 'index.html'), '<!doctype html><title>lens bench</title>');
// the page's own worker: one wasm instance, one thread, as the page runs the lens.
writeFileSync(join(site, 'worker.js'), `
import init, { LensModel } from './pkg/unembed.js';
onmessage = async ({ data }) => {
  await init();
  const bytes = new Uint8Array(await (await fetch('models/${file}')).arrayBuffer());
  const t0 = performance.now();
  const m = new LensModel(bytes, 64);
  const load = performance.now() - t0;
  const runs = [];
  for (let i = 0; i < data.reps; i++) runs.push(m.bench(32, 16, 16));
  postMessage({ load, runs });
};`);
// wllama wants no CSP restrictions of ours (it makes its own worker); serve without one.
const srv = await serve(site, 'target/release/unembed', 0, ['--csp', 'off']);
const browser = await launch();
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
try {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(srv.url);
  const ours = await page.evaluate(async (reps) => new Promise((resolvePromise, reject) => {
    const w = new Worker('worker.js', { type: 'module' });
    w.onmessage = ({ data }) => resolvePromise(data);
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage({ reps });
  }), Number(reps));
  const theirs = await page.evaluate(async ({ file, reps }) => {
    const { Wllama } = await import('/wllama/index.js');
    const w = new Wllama({ default: '/wllama/wasm/wllama.wasm' }, { suppressNativeLog: true });
    if (w.setCompat) w.setCompat(null);
    const blob = await (await fetch(`/models/${file}`)).blob();
    await w.loadModel([blob], { n_threads: 1, n_gpu_layers: 0, n_ctx: 1024, n_parallel: 1 });
    const prompt = 'A language model reads a sequence of tokens and, at every position, produces a hidden state: a vector that summarises everything the model has seen so far.';
    const out = [];
    for (let i = 0; i < reps + 1; i++) {
      const r = await w.createCompletion({ prompt, max_tokens: 16, temperature: 0, top_k: 1, ignore_eos: true, cache_prompt: false });
      out.push(r.timings);
    }
    return out.slice(1);
  }, { file, reps: Number(reps) });
  const ver = browser.context.browser()?.version() ?? '';
  const wasmBytes = statSync(join(site, 'pkg', 'unembed_bg.wasm')).size;
  const wllamaBytes = statSync(join(site, 'wllama', 'wasm', 'wllama.wasm')).size;
  console.log(`# forward pass and lens, headless Chromium ${ver}, one thread each, medians of ${reps}; model ${file}`);
  const m = (k) => median(ours.runs.map((r) => r[k]));
  const pre = m('prefill_ms_per_token');
  const dec = m('decode_ms_per_token');
  console.log(`wasm_chromium_model_load_ms ${ours.load.toFixed(0)}`);
  console.log(`wasm_chromium_prefill_32_ms_per_token ${pre.toFixed(2)}`);
  console.log(`wasm_chromium_prefill_tokens_per_s ${(1000 / pre).toFixed(1)}`);
  console.log(`wasm_chromium_decode_ms_per_token ${dec.toFixed(2)}`);
  console.log(`wasm_chromium_lens_16_first_row_ms ${m('lens_first_row_ms').toFixed(0)}`);
  console.log(`wasm_chromium_lens_16_ms ${m('lens_ms').toFixed(0)}`);
  console.log(`wasm_bytes ${wasmBytes}`);
  const wp = median(theirs.map((t) => t.prompt_ms / t.prompt_n));
  const wd = median(theirs.map((t) => t.predicted_per_token_ms));
  console.log(`wllama_prefill_tokens ${theirs[0].prompt_n}`);
  console.log(`wllama_prefill_ms_per_token ${wp.toFixed(2)}`);
  console.log(`wllama_prefill_tokens_per_s ${(1000 / wp).toFixed(1)}`);
  console.log(`wllama_decode_ms_per_token ${wd.toFixed(2)}`);
  console.log(`wllama_wasm_bytes ${wllamaBytes}`);
  console.log(`ratio_prefill_speed ${(wp / pre).toFixed(2)}`);
  console.log(`ratio_decode_speed ${(wd / dec).toFixed(2)}`);
} finally {
  await browser.close();
  srv.stop();
  rmSync(site, { recursive: true, force: true });
}
