// node bench/gemm_chromium.mjs [reps] [pkg dir] [types]
// bench/gemm_wasm.mjs's measurement inside headless Chromium (the browser the targets are
// for): a scratch site with the wasm package and the benchmark module, served by
// `unembed serve`, one page, one thread. prints the same `name value` lines, prefixed
// wasm_chromium.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve, launch } from '../tests/e2e/harness.mjs';

const [reps = '30', pkg = 'www/pkg', only] = process.argv.slice(2);
const site = mkdtempSync(join(tmpdir(), 'unembed-gemm-'));
cpSync(resolve(pkg), join(site, 'pkg'), { recursive: true });
cpSync(new URL('./gemm_wasm.mjs', import.meta.url), join(site, 'gemm_wasm.mjs'));
writeFileSync(join(site, 'index.html'), '<!doctype html><title>gemm</title>');
const srv = await serve(site);
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(srv.url);
  const lines = await page.evaluate(async ({ reps, types }) => {
    const { benchGemm } = await import('/gemm_wasm.mjs');
    const w = await import('/pkg/unembed.js');
    await w.default();
    return benchGemm(w, { reps, now: () => performance.now(), prefix: 'wasm_chromium', ...(types ? { types } : {}) });
  }, { reps: Number(reps), types: only ? only.split(',') : null });
  const version = browser.context.browser()?.version() ?? '';
  console.log(`# quantized matmul in wasm, headless Chromium ${version}, median and min of ${reps} samples (each ≥ 2 ms of calls) after 100 ms of warm-up`);
  for (const line of lines) console.log(line);
} finally {
  await browser.close();
  srv.stop();
  rmSync(site, { recursive: true, force: true });
}
